"""The echo path: a file session's room (--echo-ir), and the canceller that takes the
coach's own voice out of the microphone before the recogniser hears it.

The coach's voice here is its own pre-rendered prompts (espeak-ng: synthetic, as the
coach's voice is); the user's is recorded human speech (tests/data/ATTRIBUTION.md).
Rooms are pyroomacoustics impulse responses, kept as files (tests/data/rooms).
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from voicecoach.runtime.hearing_link import EchoHandling
from voicecoach.session.clock import FakeClock
from voicecoach.session.prompts import FIXED_PROMPTS
from voicecoach.voice.checkup import Status, echo_verdict
from voicecoach.voice.echo import EchoCanceller, EchoRoom, load_impulse_response
from voicecoach.voice.echo.path import measure
from voicecoach.voice.pcm import RATE, AudioFormatError, read_wav, rms, write_wav
from voicecoach.voice.speaking import PromptLibrary, TimelineSpeaker, earcon

DATA = Path(__file__).parent / "data"
STOP = DATA / "speech" / "stop_b87bdb22.wav"
ROOMS = DATA / "rooms"
CHUNK = 480


def float_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    data = np.asarray(samples, dtype="<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data"
            + struct.pack("<I", len(data)) + data)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def laptop_room(rt60: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    """(speaker -> microphone, mouth 2 m away near the floor -> microphone), from
    tests/data/rooms (made by lab/make_room_irs.py with pyroomacoustics)."""
    tag = f"rt{round(rt60 * 100)}"
    return (load_impulse_response(ROOMS / f"laptop_{tag}_speaker.wav"),
            load_impulse_response(ROOMS / f"laptop_{tag}_mouth_2m.wav"))


def coach_voice(seconds: float) -> np.ndarray:
    """The coach's own prompts back to back, as a session plays them."""
    library = PromptLibrary()
    clips = [library.lookup(pid, FIXED_PROMPTS[pid])
             for pid in ("check_stop", "checkin_ask", "return_pause", "check_release",
                         "pain_reask", "release")]
    voice = np.concatenate([c for c in clips if c is not None])
    reps = int(np.ceil(seconds * RATE / len(voice)))
    return np.tile(voice, reps)[: int(seconds * RATE)].astype(np.int16)


# ---- IR.wav -----------------------------------------------------------------------------


def test_impulse_response_keeps_its_gain_through_resampling(tmp_path):
    ir = np.zeros(4800)
    ir[96] = 2.5  # float files may exceed full scale: the gain is the response's
    got = load_impulse_response(float_wav(tmp_path / "ir.wav", ir, rate=48000))
    assert abs(got.sum() - 2.5) < 0.01
    assert abs(int(np.argmax(got)) - 32) <= 1  # 2 ms at 48 kHz is 2 ms at 16 kHz


def test_impulse_response_from_16_bit_pcm(tmp_path):
    ir = np.zeros(160, dtype=np.int16)
    ir[0] = 16384
    write_wav(tmp_path / "ir.wav", ir)
    got = load_impulse_response(tmp_path / "ir.wav")
    assert got[0] == pytest.approx(0.5)


@pytest.mark.parametrize("samples,match", [
    (np.zeros(0), "holds no samples"),
    (np.zeros(16000 * 5), "no room"),
])
def test_an_impulse_response_no_room_has_is_refused(tmp_path, samples, match):
    with pytest.raises(AudioFormatError, match=match):
        load_impulse_response(float_wav(tmp_path / "ir.wav", samples))


# ---- the room -----------------------------------------------------------------------------


