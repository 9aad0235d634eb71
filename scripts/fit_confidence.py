"""Fit the recogniser's two confidence models on what the live pipeline produces.

    python scripts/fit_confidence.py MANIFEST.csv [MORE.csv ...] [--jobs 2] [--verdicts FILE]

Every clip runs through the Recogniser exactly as `voicecoach eval` runs it,
with thresholds out of reach, and every verdict the recogniser makes is kept
with the clip's label: the stop model learns from all of them ("stop" checks
of a segment so far and end-of-segment checks), the word model from the
end-of-segment ones, the only ones its words are taken from. Long
no-command recordings (scripts/make_no_command_stream.py) belong in the
training set: continuous talk is where false accepts come from.

Prints the coefficients to paste into voicecoach/voice/hearing/confidence.py,
and clip-level figures for a few thresholds, both in-sample and with 2-fold
cross-validation (folds split by speaker or by file, so a voice is never in
both halves). With --verdicts FILE the decoded verdicts are kept in FILE and
read back on the next run over the same clips, so a change to the features
or the fit is tried in seconds instead of a full decode.
"""

from __future__ import annotations

import argparse
import pickle
from dataclasses import replace
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from voicecoach.session.commands import NUMBER_WORDS
from voicecoach.voice.hearing import HearingSettings, Recogniser, vocabulary
from voicecoach.voice.hearing.confidence import stop_vector, word_vector
from voicecoach.voice.hearing.evaluate import (
    NO_COMMAND,
    Clip,
    manifest_voices,
    padded,
    read_manifest,
    run_clip,
    speaker_fold,
)
from voicecoach.voice.hearing.judge import Verdict
from voicecoach.voice.hearing.settings import OFFLINE_JUDGE_TIMEOUT_S
from voicecoach.voice.pcm import read_wav

_recogniser: Recogniser | None = None


def _verdicts(path: Path) -> list[tuple[Verdict, bool]]:
    global _recogniser
    if _recogniser is None:
        _recogniser = Recogniser(replace(HearingSettings(), stop_threshold=2.0,
                                         word_threshold=2.0,
                                         judge_timeout_s=OFFLINE_JUDGE_TIMEOUT_S))
    found: list[tuple[Verdict, bool]] = []
    _recogniser.on_verdict = lambda verdict, whole: found.append((verdict, whole))
    run_clip(_recogniser, padded(read_wav(path)))
    return found


def _decoded(clips: list[Clip], jobs: int,
             cache: Path | None) -> list[list[tuple[Verdict, bool]]]:
    paths = [str(c.path) for c in clips]
    if cache is not None and cache.exists():
        saved = pickle.loads(cache.read_bytes())
        if saved["paths"] == paths:
            return saved["verdicts"]
        print(f"{cache} holds other clips; decoding again")
    with Pool(jobs) as pool:
        verdicts = pool.map(_verdicts, [c.path for c in clips], chunksize=8)
    if cache is not None:
        cache.write_bytes(pickle.dumps({"paths": paths, "verdicts": verdicts}))
    return verdicts


