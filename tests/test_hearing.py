"""The recogniser on real recorded voices from tests/data/speech (see tests/data/ATTRIBUTION.md).

Floors are the figures measured on this set with the shipped settings, minus a margin:
they catch a regression, not a small wobble.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from devkit.devset import in_quiet_room
from devkit.readings import NEVER_STOP, ReadingRecogniser
from voicecoach.session.commands import NUMBER_WORDS
from voicecoach.voice.hearing import Detection, HearingSettings, Recogniser
from voicecoach.voice.hearing.evaluate import (
    NO_COMMAND,
    hear_clip,
    padded,
    room_tone,
    run_clip,
)
from voicecoach.voice.pcm import read_wav

SPEECH = Path(__file__).parent / "data" / "speech"


def _clips(label: str | None = None) -> list[tuple[Path, str]]:
    with (SPEECH / "manifest.csv").open(newline="") as handle:
        rows = [(SPEECH / r["path"], r["label"]) for r in csv.DictReader(handle)]
    return [r for r in rows if label is None or r[1] == label]


@pytest.fixture(scope="module")
def recogniser() -> Iterator[Recogniser]:
    with Recogniser() as recogniser:
        yield recogniser


@pytest.fixture(scope="module")
def heard(recogniser: Recogniser) -> dict[Path, list[Detection]]:
    """Every clip of the set, run once as the eval runs it (padded, 30 ms chunks)."""
    return {path: run_clip(recogniser, padded(read_wav(path))) for path, _ in _clips()}


def _best(detections: list[Detection]) -> str:
    return max(detections, key=lambda d: d.confidence).word if detections else NO_COMMAND


def test_the_set_covers_stop_every_number_yes_no_and_no_command() -> None:
    labels = {label for _, label in _clips()}
    assert {"stop", "yes", "no", NO_COMMAND} | set(NUMBER_WORDS) <= labels
    assert len(_clips("stop")) >= 30


def test_stop_is_heard_in_real_stop_recordings(heard: dict[Path, list[Detection]]) -> None:
    stops = _clips("stop")
    found = sum(any(d.word == "stop" for d in heard[path]) for path, _ in stops)
    assert found / len(stops) >= 0.9  # measured 0.975 (39 of 40)


def _as_answers(recogniser: Recogniser, mode: str, labels: set[str]) -> list[tuple[str, str]]:
    """(label, best word) for the clips with these labels, heard while `mode` is expected."""
    recogniser.expect(mode)
    try:
        return [(label, _best(run_clip(recogniser, padded(read_wav(path)))))
                for path, label in _clips() if label in labels]
    finally:
        recogniser.expect("any")


def test_pain_numbers_are_recognised_when_asked(recogniser: Recogniser) -> None:
    answers = _as_answers(recogniser, "number", set(NUMBER_WORDS))
    right = sum(best == label for label, best in answers)
    wrong = sum(best not in (label, NO_COMMAND) for label, best in answers)
    # An answer is taken only when the transcript names it (no answers from noise): the
    # rest are asked again. Measured 0.82 (51 of 62) with that rule, 0.94 before it.
    assert right / len(answers) >= 0.75
    # Every number heard below 0.9 is read back before it is logged; even so, a wrong
    # one costs the user a "no" while upside down: they stay rare.
    assert wrong / len(answers) <= 0.1  # measured 0.05 (3 of 62)


def test_yes_and_no_are_recognised_when_confirming(recogniser: Recogniser) -> None:
    answers = _as_answers(recogniser, "confirm", {"yes", "no"})
    right = sum(best == label for label, best in answers)
    wrong = sum(best not in (label, NO_COMMAND) for label, best in answers)
    assert right / len(answers) >= 0.9  # measured 1.0 (20 of 20)
    # A yes heard as a number would be taken as a new number (read back below 0.9) rather
    # than as the yes that logs the number: measured 0.
    assert wrong <= 1


def test_speech_and_noise_without_a_command_are_mostly_rejected(
        heard: dict[Path, list[Detection]]) -> None:
    others = _clips(NO_COMMAND)
    accepted = [p for p, _ in others if heard[p]]
    assert len(accepted) / len(others) <= 0.06  # measured 0 of 54 (pocketsphinx: 4)
    false_stops = [p for p, _ in others if any(d.word == "stop" for d in heard[p])]
    assert len(false_stops) <= 2  # measured 0


@pytest.mark.parametrize("mode", ["number", "confirm"])
def test_no_answer_is_taken_from_noise_or_other_words(recogniser: Recogniser, mode: str) -> None:
    """Room tone, taps and words that answer nothing, heard while a pain rating (or its
    yes) is awaited: not one is taken for an answer. A rating is logged only from speech
    that says it (before the rule, on 60 room-tone clips of the development set, 35 gave a
    number and 36 a yes or a number; lab/eval_answers.py)."""
    answers = _as_answers(recogniser, mode, {NO_COMMAND})
    taken = [best for _, best in answers if best not in (NO_COMMAND, "stop")]
    assert taken == []


def _energy_end(samples: np.ndarray) -> float:
    """Where the loud part of a clip ends: last 10 ms frame within 25 dB of the loudest."""
    frames = samples[: len(samples) // 160 * 160].astype(np.float64).reshape(-1, 160)
    level = 10 * np.log10((frames**2).mean(axis=1) + 1)
    loud = np.nonzero(level >= level.max() - 25)[0]
    return (loud[-1] + 1) * 0.01


def test_t_end_lands_near_the_end_of_the_word(heard: dict[Path, list[Detection]]) -> None:
    gaps = []
    for path, _ in _clips("stop"):
        stops = [d for d in heard[path] if d.word == "stop"]
        if stops:
            samples = read_wav(path)
            gaps.append(stops[0].t_end - (0.5 + _energy_end(samples)))  # 0.5 s of padding
    assert len(gaps) >= 20
    assert np.median(np.abs(gaps)) <= 0.2
    # Reported long after the word means late. One stop here is heard only by the
    # segment's closing reading, 1.2 s after it ("Thank you" to Whisper until then, and
    # the stop probe unsure): the rule before the probe missed it altogether.
    late = [gap for gap in gaps if gap > 0.5]
    assert len(late) <= 1 and max(gaps) <= 1.5


def _fan(n: int, seed: int) -> np.ndarray:
    """Steady low-pass noise with a slow beat, like air from a fan (unit RMS)."""
    rng = np.random.default_rng(seed)
    low = np.convolve(rng.standard_normal(n + 64), np.hanning(48), mode="same")[:n]
    fan = low * (1 + 0.2 * np.sin(2 * np.pi * 3.3 * np.arange(n) / 16000))
    return fan / fan.std()


def test_room_tone_is_the_recordings_background_not_its_word() -> None:
    word = read_wav(_clips("stop")[0][0]).astype(np.float64)
    fan = 400 * _fan(len(word) + 16000, seed=3)
    recording = fan.copy()
    recording[8000: 8000 + len(word)] += word
    tone = room_tone(recording.astype(np.int16), 12345).astype(np.float64)
    assert len(tone) == 12345
    assert 0.6 * 400 <= np.sqrt(np.mean(tone**2)) <= 1.3 * 400
    assert np.abs(np.diff(tone)).max() <= np.abs(np.diff(fan)).max()  # joins do not click
    assert not room_tone(np.zeros(16000, dtype=np.int16), 800).any()


def test_stop_is_heard_over_a_fan_that_runs_before_and_after_it(
        recogniser: Recogniser, heard: dict[Path, list[Detection]]) -> None:
    """A fan at 10 dB below the word, on all along: the noise floor settles on the fan
    and the word stands out of it."""
    stops = [p for p, _ in _clips("stop") if any(d.word == "stop" for d in heard[p])][:12]
    caught = 0
    for i, path in enumerate(stops):
        word = read_wav(path).astype(np.float64)
        loud = np.sqrt(np.mean(word**2))
        fan = loud / np.sqrt(10) * _fan(len(word) + 32000, seed=i)
        fan[16000: 16000 + len(word)] += word
        found = run_clip(recogniser, padded(np.clip(fan, -32768, 32767).astype(np.int16)))
        caught += any(d.word == "stop" for d in found)
    assert caught / len(stops) >= 0.66  # measured 11 of 12


def test_a_stop_whisper_and_the_spotter_are_sure_of_is_taken_though_the_probe_doubts(
        recogniser: Recogniser) -> None:
    """Trial 18 of scripts/bench_latency.py, the one stop of its 20 the rule missed before
    `sure`: one speaker's "stop" 2.3 s into a quiet room (noise of RMS 30, seeded as the
    bench seeds it), the room it was recorded in heard all along. Whisper gives "stop"
    up to 0.55 as the first word and the spotter 1.0, while the stop probe (this one and
    the one before) scores every reading under its threshold: with `sure` at infinity
    neither hears it (measured)."""
    clip = read_wav(SPEECH / "clips" / "stop" / "sc2test__7bae88ed_nohash_0.wav")
    at = 36814  # the bench's 2.3009 s, in samples: the readings move with the alignment
    samples = in_quiet_room(clip, at, at + len(clip) + 6 * 16000, seed=18)
    stops = [d.t_end for d in hear_clip(recogniser, samples) if d.word == "stop"]
    word_end = (at + len(clip)) / 16000
    assert stops and stops[0] < word_end + 0.3, (stops, word_end)


def test_a_flickering_room_is_not_speech_and_a_pause_in_it_closes_the_segment() -> None:
    """A recording made over a fan: its background moves by 10 dB from one 10 ms frame to
    the next. Heard for 3 s before and after the word, the room alone must not open a
    segment, and the segment of the word must close soon after it (not at its 3 s limit,
    which would hold back the check for "stop")."""
    from voicecoach.voice.hearing import HearingSettings
    from voicecoach.voice.hearing.levels import FRAME_SAMPLES, Edge, Segmenter

    path = next(p for p, _ in _clips("stop") if p.name.startswith("felix__stop_audio_05-08"))
    word = read_wav(path)
    room = room_tone(word, 3 * 16000)
    frames = np.concatenate([room, word, room])
    frames = frames[: len(frames) // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
    settings = HearingSettings()
    segmenter = Segmenter(settings)
    pushed = [(i * 0.01, segmenter.push(frame)) for i, frame in enumerate(frames)]
    edges = [(t, e) for t, e in pushed if e is not Edge.NONE]
    word_end = 3 + _energy_end(word)
    assert [e for _, e in edges] == [Edge.OPEN, Edge.CLOSE], edges
    (opened, _), (closed, _) = edges
    assert 3 <= opened < word_end
    assert closed - word_end <= settings.hangover_s + 0.2


def test_silence_gives_nothing(recogniser: Recogniser) -> None:
    recogniser.reset()
    quiet = np.random.default_rng(1).normal(0, 30, 16000 * 5).astype("<i2").tobytes()
    found = [d for i in range(0, len(quiet), 960) for d in recogniser.feed(quiet[i: i + 960])]
    assert found + recogniser.flush() == []


def test_chunk_size_does_not_change_what_is_heard() -> None:
    # Fresh recognisers: the streaming decoder's running cepstral mean carries over between
    # streams of one recogniser, as it does through a long session.
    path = _clips("stop")[0][0]
    pcm = padded(read_wav(path))
    with Recogniser() as first:
        in_30ms = run_clip(first, pcm)
    with Recogniser() as other:
        odd = run_clip(other, pcm, step=777)  # odd byte counts split samples across chunks
    assert in_30ms
    assert [d.word for d in odd] == [d.word for d in in_30ms]
    assert [d.t_end for d in odd] == pytest.approx([d.t_end for d in in_30ms], abs=0.031)


def test_number_mode_does_not_hear_yes(recogniser: Recogniser) -> None:
    recogniser.expect("number")
    try:
        words = {d.word for path, _ in _clips("yes")
                 for d in run_clip(recogniser, padded(read_wav(path)))}
    finally:
        recogniser.expect("any")
    assert "yes" not in words


def test_stop_is_heard_in_every_mode(recogniser: Recogniser,
                                     heard: dict[Path, list[Detection]]) -> None:
    path = next(p for p, _ in _clips("stop") if any(d.word == "stop" for d in heard[p]))
    for mode in ("number", "confirm"):
        recogniser.expect(mode)
        try:
            assert "stop" in {d.word for d in run_clip(recogniser, padded(read_wav(path)))}
        finally:
            recogniser.expect("any")


def test_an_unknown_mode_is_refused(recogniser: Recogniser) -> None:
    with pytest.raises(ValueError):
        recogniser.expect("maybe")


def test_stop_in_a_long_stream_is_found_where_it_is(recogniser: Recogniser,
                                                    heard: dict[Path, list[Detection]]) -> None:
    """Ten seconds of low noise, then a stop: one long stream, no reset in between."""
    path = next(p for p, _ in _clips("stop") if any(d.word == "stop" for d in heard[p]))
    rng = np.random.default_rng(2)
    lead = rng.normal(0, 20, 16000 * 10)
    word = read_wav(path).astype(np.float64)
    tail = rng.normal(0, 20, 16000)
    pcm = np.clip(np.concatenate([lead, word, tail]), -32768, 32767).astype("<i2").tobytes()
    found = run_clip(recogniser, pcm)
    stops = [d for d in found if d.word == "stop"]
    assert stops
    end = 10 + _energy_end(word.astype(np.int16))
    assert abs(stops[0].t_end - end) <= 0.3


def test_a_stop_said_straight_after_other_speech_is_read_without_it() -> None:
    """Over a television the segment opens on the voices before a stop; a check for "stop"
    reads the segment's last `stop_read_s`, where the word is, not all of it, where Whisper
    writes the voices first. Here a sentence runs straight into each of 12 real stops.
    Measured: 4 heard reading the last 1.2 s, none reading the whole segment."""
    sentence = read_wav(SPEECH / "clips" / "_unknown" /
                        "pocketsphinx__sense_and_sensibility_01_austen_64kb-0880.wav")
    lead_in = sentence[-round(1.5 * 16000):]
    stops = [path for path, _ in _clips("stop")][:12]

    def heard_with(read_s: float) -> int:
        settings = replace(HearingSettings(), stop_read_s=read_s)
        with Recogniser(settings) as recogniser:
            return sum(any(d.word == "stop" for d in run_clip(
                recogniser, padded(np.concatenate([lead_in, read_wav(path)]))))
                for path in stops)

    tail = heard_with(HearingSettings().stop_read_s)
    assert tail >= 3
    assert heard_with(10.0) < tail


def test_the_same_audio_is_never_read_twice_for_stop() -> None:
    """The spotter's cue and the streaming search may both ask for a check within one
    chunk. Reading the same audio again gives the same reading, and two of those must not
    pass for two agreeing MAYBEs of a StopRule that asks for two: with the rule before the
    stop probe, on the game's talk they made about 1 false stop an hour (31.7 instead of
    32.5 on each half, no stop lost on the noisy sets). In 60 ms chunks one of these
    stops was read twice at one moment before. A rule that never takes a stop has every
    check of each clip read."""
    stream_at: list[float] = []
    reads = repeats = 0
    never = replace(HearingSettings(), stop_rule=NEVER_STOP)
    with ReadingRecogniser(never) as recogniser:

        def seen(_reading: object, _spot_max: float, last: bool) -> None:
            nonlocal reads, repeats
            if not last:
                reads += 1
                repeats += recogniser.now in stream_at
                stream_at.append(recogniser.now)

        recogniser.seen = seen
        for path, _ in _clips("stop"):
            stream_at.clear()
            run_clip(recogniser, padded(read_wav(path)), step=1920)
    assert reads > len(_clips("stop"))
    assert repeats == 0


def test_stop_is_reported_before_the_pause_after_it_ends_the_segment() -> None:
    """A "stop" is decided while the speaker is still silent after it, not by waiting for
    the segment to close: at the latest at the first short pause (pause_check_s). Two
    stops of the set are the exceptions, heard only by the segment's closing reading,
    where the stop probe is surer than at the pause: one 0.3 s after the word, which the
    rule before the probe heard at the pause, and one 1.2 s after it (see
    test_t_end_lands_near_the_end_of_the_word), which that rule never heard."""
    late = []
    with Recogniser() as recogniser:
        settings = recogniser.settings
        for path, _ in _clips("stop"):
            samples = read_wav(path)
            pcm = padded(samples)
            recogniser.reset()
            for i in range(0, len(pcm), 960):
                if any(d.word == "stop" for d in recogniser.feed(pcm[i: i + 960])):
                    late.append(recogniser.now - (0.5 + _energy_end(samples)))
                    break
    assert len(late) >= 25
    # Energy and the decoder may place the word's end 0.1 s apart; a 30 ms chunk on top.
    on_time = sorted(late)[:-2]
    assert max(on_time) < settings.pause_check_s + 0.15 < settings.hangover_s, sorted(late)
    assert max(late) <= 1.5


def test_a_number_model_reads_the_answers_and_never_stop() -> None:
    """With `number_model`, a second judge process reads the segments that answer a
    question, and only those: with it dead, a pain number cannot be heard (an error, not
    silence), while "stop" still is, by tiny.en, in every mode."""
    from voicecoach.voice.hearing.judge_process import JudgeFailed
    from voicecoach.voice.hearing.whisper_reader import model_dir

    seven = padded(read_wav(_clips("seven")[0][0]))
    stop = padded(read_wav(_clips("stop")[0][0]))
    with Recogniser(replace(HearingSettings(), number_model=str(model_dir()))) as recogniser:
        recogniser.expect("number")
        assert [d.word for d in run_clip(recogniser, seven)] == ["seven"]
        assert recogniser._number_judge is not None
        recogniser._number_judge._process.kill()
        recogniser._number_judge._process.wait(timeout=5)
        assert [d.word for d in run_clip(recogniser, stop)] == ["stop"]
        with pytest.raises(JudgeFailed):
            run_clip(recogniser, seven)
        recogniser.expect("any")
        assert [d.word for d in run_clip(recogniser, stop)] == ["stop"]


def test_a_dead_judge_process_is_an_error_not_silence() -> None:
    """If the judge's process dies, the next reading fails loudly (the session turns that
    into "recogniser lost": return upright) instead of hearing nothing."""
    from voicecoach.voice.hearing.judge_process import JudgeFailed

    pcm = padded(read_wav(_clips("stop")[0][0]))
    with Recogniser() as recogniser:
        judge = recogniser._judge._process
        judge.kill()
        judge.wait(timeout=5)
        with pytest.raises(JudgeFailed):
            run_clip(recogniser, pcm)


def test_a_hung_judge_process_fails_within_the_judge_timeout() -> None:
    """A judge that stops answering (frozen here with SIGSTOP) is a lost recogniser after
    `judge_timeout_s`, not a session that waits on it for ever; a run given a longer
    limit rides out the same freeze and still hears the word."""
    import os
    import signal
    import threading
    import time
    from dataclasses import replace

    from voicecoach.voice.hearing import HearingSettings
    from voicecoach.voice.hearing.judge_process import JudgeFailed

    pcm = padded(read_wav(_clips("stop")[0][0]))
    with Recogniser(replace(HearingSettings(), judge_timeout_s=1.0)) as recogniser:
        judge = recogniser._judge.pid
        os.kill(judge, signal.SIGSTOP)
        started = time.monotonic()
        try:
            with pytest.raises(JudgeFailed, match="stopped answering for 1 s"):
                run_clip(recogniser, pcm)
        finally:
            os.kill(judge, signal.SIGCONT)
        assert time.monotonic() - started < 5.0

    with Recogniser(replace(HearingSettings(), judge_timeout_s=30.0)) as recogniser:
        judge = recogniser._judge.pid
        os.kill(judge, signal.SIGSTOP)
        thaw = threading.Timer(2.0, os.kill, (judge, signal.SIGCONT))
        thaw.start()
        try:
            heard = run_clip(recogniser, pcm)
        finally:
            thaw.cancel()
            os.kill(judge, signal.SIGCONT)
        assert "stop" in {d.word for d in heard}


def test_a_broken_recogniser_is_reported_to_the_session_once() -> None:
    """The live link turns the first failure into one DeviceLost("recogniser") (the return
    upright) and stops feeding a recogniser that can no longer answer, rather than
    posting, and logging, a failure for every 30 ms chunk after it."""
    from voicecoach.runtime.hearing_link import HearingLink
    from voicecoach.session.clock import FakeClock
    from voicecoach.session.events import DeviceLost, Event

    pcm = padded(read_wav(_clips("stop")[0][0]))
    posted: list[Event] = []
    with Recogniser() as recogniser:
        judge = recogniser._judge._process
        judge.kill()
        judge.wait(timeout=5)
        link = HearingLink(recogniser, None, FakeClock(), posted.append)
        for i in range(0, len(pcm), 960):
            link.on_chunk(pcm[i: i + 960])
    assert len(posted) == 1, posted
    assert isinstance(posted[0], DeviceLost) and posted[0].device == "recogniser"
    assert link.failed


def _duck_trace(recogniser: Recogniser, pcm: bytes) -> tuple[list[tuple[int, bool]], int | None]:
    """Feed one clip through a HearingLink: its duck calls (chunk index, on) and the chunk
    at which a "stop" was posted to the engine (None: none was)."""
    from voicecoach.runtime.hearing_link import HearingLink
    from voicecoach.session.clock import FakeClock
    from voicecoach.session.events import Event, Heard

    recogniser.reset()
    ducks: list[tuple[int, bool]] = []
    posted: list[Event] = []
    chunk = 0
    stop_at: list[int] = []
    # As a session's engine does: once the stop is heard the return is under way, and a
    # stop no longer acts, so the coach does not duck.
    link = HearingLink(recogniser, None, FakeClock(), posted.append,
                       duck=lambda on: ducks.append((chunk, on)), may_duck=lambda: not stop_at)
    for chunk, i in enumerate(range(0, len(pcm), 960)):
        link.on_chunk(pcm[i: i + 960])
        if not stop_at and any(isinstance(e, Heard) and e.word == "stop" for e in posted):
            stop_at.append(chunk)
    return ducks, stop_at[0] if stop_at else None


def test_the_coach_falls_quiet_when_a_stop_is_suspected_and_resumes_when_it_was_not(
        recogniser: Recogniser) -> None:
    """The duck comes from the spotter's cue, before the judge's word: with many stop
    recordings the coach is ducked chunks before the stop reaches the engine, and never
    once the stop was heard (that would quiet the return). After talk without the word,
    yes and no, the coach is never left ducked."""
    leads = []
    for path, _ in _clips("stop"):
        ducks, stop_at = _duck_trace(recogniser, padded(read_wav(path)))
        if stop_at is None:
            continue
        assert all(at <= stop_at for at, on in ducks if on), (path, ducks, stop_at)
        if ducks and ducks[0][0] <= stop_at:
            leads.append(stop_at - ducks[0][0])
    print(f"\nducked before the stop was heard in {sum(lead > 0 for lead in leads)} of "
          f"{len(_clips('stop'))} stops, by {sorted(leads)} chunks")
    assert sum(lead > 0 for lead in leads) >= FLOOR_DUCKED_EARLY
    # Talk without the word is where the spotter cues falsely (350 times an hour).
    for path, label in _clips():
        if label not in (NO_COMMAND, "yes", "no"):
            continue
        ducks, stop_at = _duck_trace(recogniser, padded(read_wav(path)))
        if stop_at is None:
            assert not ducks or ducks[-1][1] is False, (path, ducks)


FLOOR_DUCKED_EARLY = 8
"""Stops the coach was ducked for before the judge's word (11 of 40 measured; the rest
are heard as the spotter cues, or first by the streaming search)."""