def test_room_adds_exactly_the_output_convolved_and_delayed(tmp_path):
    """What the session hears is IN.wav plus --audio-out through IR.wav, delayed N ms,
    sample for sample, a cut prompt cut in its echo too."""
    clock = FakeClock()
    out_path = tmp_path / "out.wav"
    speaker = TimelineSpeaker(clock, out_path)
    rng = np.random.default_rng(0)
    ir = rng.normal(0, 0.05, 2000) * np.exp(-np.arange(2000) / 400)
    ir[0] = 0.8
    room = EchoRoom(ir, 45, speaker.played)
    mic_in = rng.integers(-2000, 2000, 40 * CHUNK).astype(np.int16)
    heard = []
    for i in range(40):
        if i == 3:
            speaker.say("checkin_ask", "Pain check. Say a number from zero to ten.")
        clock.set((i + 1) * CHUNK / RATE)
        if i == 30:
            speaker.cut()
        heard.append(np.frombuffer(room.add(mic_in[i * CHUNK:(i + 1) * CHUNK].tobytes()),
                                   dtype="<i2"))
    speaker.close()
    out = read_wav(out_path).astype(np.float64)
    assert rms(out[3 * CHUNK:30 * CHUNK]) > 1000 and rms(out[30 * CHUNK + 1:]) == 0.0
    delay = 45 * RATE // 1000
    echo = np.concatenate([np.zeros(delay), np.convolve(out, ir)])[: 40 * CHUNK]
    expected = np.clip(np.rint(mic_in + echo), -32768, 32767)
    assert np.abs(np.concatenate(heard) - expected).max() <= 1


def test_timeline_speaker_gives_back_only_final_samples():
    clock = FakeClock()
    speaker = TimelineSpeaker(clock)
    speaker.say("checkin_ask", "Pain check. Say a number from zero to ten.")
    clock.set(0.5)
    early = speaker.played(0, 9000)  # past the clock: what is not final is not given
    assert not np.any(early[8000:]) and np.any(early[:8000])
    assert np.array_equal(speaker.played(0, 8000), speaker.audio()[:8000])
    speaker.close()


# ---- the canceller --------------------------------------------------------------------


def test_canceller_takes_the_coach_out_and_leaves_the_user_in():
    """20 s of the coach's prompts through a laptop's room, a recorded "stop" said 2 m away
    over them at 6 dB under the echo: the echo falls by over 20 dB once the canceller has
    learnt the room, and the user's word comes through within 3 dB of itself."""
    speaker_ir, mouth_ir = laptop_room()
    played = coach_voice(20.0)
    echo = np.convolve(played.astype(np.float64), speaker_ir)[: len(played)]
    echo = np.concatenate([np.zeros(320), echo[:-320]])  # 20 ms of device delay
    echo *= 3000 / rms(echo)  # loud, and never clipped (a clipped echo is not linear)
    word = np.convolve(read_wav(STOP).astype(np.float64), mouth_ir)
    at = 16 * RATE
    user = np.zeros(len(played))
    user[at: at + len(word)] = word
    span = slice(at + 2000, at + 9000)
    user *= rms(echo[span]) / rms(user[span]) / 2  # the word 6 dB under the echo
    mic = np.clip(echo + user, -32768, 32767).astype(np.int16)
    canceller = EchoCanceller()
    out = np.concatenate([canceller.process(mic[i:i + CHUNK], played[i:i + CHUNK])
                          for i in range(0, len(mic), CHUNK)]).astype(np.float64)
    canceller.close()
    learnt = slice(10 * RATE, at)
    erle = 20 * np.log10(rms(echo[learnt]) / rms(out[learnt]))
    assert erle > 20, f"echo reduced by only {erle:.1f} dB"
    kept = 20 * np.log10(rms(out[span]) / rms(user[span]))
    assert abs(kept) < 3, f"the user's word changed by {kept:.1f} dB"


def test_echo_handling_cancels_against_the_timeline():
    """EchoHandling lines the reference up with the microphone's chunk on the session
    clock: the room's echo of a prompt is mostly gone from what the recogniser gets."""
    clock = FakeClock()
    speaker = TimelineSpeaker(clock)
    speaker_ir, _ = laptop_room()
    speaker_ir = speaker_ir / np.abs(speaker_ir).max() / 2  # loud, never clipped
    handling = EchoHandling(reference=speaker.played, canceller=EchoCanceller(),
                            room=EchoRoom(speaker_ir, 20, speaker.played))
    raw_room = EchoRoom(speaker_ir, 20, speaker.played)
    for pid in ("check_stop", "checkin_ask", "check_release", "pain_reask", "check_table"):
        speaker.say(pid, FIXED_PROMPTS[pid])
    cleaned, raw = [], []
    for i in range(int(14 * RATE / CHUNK)):
        clock.set((i + 1) * CHUNK / RATE)
        silence = bytes(2 * CHUNK)
        raw.append(np.frombuffer(raw_room.add(silence), dtype="<i2"))
        cleaned.append(np.frombuffer(handling.clean(silence, clock.now())[1], dtype="<i2"))
    speaker.close()
    late = slice(8 * RATE, 14 * RATE)
    before, after = np.concatenate(raw)[late], np.concatenate(cleaned)[late]
    assert rms(before) > 300
    assert 20 * np.log10(rms(before) / max(rms(after), 1.0)) > 15


