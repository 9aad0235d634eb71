"""Every file a user can hand in, damaged every way we could think of and at random: one
line, exit 2, never a traceback and never a hang.

Programs are mutated from the built-in ones (bytes flipped, cut short, values swapped for
other types, huge numbers, deep nesting, invalid UTF-8), and checked through
`programs check` and `start --text`; WAVs are damaged in their header (rate, width,
channels, length) and handed to `listen` and `start --audio-in`. (A data chunk that says
it is longer than the file is read as far as it goes: a recorder stopped mid-write leaves
one, and its audio is good.)
"""

from __future__ import annotations

import os
import random
import struct
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from voicecoach.cli import main

BUILTINS = resources.files("voicecoach.protocol") / "programs"
SEED_PROGRAMS = sorted(p.read_bytes() for p in BUILTINS.iterdir() if p.name.endswith(".toml"))


def _one_line_or_ok(result: Result, what: str) -> None:
    """Accepted (exit 0), or refused in one line with exit 2: nothing else."""
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit), (what, result.exception)
    assert result.exit_code in (0, 2), (what, result.exit_code, result.output)
    if result.exit_code == 2:
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1, (what, result.output)
        assert "Traceback" not in result.output


def _mutations(rng: random.Random, text: bytes) -> bytes:
    kind = rng.randrange(9)
    if kind == 0:  # flip bytes
        data = bytearray(text)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if kind == 1:  # cut short
        return text[: rng.randrange(len(text))]
    if kind == 2:  # a number made huge, negative, fractional or not a number
        value = rng.choice([b"1" + b"0" * rng.randint(20, 400), b"-5", b"0", b"1e308",
                            b"inf", b"nan", b"0.0001", b'"ten"', b"true", b"[1, 2]",
                            b"{a = 1}"])
        lines = text.split(b"\n")
        numeric = [i for i, line in enumerate(lines)
                   if b"=" in line and line.split(b"=", 1)[1].strip()[:1].isdigit()]
        if numeric:
            i = rng.choice(numeric)
            lines[i] = lines[i].split(b"=", 1)[0] + b"= " + value
        return b"\n".join(lines)
    if kind == 3:  # deep nesting
        depth = rng.randint(50, 5000)
        return text + b"\nextra = " + b"[" * depth + b"]" * depth + b"\n"
    if kind == 4:  # invalid UTF-8 in a string
        return text.replace(b'title = "', b'title = "\xff\xfe\xc3', 1)
    if kind == 5:  # a key's value swapped for a table or an array of tables
        return text.replace(b"[[steps]]", rng.choice([b"[steps]", b"steps = 3", b"[[step]]"]))
    if kind == 6:  # duplicated keys and tables
        return text + text
    if kind == 7:  # control characters and NULs
        return text.replace(b"\n", b"\n\x00", rng.randint(1, 3))
    return bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))  # noise


def test_damaged_programs_are_one_line_and_exit_2(tmp_path: Path):
    rng = random.Random(20261202)
    runner = CliRunner()
    for i in range(240):
        path = tmp_path / f"p{i}.toml"
        data = _mutations(rng, rng.choice(SEED_PROGRAMS))
        path.write_bytes(data)
        _one_line_or_ok(runner.invoke(main, ["programs", "check", str(path)]),
                        f"programs check: {data[:200]!r}")


def test_programs_that_are_not_regular_files_are_refused_without_hanging(tmp_path: Path):
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    runner = CliRunner()
    for path in (fifo, tmp_path, Path("/dev/zero")):
        result = runner.invoke(main, ["programs", "check", str(path)])
        assert result.exit_code == 2 and "is not a regular file" in result.output, result.output
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * 100_000)
    result = runner.invoke(main, ["programs", "check", str(big)])
    assert result.exit_code == 2 and "not a program" in result.output


def test_a_damaged_program_stops_a_session_before_it_starts(tmp_path: Path, screened_db: Path):
    path = tmp_path / "bad.toml"
    path.write_bytes(SEED_PROGRAMS[0].replace(b'title = "', b'title = "\xff', 1))
    result = CliRunner().invoke(main, ["start", "--text", "--program", str(path),
                                       "--db", str(screened_db)])
    assert result.exit_code == 2 and "is not UTF-8 text" in result.output, result.output


def _wav(rate: int = 16000, channels: int = 1, width: int = 2, frames: int = 1600,
         fmt: int = 1, declared: int | None = None) -> bytes:
    data = b"\x01\x00" * (frames * channels * max(width, 1) // 2)
    size = len(data) if declared is None else declared
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16,
                         fmt, channels, rate, (rate * channels * width) & 0xFFFFFFFF,
                         (channels * width) & 0xFFFF,
                         8 * width, b"data", size)
    return header + data


@pytest.mark.parametrize("name,data", [
    ("rate 0", _wav(rate=0)),
    ("rate 1", _wav(rate=1)),
    ("rate 4 GHz", _wav(rate=4_000_000_000)),
    ("no channels", _wav(channels=0)),
    ("300 channels", _wav(channels=300)),
    ("width 0", _wav(width=0)),
    ("width 5 bytes", _wav(width=5)),
    ("a-law", _wav(fmt=6)),
    ("no samples", _wav(frames=0)),
    ("header only", _wav()[:44]),
    ("cut in the header", _wav()[:30]),
    ("not a WAV", b"ID3\x03\x00" + bytes(200)),
    ("empty", b""),
])
def test_damaged_wavs_are_one_line_and_exit_2(tmp_path: Path, name: str, data: bytes):
    path = tmp_path / "in.wav"
    path.write_bytes(data)
    runner = CliRunner()
    for args in (["listen", "--audio-in", str(path)],
                 ["start", "--audio-in", str(path), "--fast", "--no-checklist", "--pain", "2",
                  "--db", str(tmp_path / "s.db")]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (name, args[0], result.exit_code, result.output)
        _one_line_or_ok(result, f"{args[0]}: {name}")


def test_an_unknown_voice_is_refused_before_a_session_is_logged(tmp_path: Path):
    """Checked against the speech engine's own list (espeak-ng through pyttsx3)."""
    db = tmp_path / "s.db"
    result = CliRunner().invoke(main, [
        "start", "--audio-in", str(Path(__file__).parent / "data" / "speech" /
                                   "stop_b87bdb22.wav"),
        "--voice", "no-such-voice", "--fast", "--no-checklist", "--pain", "2", "--db", str(db)])
    assert result.exit_code == 2, result.output
    assert "no speech voice matches 'no-such-voice'" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not db.exists()  # no empty session left behind
