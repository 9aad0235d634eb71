"""Google's speech embedding and the spectrogram it reads, run in numpy.

The stop spotter's two models came as ONNX graphs (models/README.md).
lab/export_speech_embedding.py turned them into speech_embedding.npz: the
spectrogram's fixed filters, and the embedding network as a chain of layers
(convolutions, a batch norm folded into a scale and a shift, leaky ReLUs,
floors, max pools) with their weights. Running that chain here rather than in
onnxruntime saves the session 27 MB of memory (measured: onnxruntime's library
and two sessions), and gives the same numbers: tests/test_stop_spotter.py
holds this runner to onnxruntime's output on recorded speech.

Each convolution is one matrix product: the input's shifted copies, stacked
(im2col), times the kernel laid out to match.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

MODEL_FILE = Path(__file__).parent / "models" / "speech_embedding.npz"

WINDOW_SAMPLES = 512
"""Each spectrogram frame sees 32 ms..."""
HOP_SAMPLES = 160
"""...and one starts every 10 ms."""
LN_10 = np.float32(2.3025851249694824)
"""The export divides by ln 10 as this float32: kept, so that the decibels match it."""


Layer = Callable[[np.ndarray], np.ndarray]
"""One layer of the network: a (channels, height, width) array in, another out."""


@dataclass(frozen=True)
class _Conv:
    matrix: np.ndarray
    """(out channels, kernel height * kernel width * in channels), in the order of the
    stacked shifted copies."""
    bias: np.ndarray
    kernel: tuple[int, int]
    pad_w: int


class SpeechEmbedding:
    """16 kHz audio (int16 values as float32) -> 32-band spectrogram -> 96 numbers."""

    def __init__(self, path: Path | None = None) -> None:
        path = path or MODEL_FILE
        with np.load(path) as saved:
            arrays = {name: saved[name] for name in saved.files}
        # One matrix for both halves of the short-time Fourier transform.
        self._stft = np.concatenate([arrays["stft_real"], arrays["stft_imag"]]).T.copy()
        self._bins = arrays["stft_real"].shape[0]
        self._mel_filters = arrays["mel_filters"]
        self._mel_floor = arrays["mel_floor"]
        self._top_db = arrays["top_db"]
        # Each layer is read once, here, into the function that applies it.
        self._layers = [_layer(spec, arrays, path) for spec in json.loads(str(arrays["layers"]))]

    def spectrogram(self, audio: np.ndarray) -> np.ndarray:
        """(frames, 32) decibels for every whole 512-sample window 160 samples apart,
        floored 80 dB below the loudest value of this call (as the export does)."""
        frames = sliding_window_view(audio.astype(np.float32, copy=False),
                                     WINDOW_SAMPLES)[::HOP_SAMPLES]
        parts = frames @ self._stft
        power = parts[:, :self._bins] ** 2 + parts[:, self._bins:] ** 2
        mel = np.maximum(power @ self._mel_filters, self._mel_floor)
        decibels = np.log(mel) * np.float32(10.0) / LN_10
        return np.maximum(decibels, decibels.max() - self._top_db)

    def embed(self, spectrogram: np.ndarray) -> np.ndarray:
        """76 spectrogram frames (76, 32) -> the embedding (96,)."""
        x = spectrogram.astype(np.float32, copy=False)[None]  # (channels, height, width)
        for layer in self._layers:
            x = layer(x)
        return x.reshape(-1)


def _layer(spec: dict[str, Any], arrays: dict[str, np.ndarray], path: Path) -> Layer:
    """The function for one layer of the exported chain (its weights bound in)."""
    op = spec["op"]
    if op == "conv":
        weight = arrays[f"{spec['name']}_w"]
        out, _, kh, kw = weight.shape
        conv = _Conv(weight.transpose(0, 2, 3, 1).reshape(out, -1).copy(),
                     arrays[f"{spec['name']}_b"][:, None], (kh, kw), int(spec["pad_w"]))
        return functools.partial(_convolve, conv=conv)
    if op == "affine":
        scale = arrays[f"{spec['name']}_scale"][:, None, None]
        shift = arrays[f"{spec['name']}_shift"][:, None, None]
        return lambda x: x * scale + shift
    if op == "max":
        floor = np.float32(spec["value"])
        return lambda x: np.maximum(x, floor)
    if op == "leaky":
        alpha = np.float32(spec["alpha"])
        return lambda x: np.maximum(x, x * alpha)  # alpha < 1
    if op == "pool":
        return functools.partial(_pool, size=tuple(spec["size"]))
    if op == "input":
        return functools.partial(_pad_width, by=int(spec["pad_w"]))
    raise ValueError(f"{path}: a layer this runner does not know: {op}")


def _pad_width(x: np.ndarray, by: int) -> np.ndarray:
    """Zeros on both sides of the width axis."""
    return np.pad(x, ((0, 0), (0, 0), (by, by)))


def _pool(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Max over non-overlapping (ph, pw) blocks, a ragged edge dropped: as the maximum
    of the blocks' strided corners (a reshape and max over axes took 4 times as long)."""
    ph, pw = size
    _, h, w = x.shape
    h, w = h // ph * ph, w // pw * pw
    return functools.reduce(np.maximum, (x[:, i:h:ph, j:w:pw]
                                         for i in range(ph) for j in range(pw)))


def _convolve(x: np.ndarray, conv: _Conv) -> np.ndarray:
    if conv.pad_w:
        x = _pad_width(x, conv.pad_w)
    kh, kw = conv.kernel
    _, h, w = x.shape
    oh, ow = h - kh + 1, w - kw + 1
    shifted = np.concatenate([x[:, i:i + oh, j:j + ow]
                              for i in range(kh) for j in range(kw)])
    out = conv.matrix @ shifted.reshape(len(shifted), -1) + conv.bias
    return out.reshape(len(out), oh, ow)