# ---- the file contract ----------------------------------------------------------------


def _start(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voicecoach", "start", "--db", str(tmp_path / "v.db"),
         "--no-checklist", "--pain", "2", "--fast", *args],
        capture_output=True, text=True, timeout=300)


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_stop_said_over_a_prompt_in_a_room_is_heard(tmp_path):
    """The file contract with --echo-ir: a recorded "stop" said while the hold's first
    prompt plays, the coach's echo 6 dB over the word at the microphone, starts the return
    (the same word without the canceller, today's gate alone, was dropped)."""
    speaker_ir, _ = laptop_room()
    word = read_wav(STOP)
    at = int(16.5 * RATE)  # inside "Settle in. Hold at 20 degrees ..." (15 s on)
    samples = np.zeros(at + 6 * RATE, dtype=np.int16)
    samples[at: at + len(word)] = word
    write_wav(tmp_path / "in.wav", samples)
    # The echo's level at the word, from a session with no "stop" in it.
    write_wav(tmp_path / "silent.wav", np.zeros_like(samples))
    _start(tmp_path, "--audio-in", str(tmp_path / "silent.wav"), "--audio-out",
           str(tmp_path / "ref.wav"))
    ref = read_wav(tmp_path / "ref.wav").astype(np.float64)
    echo = np.convolve(ref, speaker_ir)[at: at + len(word)]
    gain = 2.0 * rms(word) / rms(echo)
    float_wav(tmp_path / "ir.wav", speaker_ir * gain)
    result = _start(tmp_path, "--audio-in", str(tmp_path / "in.wav"), "--echo-ir",
                    str(tmp_path / "ir.wav"), "--echo-delay-ms", "20", "--events",
                    str(tmp_path / "ev.jsonl"), "--audio-out", str(tmp_path / "out.wav"))
    assert result.returncode == 1, result.stderr
    returns = [e for e in _events(tmp_path / "ev.jsonl") if e["type"] == "return_started"]
    assert returns[0]["reason"] == "stop"
    assert at / RATE < returns[0]["t"] < at / RATE + 1.5


def test_the_coach_does_not_take_its_own_voice_for_commands(tmp_path):
    """Silence in, the coach loud in its own microphone (echo at full scale and a room's
    tail): nothing it says is heard as a command, the check-in is not answered by its own
    voice, and the session reaches its no-answer ending as a silent user's does."""
    speaker_ir, _ = laptop_room(rt60=0.6)
    float_wav(tmp_path / "ir.wav", speaker_ir / np.abs(speaker_ir).max())
    write_wav(tmp_path / "in.wav", np.zeros(90 * RATE, dtype=np.int16))
    result = _start(tmp_path, "--audio-in", str(tmp_path / "in.wav"), "--echo-ir",
                    str(tmp_path / "ir.wav"), "--events", str(tmp_path / "ev.jsonl"))
    events = _events(tmp_path / "ev.jsonl")
    assert [e for e in events if e["type"] == "heard"] == []
    returns = [e for e in events if e["type"] == "return_started"]
    assert returns and returns[0]["reason"] == "no_answer", result.stderr


@pytest.mark.parametrize("args,message", [
    (["--echo-ir", "IR"], "--echo-ir needs --audio-in"),
    (["--audio-in", "IN", "--echo-delay-ms", "40"], "--echo-delay-ms needs --echo-ir"),
    (["--audio-in", "IN", "--echo-ir", "IN", "--echo-delay-ms", "5000"], "from 0 to 2000"),
    (["--audio-in", "IN", "--echo-ir", "BAD"], "cannot use"),
    (["--audio-in", "IN", "--echo-ir", "MISSING"], "no such file"),
])
def test_bad_echo_options_are_one_line_and_exit_2(tmp_path, args, message):
    write_wav(tmp_path / "in.wav", np.zeros(RATE, dtype=np.int16))
    (tmp_path / "bad.wav").write_bytes(b"RIFF....WAVEnot a format chunk")
    paths = {"IN": tmp_path / "in.wav", "IR": tmp_path / "in.wav", "BAD": tmp_path / "bad.wav",
             "MISSING": tmp_path / "missing.wav"}
    result = _start(tmp_path, *[str(paths.get(a, a)) for a in args])
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


