"""The development set's bookkeeping, the same in every fit, eval and benchmark script:
who speaks in each manifest row, the cross-validation fold of each voice, the halves of
a long talk, and a quiet room to place a clip in."""

from __future__ import annotations

import csv
import zlib
from pathlib import Path
from typing import TypeVar

import numpy as np

from voicecoach.voice.hearing.evaluate import room_tone


def voice(row: dict[str, str]) -> str:
    """Who speaks in a manifest row: its speaker column, or the clip itself if it has none."""
    return row.get("speaker") or row["path"]


def manifest_voices(manifest: Path) -> list[str]:
    """`voice` of every row of a manifest, in its order."""
    with manifest.open(newline="", encoding="utf-8") as handle:
        return [voice(r) for r in csv.DictReader(handle)]


def speaker_fold(speaker: str, folds: int = 2) -> int:
    """Which cross-validation fold a voice belongs to: the same in every fit and eval
    script, so a model fitted without fold k is measured on fold k's voices alone."""
    return zlib.crc32(speaker.encode()) % folds


_T = TypeVar("_T")


def talk_half(minutes: list[_T], half: int) -> list[_T]:
    """Half A (0) or half B (1) of a long talk's minute files: alternate minutes, so that
    both halves hear every part of it. A model that learnt half A is measured on half B
    alone."""
    return minutes[half::2]


QUIET_ROOM_RMS = 30.0
"""A quiet room's noise (int16 RMS), so that a session's first seconds are not digital
silence."""


def in_quiet_room(clip: np.ndarray, start: int, length: int, seed: int) -> np.ndarray:
    """`length` samples of a session's microphone: a quiet room, and in it the room the
    clip was recorded in, heard all along (its room tone) and not only while the word is
    said, with the clip at sample `start` (scripts/bench_latency.py's trials)."""
    room = np.random.default_rng(seed).normal(0, QUIET_ROOM_RMS, length)
    speaker_room = room_tone(clip, length).astype(np.float64)
    speaker_room[start:start + len(clip)] = clip
    return np.clip(room + speaker_room, -32768, 32767).astype(np.int16)
