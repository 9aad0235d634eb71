"""A private PulseAudio server with virtual devices, for tests and benchmarks.

The daemon runs in user mode from a temporary directory (its own socket,
cookie, state and runtime dirs), so it never touches the real home or a
desktop's sound server, and works as root. It has:

- `vc_speaker`: a null sink standing in for the loudspeaker; the test
  records its monitor (`vc_speaker.monitor`) to hear what was played.
- `vc_mic_in`: a null sink the test plays recorded speech into, and `vc_mic`,
  a source remapped from its monitor: the virtual microphone.
- optionally a loopback from `vc_speaker.monitor` into `vc_mic_in`, so the
  microphone hears the speaker as a laptop's would.

PyAudio reaches it through ALSA's pulse plugin (Debian libasound2-plugins),
guided by PULSE_SERVER / PULSE_SINK / PULSE_SOURCE in the environment.

Use as fixtures (`pulse_server`, `pulse_env`, `fresh_pulse`) or from a script:

    with PulseServer(Path("/tmp/x")) as server, server.environment():
        ...
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SPEAKER_SINK = "vc_speaker"
MIC_SINK = "vc_mic_in"
MIC_SOURCE = "vc_mic"
RATE = 16000
NOISE_FLOOR_RMS = 8.0
"""Level of the virtual microphone's background noise (int16 RMS, about -72 dBFS)."""

START_TIMEOUT_S = 10.0


class PulseError(RuntimeError):
    pass


def pulse_available() -> bool:
    return all(shutil.which(tool) for tool in ("pulseaudio", "pactl", "parec", "pacat"))


