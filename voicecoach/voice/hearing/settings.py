"""What can be tuned in the recogniser, each with its unit."""

from __future__ import annotations

from dataclasses import dataclass

OFFLINE_JUDGE_TIMEOUT_S = 600.0
"""`judge_timeout_s` for evaluation and tuning, where only a real hang should end a run."""


@dataclass(frozen=True)
class HearingSettings:
    vad_on_db: float = 8.0
    """A 10 ms frame counts as speech when its energy is this far above the noise floor (dB)."""

    vad_off_db: float = 5.0
    """Below this height above the noise floor a frame counts as a pause (dB)."""

    vad_min_level_db: float = 20.0
    """Frames quieter than this are never speech (dB of int16 mean square; 20 dB = RMS 10)."""

    start_frames: int = 4
    """Speech frames among the last `start_window` frames that open a segment (10 ms frames)."""

    start_window: int = 6
    """Window for `start_frames` (10 ms frames)."""

    preroll_s: float = 0.3
    """Audio kept before a segment opens, so a soft first consonant ("s" of stop) is decoded (s)."""

    hangover_s: float = 0.3
    """Pause that closes a segment (seconds): the main latency of words other than "stop"."""

    max_segment_s: float = 3.0
    """A segment longer than this is closed and a new one opened (seconds)."""

    pause_check_s: float = 0.1
    """A pause this long inside an open segment has "stop" checked at once, before the
    segment closes (seconds): a "stop" the streaming search did not name as it was said
    is then caught `hangover_s - pause_check_s` sooner."""

    early_stop_chunks: int = 2
    """Consecutive partial results ending in "stop" before it is checked early (chunks fed)."""

    stop_threshold: float = 0.6
    """Confidence (0..1) at or above which "stop" is reported. Measured (cross-validated by
    speaker, real voices): 0.5 catches 87.6% of stops with 224 false "stop" checks per hour
    of no-command audio, 0.6 catches 86.5% with 186."""

    spotter_threshold: float = 0.9
    """Score (0..1) of the stop spotter (stop_spotter.py) at or above which "stop" is
    reported at once, whatever pocketsphinx makes of it. Measured on voices the classifier
    was not fitted on (scripts/fit_stop_spotter.py, 2 folds by voice), the spotter alone:
    0.9 catches 94.9% of clean stops and 88.4% said 10 dB over babble, with 203 false
    stops per hour of continuous talk; 0.98 catches 92.4% and 82.2%, with 104. Recall
    first: a false stop brings the user up early, a missed one leaves them hanging."""

    spotter_checked_in: tuple[str, ...] = ("number", "confirm")
    """Listening modes in which the spotter's "stop" is first checked by the grammar, and
    dropped if it hears another word there (about 60 ms): while an answer is awaited.
    Measured in "number" mode on voices the spotter was not fitted on: spoken numbers
    heard as "stop" went from 47 of 308 to 14, stops heard from 270 of 275 to 265."""

    spotter_model: str = ""
    """The stop spotter's classifier file (empty: the one shipped in models/). The eval
    sets one per half of the voices, fitted on the other half (scripts/eval_dev_set.py
    --spotter-folds), so that its figures are for voices the classifier never heard."""

    word_threshold: float = 0.5
    """Confidence (0..1) at or above which another word is reported while nothing is asked."""

    number_threshold: float = 0.1
    """Confidence (0..1) for a number while a pain rating is asked ("number" mode). Low on
    purpose: the engine reads back every number heard with less than 0.8 and logs it only
    on a yes, so a low bar costs a read-back, never a wrong rating. Measured on the
    development set's 308 spoken numbers: 0.35 took 56% right, 3% wrong and no answer for
    41%; 0.1 takes 79% right and 7% wrong (then read back)."""

    answer_threshold: float = 0.35
    """Confidence (0..1) for a word while the engine awaits a yes or no to a read-back
    ("confirm" mode): a wrongly heard yes would log the number read back, so this stays
    higher than `number_threshold`."""

    judge_timeout_s: float = 3.0
    """A check unanswered this long means the recogniser hung (seconds): the session treats
    it as a lost recogniser and brings the user up, as nothing they say can be heard until
    it answers. A check takes about 10% of its audio's length, 0.3 s for the longest (3 s)
    segment, so a machine ten times slower than usual still passes. Offline tools (eval,
    fit) set it far longer: there a machine that is only very busy must not end the run."""

    level_window_s: float = 0.05
    """Energy is averaged over this long before it is compared with the floor (seconds):
    room noise that flickers from frame to frame then holds still, and a pause in it is
    seen. Measured on recordings made over a fan: 0.03 s still left segments open to their
    3 s limit; 0.05 s closed every one 0.3-0.5 s after the word."""

    floor_window_s: float = 2.0
    """The noise floor is taken from the levels of this last stretch of audio (seconds)."""

    floor_percentile: float = 20.0
    """Which of those levels is the floor (percent from the quietest): low enough that
    speech in the stretch does not lift it, high enough that one quiet dip does not
    drop it."""
