"""What can be tuned in the recogniser, each with its unit."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voicecoach.voice.hearing.whisper_reader import Reading

OFFLINE_JUDGE_TIMEOUT_S = 600.0
"""`judge_timeout_s` for evaluation and tuning, where only a real hang should end a run."""


class Says(enum.Enum):
    """What one reading of the judge says of "stop"."""

    NO = 0
    MAYBE = 1
    """The spotter was sure and Whisper agreed faintly: a stop if another reading says so."""
    YES = 2


@dataclass(frozen=True)
class StopRule:
    """When Whisper's readings of a segment are a "stop".

    Whisper spreads its belief over many spellings and sounds, so the probability it
    gives a word it did not expect is small, and a stop said over other voices gets
    little of it: Whisper writes the voices. A reading says YES when its transcript says
    "stop", or "stop" is likely enough as the first word (`alone`); MAYBE when the
    spotter scored the segment at least `spotter` and Whisper gives "stop" at least
    `with_spotter`; and neither unless the stop probe (stop_probe.py), which hears the
    end of the same audio through Whisper's encoder, scores it at least `probe`, or the
    spotter is sure and Whisper gives "stop" at least `sure` as the first word: then it
    says YES whatever the probe says, as a probe fitted on one set of rooms must not
    turn down a stop both other judges hear plainly. `agree` MAYBEs in one segment make
    a stop. The recogniser never reads the same audio twice, so two MAYBEs are two
    readings of different audio.

    Before the probe, a faint nod from Whisper had to come twice (0.002, two agreements)
    to keep lively talk out, and still let about 30 false stops an hour of the game's
    acted talk through. The probe turns those down itself, so the nod asked of Whisper
    is now a tenth of what it was, and once is enough: more of the stops said over
    voices are heard. Chosen by lab/fit_stop_rule.py on the development set's
    readings, every figure for voices (and the half of the game's talk) that the probe
    never learnt: among the rules that hear at least 98.5% of the clean stops and as
    many over babble at 10 dB as the rule before the probe (91.3%), the one with the
    fewest false stops on half A of the game's talk and the set's own talk; among those
    with none, the one that hears the most stops over babble. Chosen so again when the
    probe learnt more of the game's talk and `sure` joined the grid. Its figures
    against the rule before the probe are in the README.
    """

    spotter: float = 0.5
    """The stop spotter's highest score in the segment so far (0..1)."""
    with_spotter: float = 0.0002
    """Whisper's probability (0..1) of "stop" as the first word that makes a MAYBE."""
    alone: float = 0.02
    """Whisper's probability (0..1) of "stop" that is a YES."""
    agree: int = 1
    """MAYBE readings of one segment that make a stop (count)."""
    probe: float = 2.5
    """The stop probe's least score (a logit: 0 is even odds) for a reading to count for
    "stop" at all, YES or MAYBE (stop_probe.py), unless Whisper is `sure`."""
    sure: float = 0.5
    """Whisper's probability (0..1) of "stop" as the first word that, with the spotter's
    score at least `spotter`, is a YES whatever the probe's score."""

    def says(self, reading: Reading, spot_max: float, probe: float) -> Says:
        """What `reading` says of "stop", given the spotter's highest score in the segment
        so far and the stop probe's score of the reading."""
        p_stop = reading.first["stop"]
        if spot_max >= self.spotter and p_stop >= self.sure:
            return Says.YES
        if probe < self.probe:
            return Says.NO
        if "stop" in reading.words() or p_stop >= self.alone:
            return Says.YES
        if spot_max >= self.spotter and p_stop >= self.with_spotter:
            return Says.MAYBE
        return Says.NO

    def decides(self, said: list[Says]) -> bool:
        """Whether the readings of one segment so far, in order, make a stop."""
        return Says.YES in said or said.count(Says.MAYBE) >= self.agree


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

    spotter_cue: float = 0.5
    """The stop spotter's score (0..1) at which the judge reads the segment so far at once,
    rather than at the next pause. Measured on voices the spotter was not fitted on
    (lab/fit_stop_spotter.py, 2 folds by voice), it reaches 0.5 in 97.1% of clean
    stops, 95.6% said 10 dB over babble and 98.2% over fan (noise over the clip alone;
    94.2% with 1.5 s of the babble before the clip), and 350 times an hour in talk
    without the word, which the reading then turns down."""

    stop_rule: StopRule = field(default_factory=lambda: StopRule())
    """When a reading of the judge is a "stop" (see StopRule)."""

    number_threshold: float = 0.001
    """While a pain rating is asked ("number" mode): the least probability (0..1) that
    Whisper gives the number words and "stop" together as the first word, for an answer to
    be taken at all; the answer is then the likeliest of them, its confidence its share.
    The engine reads back every number below 0.9 and logs it only on a yes. Measured on
    the development set's 308 spoken numbers (lab/eval_dev_set.py): 292 right, 13
    wrong (all of them read back), 3 not taken."""

    answer_threshold: float = 0.1
    """The same for a yes or no to a read-back ("confirm" mode): a wrongly heard yes would
    log the number read back, so this stays higher than `number_threshold`. At 0.01, one
    stretch of room tone in 150 was written "Oh, no." with a first-word total of 0.05 and
    taken as an answer; every real answer that the transcript names had 0.26 or more
    (lab/eval_answers.py --per-kind 150: 0 of 150 from room tone at 0.1, yes/no right
    93.3% either way)."""

    answer_must_be_said: bool = True
    """An answer (number, yes, no) is taken only when Whisper's transcript itself names it
    ("three", "3", "yes"), not from the first word's probabilities alone: the decoder
    writes the likeliest text even for noise, and a rating must never be logged from a
    guess. Measured by lab/eval_answers.py on 150 clips of each kind of the development
    set: room tone gave an answer in 75 of 150 (number mode) and 76 of 150 (confirm mode)
    before, 0 after (with `answer_threshold`); words that answer nothing 73 and 35, then
    3 and 4 (a "tree" written "3 3 3 3", read back before it is logged); numbers taken
    right fell from 94.7% to 76.0% (the rest are asked again), yes/no from 95.3% to
    93.3%. A bound on Whisper's no-speech probability also stopped the room tone but let
    words through (61 of 150 at 0.6) and cost more numbers (85.3% at 0.6, 66.7% with the
    transcript rule)."""

    word_threshold: float = 0.3
    """While nothing is asked: the least probability (0..1) of the first token of Whisper's
    transcript, which must be a command word and nothing more, for the word to be taken."""

    number_model: str = ""
    """A larger CTranslate2 Whisper model folder that reads the segments answering a
    question (a pain number, yes or no) in a judge process of its own; empty: the bundled
    tiny.en reads those too. "stop" is always read by tiny.en: the stop probe, the stop
    rule and the spotter's cue were fitted on its readings, and it reads in about 20 ms."""

    spotter_model: str = ""
    """The stop spotter's classifier file (empty: the one shipped in models/). The eval
    sets one per half of the voices, fitted on the other half (lab/eval_dev_set.py
    --spotter-folds), so that its figures are for voices the classifier never heard."""

    stop_probe_model: str = ""
    """The stop probe's file (empty: the one shipped in models/). The eval sets one per
    half of the voices, fitted without them (lab/eval_dev_set.py --probe-folds)."""

    stop_read_s: float = 1.2
    """The checks for "stop" made while a segment is open (at the spotter's cue, a short
    pause, the streaming search's partial result) read its last this long (seconds): the
    spotter fires as the word ends, and 1.2 s holds the word and its lead-in. Over a
    television the segment opens on the voices before the stop, and Whisper, reading all
    of it, wrote those: measured on the development set's stops 10 dB over babble (the
    noise running before the word), 86.2% heard reading the whole segment, 91.6% reading
    its last 1.2 s. The segment's closing reading is still of all of it."""

    max_reads_per_segment: int = 8
    """Readings of one segment by the judge, at most (count): a segment lasts 3 s at most,
    a reading takes about 20 ms, and talk that keeps the spotter near its threshold must
    not keep the judge busy."""

    judge_timeout_s: float = 3.0
    """A reading unanswered this long means the recogniser hung (seconds): the session
    treats it as a lost recogniser and brings the user up, as nothing they say can be heard
    until it answers. A reading takes about 20 ms, so a machine a hundred times slower than
    usual still passes. Offline tools (eval) set it far longer: there a machine that is
    only very busy must not end the run."""

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