@dataclass
class PulseServer:
    root: Path
    """Temporary directory holding the socket, cookie, state and log."""
    loopback: bool = False
    """Route the speaker into the microphone (the coach can hear itself)."""
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    mic_module: int | None = field(default=None, init=False)
    loopback_module: int | None = field(default=None, init=False)
    _clocks: list[subprocess.Popen[bytes]] = field(default_factory=list, init=False)

    @property
    def socket(self) -> Path:
        return self.root / "runtime" / "native"

    @property
    def server_address(self) -> str:
        return f"unix:{self.socket}"

    @property
    def log_path(self) -> Path:
        return self.root / "pulseaudio.log"

    def client_env(self) -> dict[str, str]:
        """Environment for clients (our process, pactl, parec, pacat, PyAudio)."""
        return {
            "PULSE_SERVER": self.server_address,
            "PULSE_SINK": SPEAKER_SINK,
            "PULSE_SOURCE": MIC_SOURCE,
            "PULSE_COOKIE": str(self.root / "cookie"),
            "PULSE_CLIENTCONFIG": str(self.root / "client.conf"),
        }

    def start(self) -> PulseServer:
        for sub in ("runtime", "state", "home", "config"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "runtime").chmod(0o700)
        # Clients must never autospawn a daemon in the real home if ours is gone.
        (self.root / "client.conf").write_text(
            f"autospawn = no\ncookie-file = {self.root / 'cookie'}\n", encoding="utf-8")
        env = {
            **os.environ,
            "HOME": str(self.root / "home"),
            "XDG_CONFIG_HOME": str(self.root / "config"),
            "XDG_RUNTIME_DIR": str(self.root / "runtime"),
            "PULSE_RUNTIME_PATH": str(self.root / "runtime"),
            "PULSE_STATE_PATH": str(self.root / "state"),
        }
        for var in ("PULSE_SERVER", "PULSE_SINK", "PULSE_SOURCE"):
            env.pop(var, None)
        args = [
            "pulseaudio", "-n",  # no default.pa: only the modules below
            "--daemonize=no", "--system=no", "--use-pid-file=no",
            "--exit-idle-time=-1",  # never quit while a test is between streams
            "--realtime=yes", "--high-priority=yes", "--disable-shm=yes",
            "--log-target=stderr", "--log-level=notice",
            "-L", f"module-native-protocol-unix socket={self.socket} auth-anonymous=1",
            "-L", f"module-null-sink sink_name={SPEAKER_SINK} rate={RATE} channels=1 "
                  "sink_properties=device.description=voicecoach_speaker",
            "-L", f"module-null-sink sink_name={MIC_SINK} rate={RATE} channels=1 "
                  "sink_properties=device.description=voicecoach_mic_feed",
        ]
        log = self.log_path.open("ab")
        # Root gets a warning ("not intended to be run as root") but user mode still works.
        self.process = subprocess.Popen(args, env=env, stdout=log, stderr=log,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise PulseError(f"pulseaudio did not start; log:\n{self.log_tail()}")
            time.sleep(0.05)
        self.mic_module = self.load_module(
            "module-remap-source", f"source_name={MIC_SOURCE} master={MIC_SINK}.monitor "
            "source_properties=device.description=voicecoach_mic")
        self.pactl("set-default-sink", SPEAKER_SINK)
        self.pactl("set-default-source", MIC_SOURCE)
        # A null sink with no low-latency reader works in 2 s blocks, so a stream into it
        # stutters and its monitor (and the remapped mic) delivers audio in bursts, the
        # first one up to 2 s late. A sound card is clocked in milliseconds; a 10 ms
        # reader on each makes the virtual devices behave like one.
        for source in (f"{SPEAKER_SINK}.monitor", f"{MIC_SINK}.monitor", MIC_SOURCE):
            self._clocks.append(subprocess.Popen(
                ["parec", f"--device={source}", "--latency-msec=10", "--raw"],
                env={**os.environ, **self.client_env()}, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
        self._start_noise_floor()
        # The null sinks' first block after start-up is 2 s long whatever is asked later:
        # wait it out here, once, rather than in the first test that records.
        for source in (f"{SPEAKER_SINK}.monitor", MIC_SOURCE):
            self._first_audio(source)
        if self.loopback:
            self.set_loopback(True)
        return self

    def _start_noise_floor(self) -> None:
        """Faint noise into the virtual microphone, as a real one always has (voicecoach
        takes exact digital silence for a muted or vanished microphone).

        pacat holds a second of it: with 50 ms, a stall of the machine longer than half a
        second emptied the buffer, the microphone gave exact zeros and the session under
        test rightly stopped for a lost microphone (tests/test_voice_session_e2e.py, once
        in a whole-suite run). Noise has no timing to keep, so a long buffer costs nothing."""
        player = subprocess.Popen(
            ["pacat", "--playback", f"--device={MIC_SINK}", f"--rate={RATE}", "--channels=1",
             "--format=s16le", "--latency-msec=1000"],
            env={**os.environ, **self.client_env()}, stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._clocks.append(player)
        noise = np.random.default_rng(7).normal(0, NOISE_FLOOR_RMS, RATE).astype("<i2").tobytes()

        def feed() -> None:
            assert player.stdin is not None
            try:
                while True:  # pacat blocks at its buffer: this runs at the audio rate
                    player.stdin.write(noise)
            except (BrokenPipeError, OSError, ValueError):
                return

        threading.Thread(target=feed, name="pulse-noise-floor", daemon=True).start()

    def _first_audio(self, source: str) -> None:
        reader = subprocess.Popen(
            ["parec", f"--device={source}", "--latency-msec=10", "--raw"],
            env={**os.environ, **self.client_env()}, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        try:
            assert reader.stdout is not None
            timer = threading.Timer(START_TIMEOUT_S, reader.kill)
            timer.start()
            data = reader.stdout.read(320)
            timer.cancel()
            if len(data) < 320:
                raise PulseError(f"no audio from {source}; log:\n{self.log_tail()}")
        finally:
            reader.kill()
            reader.wait(timeout=5)

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        result = subprocess.run(["pactl", "info"], env={**os.environ, **self.client_env()},
                                capture_output=True, timeout=5, check=False)
        return result.returncode == 0

    def pactl(self, *args: str) -> str:
        result = subprocess.run(["pactl", *args], env={**os.environ, **self.client_env()},
                                capture_output=True, text=True, timeout=10, check=False)
        if result.returncode != 0:
            raise PulseError(f"pactl {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def load_module(self, name: str, arguments: str = "") -> int:
        return int(self.pactl("load-module", name, *arguments.split()))

    def unload_module(self, index: int) -> None:
        self.pactl("unload-module", str(index))

    def remove_microphone(self) -> None:
        """Make the virtual microphone vanish, as if it were unplugged."""
        if self.mic_module is not None:
            self.unload_module(self.mic_module)
            self.mic_module = None

    def stall(self, seconds: float) -> None:
        """Freeze the sound server for a while, as a busy or descheduled machine does:
        every stream stops moving, and after it the audio still queued plays late."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            self.process.send_signal(signal.SIGCONT)

    def set_loopback(self, on: bool) -> None:
        if on and self.loopback_module is None:
            self.loopback_module = self.load_module(
                "module-loopback", f"source={SPEAKER_SINK}.monitor sink={MIC_SINK} "
                "latency_msec=20 source_dont_move=true sink_dont_move=true")
        elif not on and self.loopback_module is not None:
            self.unload_module(self.loopback_module)
            self.loopback_module = None

    def crash(self) -> None:
        """Kill the daemon outright, as a crash would: clients lose their connection."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    def stop(self) -> None:
        for clock in self._clocks:
            clock.kill()
            clock.wait(timeout=5)
        self._clocks.clear()
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    @contextlib.contextmanager
    def environment(self) -> Iterator[None]:
        """Point this process (and PyAudio in it) at the server, restoring the env after."""
        saved = {key: os.environ.get(key) for key in self.client_env()}
        os.environ.update(self.client_env())
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def __enter__(self) -> PulseServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- feeding the microphone and recording the speaker ----------------------------

    def play_into_mic(self, samples: np.ndarray, rate: int = RATE) -> subprocess.Popen[bytes]:
        """Start playing int16 mono samples into the virtual microphone; returns the player."""
        # The whole clip is written at once, so a deep buffer costs no delay at the start,
        # and a player descheduled for a moment on a busy host does not underrun and
        # split the clip with a gap of silence.
        player = subprocess.Popen(
            ["pacat", "--playback", f"--device={MIC_SINK}", f"--rate={rate}", "--channels=1",
             "--format=s16le", "--latency-msec=250"],
            env={**os.environ, **self.client_env()}, stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stdin = player.stdin
        assert stdin is not None
        data = np.asarray(samples, dtype="<i2").tobytes()

        def feed() -> None:
            # From a thread: a clip longer than the pipe's buffer would block the test
            # until all but its last seconds had played.
            with contextlib.suppress(BrokenPipeError):  # the test killed the player
                stdin.write(data)
                stdin.close()

        threading.Thread(target=feed, daemon=True).start()
        return player

    def record_speaker(self) -> Recording:
        return Recording(self, f"{SPEAKER_SINK}.monitor").start()


class Recording:
    """Records a source with parec, knowing when each sample sounded (time.monotonic).

    Each block read from parec is timestamped on arrival; the mapping from
    sample index to time is the lower envelope of (arrival time - samples
    before its end / rate), i.e. the block that came through with the least
    delay. That is accurate to a few milliseconds with 5 ms fragments.
    """

    BLOCK = 160  # samples: 10 ms

    def __init__(self, server: PulseServer, source: str) -> None:
        self._server = server
        self._source = source
        self._chunks: list[bytes] = []
        self._offset: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._received = 0

    def start(self) -> Recording:
        self._process = subprocess.Popen(
            ["parec", f"--device={self._source}", f"--rate={RATE}", "--channels=1",
             "--format=s16le", "--latency-msec=5", "--raw"],
            env={**os.environ, **self._server.client_env()}, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, bufsize=0)
        self._thread = threading.Thread(target=self._read, name="parec", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 5
        while self._received < RATE // 10:  # 100 ms in: the stream is running
            if time.monotonic() > deadline:
                raise PulseError("parec produced no audio")
            time.sleep(0.01)
        return self

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        pipe = self._process.stdout
        while True:
            data = pipe.read(self.BLOCK * 2)
            if not data:
                return
            arrived = time.monotonic()
            self._chunks.append(data)
            self._received += len(data) // 2
            start = arrived - self._received / RATE
            if self._offset is None or start < self._offset:
                self._offset = start

    def so_far(self) -> np.ndarray:
        """What has been recorded until now, while recording goes on."""
        data = b"".join(list(self._chunks))
        return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2")

    def stop(self) -> tuple[np.ndarray, float]:
        """Stop; returns (samples, time.monotonic() of sample 0)."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)
        data = b"".join(self._chunks)
        samples = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2")
        assert self._offset is not None
        return samples, self._offset


def window_rms(samples: np.ndarray, window: int = 80) -> np.ndarray:
    """RMS of consecutive windows (80 samples = 5 ms at 16 kHz)."""
    count = len(samples) // window
    blocks = samples[: count * window].astype(np.float64).reshape(count, window)
    return np.sqrt((blocks**2).mean(axis=1))


def last_sound_time(samples: np.ndarray, t0: float, threshold: float = 200.0,
                    window: int = 80) -> float | None:
    """Monotonic time at the end of the last 5 ms window louder than threshold."""
    rms = window_rms(samples, window)
    loud = np.nonzero(rms > threshold)[0]
    if len(loud) == 0:
        return None
    return t0 + (loud[-1] + 1) * window / RATE


# ---- pytest fixtures (tests/conftest.py loads this module as a plugin) ------------------

try:
    import pytest
except ImportError:  # pragma: no cover - scripts use PulseServer without pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(scope="module")
    def pulse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
        """One private PulseAudio server for the test module; stopped at teardown."""
        with PulseServer(tmp_path_factory.mktemp("pulse")) as server:
            yield server

    @pytest.fixture
    def pulse_env(pulse_server: PulseServer,
                  monkeypatch: pytest.MonkeyPatch) -> PulseServer:
        """The module's server, with this test's environment pointing at it."""
        for key, value in pulse_server.client_env().items():
            monkeypatch.setenv(key, value)
        return pulse_server

    @pytest.fixture
    def fresh_pulse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PulseServer]:
        """A server of its own, for tests that break it (remove the mic, kill the daemon)."""
        with PulseServer(tmp_path / "pulse") as server:
            for key, value in server.client_env().items():
                monkeypatch.setenv(key, value)
            yield server


def main(argv: list[str]) -> int:
    """`python devkit/pulse.py [--loopback] [COMMAND...]`: run COMMAND (default: a shell)
    against a private server with the virtual devices, then stop the server."""
    import tempfile

    loopback = "--loopback" in argv
    command = [a for a in argv if a != "--loopback"]
    if command[:1] == ["--"]:
        command = command[1:]
    command = command or [os.environ.get("SHELL", "/bin/sh")]
    with tempfile.TemporaryDirectory(prefix="voicecoach-pulse-") as tmp, \
            PulseServer(Path(tmp), loopback=loopback) as server:
        print(f"PulseAudio at {server.server_address}: speaker {SPEAKER_SINK} "
              f"(record {SPEAKER_SINK}.monitor), microphone {MIC_SOURCE} "
              f"(play into {MIC_SINK}){', loopback on' if loopback else ''}", flush=True)
        return subprocess.call(command, env={**os.environ, **server.client_env()})


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
