"""How the device tests judge that a recording holds a clip, and whether the host kept time.

A recording made through PulseAudio is the clip plus the room's noise floor, shifted by
the devices' latency. On a shared host the whole machine can also stall for a moment:
a player then underruns and the clip reaches the microphone in two pieces with a gap
between them, which a single cross-correlation over the whole clip scores as a poor
match although every sample arrived intact. So the clip is matched in short parts,
each found near where the one before it ended, and the parts' correlations are
summed as one; a rate error (a wrong resampler) or garbled audio still fails every
part, a late piece does not.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from devkit.matching import best_match

RATE = 16000
PART_S = 0.25
"""Length of each matched part: short enough that a gap falls between parts."""
SLACK_S = 0.6
"""How far a part may sit from where the part before it ended (a stall's gap)."""


def _best_offset(rec: np.ndarray, ref: np.ndarray) -> int:
    """Offset in rec where ref matches best (normalised cross-correlation)."""
    return best_match(rec, ref)[0]


def prompt_likeness(recording: np.ndarray, prompt_id: str) -> float:
    """similarity() of the recording with a fixed prompt's pre-rendered audio."""
    from voicecoach.session.prompts import FIXED_PROMPTS
    from voicecoach.voice.speaking import PromptLibrary

    clip = PromptLibrary().lookup(prompt_id, FIXED_PROMPTS[prompt_id])
    assert clip is not None, prompt_id
    return similarity(recording, clip)


def similarity(recording: np.ndarray, clip: np.ndarray) -> float:
    """How surely the clip is in the recording, 0..1 (1.0: identical).

    The normalised correlation of the whole clip with the recording, each part of the
    clip taken where it is found, near where the previous part ended: with no gap this
    is the plain peak correlation; a gap between parts costs nothing."""
    rec = np.asarray(recording, dtype=np.float64)
    ref = np.asarray(clip, dtype=np.float64)
    if len(rec) < len(ref):
        rec = np.concatenate([rec, np.zeros(len(ref) - len(rec))])
    expected = _best_offset(rec, ref)
    part = int(PART_S * RATE)
    slack = int(SLACK_S * RATE)
    typical = float(ref @ ref) / max(1, len(ref) // part)
    dot = rec_energy = 0.0
    for offset in range(0, len(ref), part):
        piece = ref[offset: offset + part]
        lo = max(0, expected - slack)
        hi = min(len(rec), expected + len(piece) + slack)
        if hi - lo < len(piece):
            break
        # A near-silent part cannot be placed by correlation: it stays where it is due.
        quiet = float(piece @ piece) < 1e-3 * typical
        found = min(expected, len(rec) - len(piece)) if quiet else (
            lo + _best_offset(rec[lo:hi], piece))
        window = rec[found: found + len(piece)]
        dot += float(window @ piece)
        rec_energy += float(window @ window)
        expected = found + len(piece)
    return dot / (np.sqrt(rec_energy * float(ref @ ref)) + 1e-9)


STALL_S = 0.06
"""A wake this late is the machine stalling, not a busy thread."""


@dataclass
class HostWatch:
    """Measures how late a 5 ms sleep wakes while a device test runs: a late wake of
    hundreds of milliseconds means the whole machine stalled, which no audio path
    survives unscathed. Printed beside device assertions so a failure says which."""

    worst_s: float = 0.0
    stalled_s: float = 0.0
    """Total lateness of the wakes later than STALL_S: time in which nothing here ran."""
    _running: bool = field(default=False, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def _watch(self) -> None:
        while self._running:
            before = time.monotonic()
            time.sleep(0.005)
            late = time.monotonic() - before - 0.005
            self.worst_s = max(self.worst_s, late)
            if late > STALL_S:
                self.stalled_s += late

    def explains(self, lost_samples: int, rate: int = 16000) -> bool:
        """Audio a device reader lost is no more than the machine's stalls took away.

        PyAudio opens the capture buffer at PortAudio's low latency (about 90 ms at
        30 ms reads) and has no option for more, so a virtual machine descheduled for
        longer loses the excess whoever reads. The reader's own slowness never is."""
        return lost_samples / rate <= self.stalled_s + 0.03

    def __enter__(self) -> HostWatch:
        self._running = True
        self._thread = threading.Thread(target=self._watch, name="host-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=1)

    def __str__(self) -> str:
        return (f"the host's worst stall was {1000 * self.worst_s:.0f} ms, "
                f"{1000 * self.stalled_s:.0f} ms in all")