def fit(x: np.ndarray, y: np.ndarray, steps: int = 4000) -> tuple[np.ndarray, float]:
    """Logistic regression by gradient descent on standardised features (small L2)."""
    mean, std = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-z @ w))
        w -= 0.5 * (z.T @ (p - y) / len(y) + 1e-3 * w)
    return w[:-1] / std, float(w[-1] - (w[:-1] * mean / std).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifests", type=Path, nargs="+")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--verdicts", type=Path,
                        help="keep the decoded verdicts here; reuse them if the clips match")
    args = parser.parse_args()
    clips, speakers = [], []
    for manifest in args.manifests:
        clips += read_manifest(manifest)
        speakers += manifest_voices(manifest)
    verdicts = _decoded(clips, args.jobs, args.verdicts)
    fold = np.array([speaker_fold(s) for s in speakers])
    seconds = np.array([len(read_wav(c.path)) / 16000 for c in clips])
    labels = [c.label for c in clips]
    hours = seconds[[lab == NO_COMMAND for lab in labels]].sum() / 3600

    stop_rows = [(i, stop_vector(v)) for i, vs in enumerate(verdicts) for v, _ in vs]
    stop_rows = [(i, x) for i, x in stop_rows if x is not None]
    word_rows = []
    for i, vs in enumerate(verdicts):
        for v, whole in vs:
            if not whole:
                continue  # words other than "stop" are only taken from whole segments
            word = vocabulary.canonical_of(v.top.name) if v.top is not None else None
            if v.top is not None and word not in (None, "stop"):
                word_rows.append((i, word_vector(v.top, v), float(word == labels[i]), word))

    sx = np.array([x for _, x in stop_rows])
    sy = np.array([float(labels[i] == "stop") for i, _ in stop_rows])
    sclip = np.array([i for i, _ in stop_rows])
    wx = np.array([r[1] for r in word_rows])
    wy = np.array([r[2] for r in word_rows])
    wclip = np.array([r[0] for r in word_rows])
    wword = [r[3] for r in word_rows]

    def scores(x: np.ndarray, y: np.ndarray, clip_of: np.ndarray) -> tuple[np.ndarray, tuple]:
        coef, bias = fit(x, y)
        held = np.zeros(len(y))
        for k in (0, 1):
            train = fold[clip_of] != k
            c, b = fit(x[train], y[train])
            held[~train] = 1 / (1 + np.exp(-(x[~train] @ c + b)))
        return held, (coef, bias)

    s_held, (s_coef, s_bias) = scores(sx, sy, sclip)
    w_held, (w_coef, w_bias) = scores(wx, wy, wclip)
    s_in = 1 / (1 + np.exp(-(sx @ s_coef + s_bias)))
    w_in = 1 / (1 + np.exp(-(wx @ w_coef + w_bias)))
    print(f"{len(clips)} clips, {hours * 60:.1f} min without a command, "
          f"{len(stop_rows)} stop verdicts, {len(word_rows)} word verdicts")
    print(f"STOP_COEFFICIENTS = ({', '.join(f'{c:.4f}' for c in s_coef)})")
    print(f"STOP_BIAS = {s_bias:.4f}")
    print(f"WORD_COEFFICIENTS = ({', '.join(f'{c:.4f}' for c in w_coef)})")
    print(f"WORD_BIAS = {w_bias:.4f}")
    n_stop = labels.count("stop")
    for name, p in (("in-sample", s_in), ("cross-validated", s_held)):
        for th in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
            hit = {sclip[j] for j in np.nonzero(p >= th)[0] if labels[sclip[j]] == "stop"}
            false = sum(1 for j in np.nonzero(p >= th)[0] if labels[sclip[j]] == NO_COMMAND)
            other = sum(1 for j in np.nonzero(p >= th)[0]
                        if labels[sclip[j]] not in ("stop", NO_COMMAND))
            print(f"stop {name} threshold {th}: recall {len(hit) / max(n_stop, 1):.3f}, "
                  f"false stops {false} ({false / hours:.0f}/h), on other commands {other}")
    for name, p in (("in-sample", w_in), ("cross-validated", w_held)):
        for th in (0.3, 0.5, 0.7, 0.8, 0.9):
            keep = p >= th
            right = sum(1 for j in np.nonzero(keep)[0] if wy[j] == 1)
            wrong = sum(1 for j in np.nonzero(keep)[0]
                        if wy[j] == 0 and labels[wclip[j]] != NO_COMMAND)
            false = sum(1 for j in np.nonzero(keep)[0] if labels[wclip[j]] == NO_COMMAND)
            numbers = sum(1 for j in np.nonzero(keep)[0]
                          if labels[wclip[j]] == NO_COMMAND and wword[j] in NUMBER_WORDS)
            print(f"words {name} threshold {th}: right {right}, wrong word {wrong}, "
                  f"false accepts {false} ({false / hours:.0f}/h, numbers {numbers})")


if __name__ == "__main__":
    main()
