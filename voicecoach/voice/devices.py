"""Sound devices through PortAudio (PyAudio): listing them and finding one by name or index.

The list and its indices are the ones SpeechRecognition's
`Microphone.list_microphone_names()` shows (it asks PyAudio too); reading
them here keeps the ALSA/JACK noise handlers in place first and gives each
device's host API, channels and rate beside its name. Which microphones hear
sound right now is SpeechRecognition's `Microphone.list_working_microphones()`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from voicecoach.voice.native_noise import silence_native_audio_noise

if TYPE_CHECKING:
    import pyaudio

logger = logging.getLogger(__name__)

Direction = Literal["input", "output"]


class DeviceNotFound(LookupError):
    """No device matches what the user asked for (the message says what exists)."""


class AudioUnavailable(RuntimeError):
    """PortAudio itself cannot start (no PyAudio, or no sound system)."""


@dataclass(frozen=True)
class AudioDevice:
    index: int
    """PortAudio device index (the number `--mic`/`--speaker` accept)."""
    name: str
    host_api: str
    """"ALSA", "JACK Audio Connection Kit", ..."""
    max_input_channels: int
    max_output_channels: int
    default_rate: int
    """The device's native sample rate (hertz)."""
    is_default_input: bool = False
    is_default_output: bool = False
    hears_sound: bool | None = None
    """An input that heard sound when last tried; None: not tried (an output, or no test)."""

    @property
    def is_input(self) -> bool:
        return self.max_input_channels > 0

    @property
    def is_output(self) -> bool:
        return self.max_output_channels > 0

    def label(self) -> str:
        return f"[{self.index}] {self.name} ({self.host_api}, {self.default_rate} Hz)"


def open_portaudio() -> pyaudio.PyAudio:
    """Start PortAudio quietly. Raises AudioUnavailable with a plain reason."""
    silence_native_audio_noise()
    try:
        import pyaudio
    except ImportError as exc:  # pragma: no cover - a broken install
        raise AudioUnavailable(f"PyAudio is not installed ({exc})") from exc
    try:
        return pyaudio.PyAudio()
    except Exception as exc:  # PortAudio reports init failures as plain exceptions
        raise AudioUnavailable(f"PortAudio could not start: {exc}") from exc


def list_devices(pa: pyaudio.PyAudio) -> list[AudioDevice]:
    try:
        default_in = pa.get_default_input_device_info()["index"]
    except OSError:
        default_in = -1
    try:
        default_out = pa.get_default_output_device_info()["index"]
    except OSError:
        default_out = -1
    devices = []
    for index in range(pa.get_device_count()):
        info = pa.get_device_info_by_index(index)
        host = pa.get_host_api_info_by_index(int(info["hostApi"]))["name"]
        devices.append(AudioDevice(
            index=index, name=str(info["name"]), host_api=str(host),
            max_input_channels=int(info["maxInputChannels"]),
            max_output_channels=int(info["maxOutputChannels"]),
            default_rate=int(info["defaultSampleRate"]),
            is_default_input=index == default_in, is_default_output=index == default_out))
    return devices


def microphones_hearing_sound() -> set[int]:
    """The indices of the input devices that hear sound right now.

    SpeechRecognition opens each in turn, reads 1024 frames and keeps those whose
    debiased RMS is over 30 (a muted or unplugged input reads as digital silence);
    a device that will not open (busy, output only) is left out.
    """
    silence_native_audio_noise()
    import speech_recognition

    return set(speech_recognition.Microphone.list_working_microphones())


def find_device(pa: pyaudio.PyAudio, spec: str | int | None,
                direction: Direction) -> AudioDevice:
    """The device `spec` names: an index, an exact name, or a unique part of a name.

    None means the system default for that direction.
    """
    devices = [d for d in list_devices(pa)
               if (d.is_input if direction == "input" else d.is_output)]
    if not devices:
        raise DeviceNotFound(f"no {direction} sound device found")
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        for device in devices:
            if device.is_default_input if direction == "input" else device.is_default_output:
                return device
        return devices[0]
    choices = ", ".join(d.label() for d in devices)
    if isinstance(spec, int) or spec.strip().isdigit():
        index = int(spec)
        for device in devices:
            if device.index == index:
                return device
        raise DeviceNotFound(f"no {direction} device has index {index}; choose from: {choices}")
    wanted = spec.strip().lower()
    exact = [d for d in devices if d.name.lower() == wanted]
    if exact:
        return exact[0]
    partial = [d for d in devices if wanted in d.name.lower()]
    if len(partial) == 1:
        return partial[0]
    if partial:
        names = ", ".join(d.label() for d in partial)
        raise DeviceNotFound(f"'{spec}' matches several {direction} devices: {names}; "
                             "give the full name or the index")
    raise DeviceNotFound(f"no {direction} device matches '{spec}'; choose from: {choices}")


def candidate_rates(device: AudioDevice, forced_rate: int | None, rate: int) -> list[int]:
    """The rates to try, best first: the forced one alone, else `rate` then the device's own."""
    return [forced_rate] if forced_rate else list(dict.fromkeys([rate, device.default_rate]))


def choose_format(pa: pyaudio.PyAudio, device: AudioDevice, direction: Direction,
                  rates: list[int]) -> tuple[int, int] | None:
    """The first (rate, channels) of 16-bit audio the device takes, mono before stereo;
    None if it takes none of them."""
    import pyaudio

    most = device.max_input_channels if direction == "input" else device.max_output_channels
    for rate in rates:
        for channels in (1, 2):
            if channels > most:
                continue
            if direction == "input":
                query = {"input_device": device.index, "input_channels": channels,
                         "input_format": pyaudio.paInt16}
            else:
                query = {"output_device": device.index, "output_channels": channels,
                         "output_format": pyaudio.paInt16}
            try:
                if pa.is_format_supported(rate, **query):
                    return rate, channels
            except ValueError:
                continue
    return None
