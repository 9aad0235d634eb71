"""Finding a known clip in a recording (normalised cross-correlation).

Plain functions, imported by the tests and by the benchmarks in scripts/ alike.
"""

from __future__ import annotations

import numpy as np


def best_match(recording: np.ndarray, clip: np.ndarray) -> tuple[int, float]:
    """(offset in the recording where the clip matches best, its normalised correlation,
    -1..1). A silent stretch of the recording matches nothing (0/0 is not a match)."""
    rec = np.asarray(recording, dtype=np.float64)
    ref = np.asarray(clip, dtype=np.float64)
    size = 1 << (len(rec) + len(ref) - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(rec, size) * np.conj(np.fft.rfft(ref, size)), size)
    corr = corr[: len(rec) - len(ref) + 1]
    energy = np.concatenate([[0.0], np.cumsum(rec**2)])
    window_norm = np.sqrt(np.maximum(energy[len(ref):] - energy[: len(energy) - len(ref)], 0))
    ref_norm = float(np.linalg.norm(ref))
    audible = window_norm > 1e-3 * ref_norm
    scores = np.where(audible, corr / np.maximum(window_norm * ref_norm, 1e-9), -np.inf)
    best = int(np.argmax(scores))
    return best, float(scores[best])
