"""Audio in: the microphone, or a WAV file in its place, as 30 ms chunks of 16 kHz mono int16."""

from voicecoach.voice.audio_in.calibration import NoiseLevel, calibrate, measure_noise, record
from voicecoach.voice.audio_in.file_source import FileSource
from voicecoach.voice.audio_in.microphone import (
    CHUNK_S,
    MicrophoneSource,
    MicrophoneUnavailable,
)

__all__ = ["CHUNK_S", "FileSource", "MicrophoneSource", "MicrophoneUnavailable", "NoiseLevel",
           "calibrate", "measure_noise", "record"]
