"""lab/make_noisy_set.py, which makes the eval's stops over babble and fan, on real clips.

What matters is that the noise is there before the word, as a television's is, and at
the level the set's name says: the figures "over babble at 10 dB" come from these clips.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lab.make_noisy_set import LEAD_S, active_power
from voicecoach.voice.hearing.evaluate import room_tone
from voicecoach.voice.pcm import read_wav

ROOT = Path(__file__).resolve().parents[1]
SPEECH = Path(__file__).parent / "data" / "speech"
RATE = 16000


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("noisy")
    subprocess.run([sys.executable, str(ROOT / "lab" / "make_noisy_set.py"),
                    str(SPEECH / "manifest.csv"), "--out", str(out), "--snr", "10",
                    "--noise", "babble", "fan"], check=True, capture_output=True)
    return out


def _pairs(noisy: Path, kind: str) -> list[tuple[dict[str, str], dict[str, str]]]:
    with (SPEECH / "manifest.csv").open(newline="") as handle:
        source = list(csv.DictReader(handle))
    with (noisy / f"{kind}-10db" / "manifest.csv").open(newline="") as handle:
        mixed = list(csv.DictReader(handle))
    return list(zip(source, mixed, strict=True))


@pytest.mark.parametrize("kind", ["babble", "fan"])
def test_noise_runs_before_and_after_the_clip_at_the_stated_level(noisy: Path,
                                                                   kind: str) -> None:
    lead = round(LEAD_S * RATE)
    checked = 0
    for source, mixed in _pairs(noisy, kind):
        assert mixed["label"] == source["label"]
        assert float(mixed["lead_s"]) == LEAD_S
        if source["label"] != "stop":
            continue
        clip = read_wav(SPEECH / source["path"]).astype(np.float64)
        out = read_wav(noisy / f"{kind}-10db" / mixed["path"]).astype(np.float64)
        assert len(out) == len(clip) + 2 * lead
        room = room_tone(clip.astype(np.int16), lead).astype(np.float64)
        clean = np.concatenate([room, clip, room])
        noise = out - clean
        if np.abs(out).max() >= 32767:
            continue  # scaled down to fit: the difference is not the noise alone
        # The clip sits where lead_s says, unchanged but for the noise added to it.
        assert np.corrcoef(out[lead: lead + len(clip)], clip)[0, 1] > 0.8
        # Noise before the word, as loud as over it (a television does not wait for it).
        before, during = noise[:lead], noise[lead: lead + len(clip)]
        assert np.mean(before ** 2) > 0.3 * np.mean(during ** 2)
        snr = 10 * np.log10(active_power(clean) / np.mean(noise ** 2))
        assert snr == pytest.approx(10.0, abs=0.5)
        checked += 1
    assert checked >= 20
