"""Fit the recogniser's confidence model on labelled clips and print the coefficients.

    python scripts/fit_confidence.py /work/shared/audio/manifest.csv [--jobs 2]

Each clip (padded with 0.5 s of silence) is decoded whole by the judge in
"any" mode; the target is 1 when the grammar's word is the clip's label.
Paste the printed COEFFICIENTS and BIAS into voicecoach/voice/hearing/confidence.py.
"""

from __future__ import annotations

import argparse
import math
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from voicecoach.voice.hearing import vocabulary
from voicecoach.voice.hearing.decoder import SphinxDecoder
from voicecoach.voice.hearing.evaluate import NO_COMMAND, _padded, read_manifest
from voicecoach.voice.hearing.judge import Features, judge
from voicecoach.voice.hearing.settings import HearingSettings
from voicecoach.voice.pcm import read_wav

_decoder: SphinxDecoder | None = None


def _features(path: Path) -> Features | None:
    global _decoder
    if _decoder is None:
        _decoder = SphinxDecoder(HearingSettings(), with_phone_loop=True, streaming=False)
    return judge(_decoder, _padded(read_wav(path)), "any")


def vector(f: Features) -> list[float]:
    return [f.ratio, f.silence_inside, f.speech_outside, math.log(max(f.frames, 1))]


def fit(x: np.ndarray, y: np.ndarray, steps: int = 4000) -> tuple[np.ndarray, float]:
    """Logistic regression by gradient descent on standardised features (small L2)."""
    mean, std = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-z @ w))
        w -= 0.5 * (z.T @ (p - y) / len(y) + 1e-3 * w)
    coef = w[:-1] / std
    return coef, float(w[-1] - (w[:-1] * mean / std).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    clips = read_manifest(args.manifest)
    with Pool(args.jobs) as pool:
        feats = pool.map(_features, [c.path for c in clips], chunksize=16)
    rows = [(vector(f), float(vocabulary.canonical_of(f.name) == c.label))
            for c, f in zip(clips, feats, strict=True) if f is not None]
    x = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    coef, bias = fit(x, y)
    print(f"clips {len(clips)}, with a grammar word {len(rows)}, right {int(y.sum())}")
    print(f"COEFFICIENTS = ({', '.join(f'{c:.4f}' for c in coef)})")
    print(f"BIAS = {bias:.4f}")
    stop = sum(c.label == "stop" for c in clips)
    no_command = sum(c.label == NO_COMMAND for c in clips)
    probs = 1 / (1 + np.exp(-(x @ coef + bias)))
    words = [vocabulary.canonical_of(f.name) for f in feats if f is not None]
    labels = [c.label for c, f in zip(clips, feats, strict=True) if f is not None]
    for threshold in (0.2, 0.3, 0.4, 0.5, 0.6):
        keep = probs >= threshold
        hit = sum(k and w == "stop" == lab for k, w, lab in zip(keep, words, labels, strict=True))
        false = sum(k and w == "stop" != lab for k, w, lab in zip(keep, words, labels, strict=True))
        other = sum(k and lab == NO_COMMAND for k, lab in zip(keep, labels, strict=True))
        print(f"threshold {threshold}: stop recall {hit / max(stop, 1):.3f}, "
              f"false stops {false}, accepted no-command clips {other}/{no_command}")


if __name__ == "__main__":
    main()
