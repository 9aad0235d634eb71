"""`voicecoach listen` and `voicecoach eval` through the real CLI."""

from __future__ import annotations

import csv
import json
import wave
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voicecoach.cli import main
from voicecoach.voice.hearing.evaluate import NO_COMMAND, read_manifest
from voicecoach.voice.pcm import read_wav, resample, write_wav

SPEECH = Path(__file__).parent / "data" / "speech"


def _first(label: str) -> Path:
    with (SPEECH / "manifest.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["label"] == label:
                return SPEECH / row["path"]
    raise LookupError(label)


def _stop_clips() -> list[Path]:
    with (SPEECH / "manifest.csv").open(newline="") as handle:
        return [SPEECH / r["path"] for r in csv.DictReader(handle) if r["label"] == "stop"]


def _write_stereo_44k(path: Path, mono16k: np.ndarray) -> None:
    """The same audio as a 44.1 kHz stereo WAV."""
    up = resample(mono16k, 16000, 44100).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(np.repeat(up, 2).tobytes())


def test_listen_json_contract(tmp_path: Path) -> None:
    # A stop the recogniser hears at 16 kHz, between stretches of quiet, as 44.1 kHz stereo.
    runner = CliRunner()
    quiet = np.random.default_rng(0).normal(0, 20, 16000 * 2)
    chosen = mono = None
    for clip in _stop_clips():  # the first that is heard at 16 kHz mono in this setting
        mono = np.concatenate([quiet, read_wav(clip).astype(np.float64), quiet]).astype(np.int16)
        write_wav(tmp_path / "plain.wav", mono)
        result = runner.invoke(main, ["listen", "--audio-in", str(tmp_path / "plain.wav"),
                                      "--json"])
        if '"stop"' in result.output:
            chosen = clip
            break
    assert chosen is not None and mono is not None
    wav = tmp_path / "take.wav"
    _write_stereo_44k(wav, mono)
    result = runner.invoke(main, ["listen", "--audio-in", str(wav), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines
    for obj in lines:
        assert set(obj) == {"t_end", "word", "confidence"}
        assert 0 <= obj["confidence"] <= 1
        assert 0 < obj["t_end"] <= len(mono) / 16000
    stops = [o for o in lines if o["word"] == "stop"]
    assert stops and 2.0 < stops[0]["t_end"] < 2.0 + len(read_wav(chosen)) / 16000 + 0.3


def test_listen_readable_output(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["listen", "--audio-in", str(_first("yes"))])
    assert result.exit_code == 0
    for line in result.output.splitlines():
        assert " s  " in line


def test_listen_refuses_an_unreadable_file(tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    result = CliRunner().invoke(main, ["listen", "--audio-in", str(bad), "--json"])
    assert result.exit_code == 2
    assert "notes.wav" in result.output
    assert "Traceback" not in result.output
    missing = CliRunner().invoke(main, ["listen", "--audio-in", str(tmp_path / "none.wav")])
    assert missing.exit_code == 2


def _tiny_manifest(tmp_path: Path) -> Path:
    rows = [(_first("stop"), "stop"), (_first("five"), "five"), (_first("yes"), "yes"),
            (_first("_"), "_")]
    manifest = tmp_path / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        for path, label in rows:
            target = tmp_path / path.name
            target.write_bytes(path.read_bytes())
            writer.writerow([path.name, label])
    return manifest


def test_eval_prints_the_metrics_with_a_baseline(tmp_path: Path) -> None:
    manifest = _tiny_manifest(tmp_path)
    result = CliRunner().invoke(main, ["eval", str(manifest), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["clips"] == 4
    mine = summary["recogniser"]
    assert set(mine["recall"]) == {"stop", "five", "yes", "_"}
    assert sum(sum(row.values()) for row in mine["confusion"].values()) == 4
    assert mine["false_accepts_per_hour"] is not None
    assert mine["false_stops_per_hour"] is not None
    # A measure, not a target here (a busy machine takes longer): speed is the benchmarks'.
    assert summary["decode_x_real_time"] > 0
    assert summary["baseline"]["method"].startswith("speech_recognition")
    assert set(summary["baseline"]["recall"]) == {"stop", "five", "yes", "_"}
    assert summary["speed_ratio_baseline_over_recogniser"] > 0


def test_eval_table_and_limit(tmp_path: Path) -> None:
    manifest = _tiny_manifest(tmp_path)
    result = CliRunner().invoke(main, ["eval", str(manifest), "--limit", "2", "--no-baseline"])
    assert result.exit_code == 0, result.output
    assert "2 clips" in result.output
    assert "false accepts per hour" in result.output


@pytest.mark.parametrize(("content", "said"), [
    ("path,label\nx.wav,pause\n", "pause"),  # a label that is no vocabulary word
    ("path,label\n", "no clips listed"),
])
def test_eval_refuses_a_bad_manifest(tmp_path: Path, content: str, said: str) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(content)
    result = CliRunner().invoke(main, ["eval", str(manifest)])
    assert result.exit_code == 2
    assert said in result.output
    assert "Traceback" not in result.output


def test_another_whisper_model_folder_is_used_when_named(tmp_path: Path) -> None:
    """`--whisper-model DIR` (or VOICECOACH_WHISPER_MODEL) names a larger CTranslate2
    Whisper model for pain numbers, for users who install one; here the bundled model
    named by its folder, which must hear what the default hears, number and stop."""
    from voicecoach.voice.hearing.whisper_reader import model_dir

    for label in ("seven", "stop"):
        clip = str(_first(label))
        default = CliRunner().invoke(main, ["listen", "--audio-in", clip, "--expect",
                                            "number", "--json"])
        named = CliRunner().invoke(main, ["listen", "--audio-in", clip, "--expect", "number",
                                          "--json"],
                                   env={"VOICECOACH_WHISPER_MODEL": str(model_dir())})
        assert default.exit_code == named.exit_code == 0, named.output
        assert f'"{label}"' in named.output and named.output == default.output
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = CliRunner().invoke(main, ["listen", "--audio-in", clip, "--whisper-model",
                                        str(empty)])
    assert refused.exit_code == 2 and "holds no Whisper model" in refused.output
    assert "Traceback" not in refused.output


def test_a_limited_eval_samples_every_label_not_the_first_rows() -> None:
    """The help's own example, `eval tests/data/speech/manifest.csv --limit 40`: the
    manifest is sorted by label, its first 40 rows all hold no command."""
    manifest = Path(__file__).parent / "data" / "speech" / "manifest.csv"
    every = read_manifest(manifest)
    assert {c.label for c in every[:40]} == {NO_COMMAND}
    some = read_manifest(manifest, limit=40)
    assert len(some) == 40
    labels = Counter(c.label for c in some)
    assert set(labels) == {c.label for c in every}  # 16 labels, each at least twice
    assert max(labels.values()) - min(labels.values()) <= 1
    assert some == sorted(some, key=every.index)  # in the manifest's order