# ---- doctor's echo path measure (voice/echo/path.py) --------------------------------------


def _sweep_heard(speaker_ir: np.ndarray, delay_ms: float, gain_db: float,
                 noise_rms: float, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The sweep as doctor plays it (after 0.5 s of quiet), and a microphone hearing it
    through a simulated room, late and scaled, over a room's noise."""
    played = np.concatenate([np.zeros(RATE // 2), earcon("sweep"), np.zeros(RATE)])
    unit = speaker_ir / np.sqrt(np.sum(speaker_ir**2))  # gain_db is the echo's whole gain
    echo = np.convolve(played.astype(np.float64), unit)[: len(played)]
    late = round(delay_ms * RATE / 1000)
    echo = np.concatenate([np.zeros(late), echo])[: len(played)] * 10 ** (gain_db / 20)
    heard = echo + np.random.default_rng(seed).normal(0, noise_rms, len(played))
    return played.astype(np.int16), np.clip(np.rint(heard), -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("rt60", [0.4, 0.6])
def test_doctor_measures_the_echo_delay_and_level_through_a_room(rt60):
    speaker_ir, _ = laptop_room(rt60)
    direct_ms = 1000 * int(np.argmax(np.abs(speaker_ir))) / RATE
    for delay_ms, gain_db in ((20, -6), (90, -30)):
        played, heard = _sweep_heard(speaker_ir, delay_ms, gain_db, noise_rms=30)
        path = measure(played, heard)
        # The sweep is made at the coach's speech level, -19.7 dBFS.
        expected = -19.7 + gain_db
        assert path.found and not path.clipped
        assert abs(path.delay_ms - (delay_ms + direct_ms)) <= 1.0, path
        assert abs(path.echo_dbfs - expected) <= 1.5, (path, expected)
        assert abs(path.noise_dbfs - 20 * np.log10(30 / 32767)) <= 1.0


def test_doctor_finds_no_echo_in_noise_or_in_a_voice_not_the_sweep():
    played, _ = _sweep_heard(laptop_room()[0], 20, -6, noise_rms=30)
    noise = np.random.default_rng(4).normal(0, 200, len(played)).astype(np.int16)
    assert not measure(played, noise).found
    voice = np.zeros(len(played), dtype=np.int16)
    stop = read_wav(DATA / "speech" / "stop_b87bdb22.wav")
    voice[RATE // 2: RATE // 2 + len(stop)] = stop  # someone speaking during the check
    assert not measure(played, voice).found


def test_doctor_says_when_a_stop_over_the_coach_may_be_missed():
    speaker_ir = laptop_room()[0]
    quiet = echo_verdict(measure(*_sweep_heard(speaker_ir, 20, -20, noise_rms=30)))
    # 20 ms late against a reference read 40 ms ahead (playback_log.LEAD_S), and the
    # room's direct path: about 17 ms before the speaker's own timing.
    assert quiet.status is Status.OK and "at -40 dBFS, -17 ms after" in quiet.detail
    assert "-52 dBFS or louder" in quiet.detail
    loud = echo_verdict(measure(*_sweep_heard(speaker_ir, 20, 4, noise_rms=30)))
    assert loud.status is Status.WARN and "volume down" in loud.hint
    clipped = echo_verdict(measure(*_sweep_heard(speaker_ir, 20, 20, noise_rms=30)))
    assert clipped.status is Status.WARN and "clips" in clipped.detail
    late = echo_verdict(measure(*_sweep_heard(speaker_ir, 400, -10, noise_rms=30)))
    assert late.status is Status.WARN and "headphones" in late.hint
    assert "further than the echo canceller follows" in late.detail
    none = echo_verdict(measure(*_sweep_heard(speaker_ir, 20, -90, noise_rms=30)))
    assert none.status is Status.OK and none.data["found"] is False
    assert abs(none.data["noise_dbfs"] - 20 * np.log10(30 / 32767)) < 0.5
