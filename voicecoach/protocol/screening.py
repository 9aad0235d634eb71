"""The safety screening: who should not hang upside down, and what lifts the block.

The questions cover every reason to avoid inversion named in the domain
sources. Any "yes" blocks sessions until a medical clearance is recorded
against that screening; a screening is asked again after 90 days, and again
whenever a question was added since the last one.

`screening_status()` is what `voicecoach start` asks before a session. The
rules (`evaluate`) are pure; storage is in voicecoach/store/screenings.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voicecoach.store import Store

VALID_FOR = timedelta(days=90)
"""A screening is asked again after this long: health changes."""
CLEARANCE_MAX_AGE = timedelta(days=90)
"""A clearance dated more than this before its screening is too old to rely on."""


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    """Asked as a yes/no question."""
    label: str
    """A few words naming the condition, for messages: "high blood pressure"."""
    why: str
    """One sentence: what inversion does to someone with this condition."""
    remedy: str = ""
    """For a question about the table or the user's practice rather than their health: what
    to put right. A doctor's clearance does not lift these; answering no again does."""


QUESTIONS: tuple[Question, ...] = (
    Question("high_blood_pressure",
             "Do you have high blood pressure (a top reading of 140 or more), or take "
             "medicine for it?",
             "high blood pressure",
             "Hanging head-down raises blood pressure further."),
    Question("heart_disease", "Do you have heart disease or any other heart condition?",
             "heart disease",
             "Inversion changes blood pressure and slows the heart rate."),
    Question("circulation", "Do you have a problem with your circulation or blood vessels?",
             "a circulation problem",
             "Blood pools in the head and upper body while inverted."),
    Question("stroke", "Have you ever had a stroke?", "a past stroke",
             "Changes in blood flow to the head can be dangerous after a stroke."),
    Question("blood_clots", "Have you ever had a blood clot, for example in a leg vein?",
             "blood clots",
             "Shifting blood flow and ankle straps can disturb a clot."),
    Question("blood_thinners", "Do you take blood thinners (anticoagulants)?",
             "blood thinners",
             "Raised pressure in the head is riskier when blood clots slowly."),
    Question("glaucoma", "Do you have glaucoma?", "glaucoma",
             "Inversion raises the pressure inside the eyes."),
    Question("eye_disease",
             "Do you have any other eye condition, or has an eye doctor told you to avoid "
             "pressure on your eyes?",
             "an eye condition",
             "Inversion raises the pressure inside the eyes."),
    Question("retinal_detachment", "Have you ever had a detached retina?",
             "a past retinal detachment",
             "Retinal detachment has been reported after inversion-table use."),
    Question("eye_surgery", "Have you ever had cataract surgery, or any eye surgery recently?",
             "eye or cataract surgery",
             "Raised eye pressure can harm an eye that has been operated on."),
    Question("intracranial_pressure",
             "Have you ever been told the pressure inside your skull was too high "
             "(raised intracranial pressure)?",
             "raised intracranial pressure",
             "Hanging head-down raises the pressure inside the skull."),
    Question("ear_problems",
             "Do you have an ear problem, such as an ear infection or an inner-ear disorder?",
             "an ear problem",
             "The inner ear governs balance, and inversion upsets it."),
    Question("vertigo", "Do you get vertigo or spells of dizziness?", "vertigo",
             "Tilting upside down and back can set off dizziness and falls."),
    Question("hernia", "Do you have a hernia, such as an abdominal hernia?", "a hernia",
             "Inversion shifts the weight of the organs onto the abdominal wall."),
    Question("pregnancy", "Are you pregnant, or could you be?", "pregnancy",
             "Inversion is not advised during pregnancy."),
    Question("osteoporosis",
             "Do you have severe osteoporosis (a bone density T-score below -2.5) or "
             "fragile bones?",
             "severe osteoporosis",
             "Fragile bones may not bear the pull and the straps."),
    Question("ankle_leg_injury",
             "Do you have a significant injury or joint problem in your ankles, knees or hips?",
             "an ankle, knee or hip problem",
             "Your whole weight hangs from the ankles through the knees and hips."),
    Question("hypothermia", "Are you recovering from hypothermia (a dangerously low body "
             "temperature)?",
             "hypothermia",
             "It is one of the conditions to check with a doctor before inverting."),
    # The table and the practice: seed 003 asks for both before the first session.
    Question("table_capacity",
             "Is your table rated for less than your weight plus a fifth (20% more than you "
             "weigh), or do you not know its rating?",
             "a table not rated well above your weight",
             "A table near its limit can bend or tip with you on it.",
             remedy="use a table rated for at least 20% more than you weigh"),
    Question("table_certification",
             "Does your table lack a UL, CE or ASTM safety certification mark on its frame?",
             "a table without a safety certification",
             "An uncertified table may have weak ankle locks or an unstable frame.",
             remedy="use a table certified by UL, CE or ASTM"),
    Question("release_not_practised",
             "Have you still to practise opening the ankle locks by hand, and to find the "
             "emergency release, while standing upright?",
             "an ankle release not yet practised",
             "If the locks jam upside down, you need to know at once where the release is.",
             remedy="practise opening the ankle locks by hand, upright, before you invert"),
)
"""Every question is asked so that "no" is the safe answer."""

QUESTIONS_BY_ID: dict[str, Question] = {q.id: q for q in QUESTIONS}


@dataclass(frozen=True)
class ScreeningRecord:
    id: int
    taken_on: date
    answers: Mapping[str, bool]
    """question id -> answered yes."""


@dataclass(frozen=True)
class ClearanceRecord:
    screening_id: int
    cleared_on: date
    cleared_by: str
    note: str = ""


@dataclass(frozen=True)
class Status:
    allowed: bool
    """May a session start?"""
    reason: str
    """One plain sentence saying why (or why not)."""
    needs_screening: bool
    """No screening, an expired one, or one missing a question: `voicecoach screen`."""
    screened_on: date | None = None
    due_on: date | None = None
    """The day the screening must be answered again."""
    flagged: tuple[str, ...] = ()
    """Ids of the questions answered yes."""
    cleared_by: str | None = None
    cleared_on: date | None = None


def _join(labels: list[str]) -> str:
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def flagged_labels(flagged: tuple[str, ...] | list[str]) -> str:
    return _join([QUESTIONS_BY_ID[q].label if q in QUESTIONS_BY_ID else q for q in flagged])


def evaluate(screening: ScreeningRecord | None, clearance: ClearanceRecord | None,
             today: date) -> Status:
    """The screening rules: what the latest screening and its clearance allow today."""
    if screening is None:
        return Status(False, "No safety screening is on record yet: run `voicecoach screen` "
                      "before your first session.", needs_screening=True)
    due = screening.taken_on + VALID_FOR
    flagged = tuple(q.id for q in QUESTIONS if screening.answers.get(q.id))
    common: dict[str, Any] = {"screened_on": screening.taken_on, "due_on": due,
                              "flagged": flagged}
    to_fix = [q for q in QUESTIONS if q.remedy and screening.answers.get(q.id)]
    if today >= due:
        return Status(False, f"Your safety screening of {screening.taken_on} is more than 90 "
                      "days old: run `voicecoach screen` to answer the questions again.",
                      needs_screening=True, **common)
    missing = [q for q in QUESTIONS if q.id not in screening.answers]
    if missing:
        return Status(False, "The safety screening has new questions since "
                      f"{screening.taken_on}: run `voicecoach screen` to answer them.",
                      needs_screening=True, **common)
    if to_fix:
        fixes = "; ".join(q.remedy for q in to_fix)
        return Status(False, f"Before you invert, {fixes}; then run `voicecoach screen` again.",
                      needs_screening=False, **common)
    if not flagged:
        return Status(True, f"Your screening of {screening.taken_on} found no reason to avoid "
                      f"inversion; it is due again on {due}.", needs_screening=False, **common)
    what = flagged_labels(flagged)
    if clearance is None or clearance.screening_id != screening.id:
        return Status(False, f"You answered yes to {what}, so sessions stay blocked until a "
                      "doctor or physical therapist clears you; record it with "
                      "`voicecoach clearance --by NAME`.", needs_screening=False, **common)
    return Status(True, f"{clearance.cleared_by} cleared you for inversion on "
                  f"{clearance.cleared_on} (you answered yes to {what}); the screening is due "
                  f"again on {due}.",
                  needs_screening=False, cleared_by=clearance.cleared_by,
                  cleared_on=clearance.cleared_on, **common)


def parse_answers(text: str) -> dict[str, bool]:
    """`--answers`: "none", or the comma-separated ids of the questions answered yes.

    Every other question is answered no. Raises ValueError naming unknown ids.
    """
    text = text.strip()
    if text.lower() == "none":
        return {q.id: False for q in QUESTIONS}
    yes = {part.strip() for part in text.split(",") if part.strip()}
    if not yes:
        raise ValueError("give the ids of the questions you answer yes to, or 'none'")
    unknown = sorted(yes - QUESTIONS_BY_ID.keys())
    if unknown:
        raise ValueError(f"unknown question id {', '.join(unknown)}; "
                         f"known: {', '.join(QUESTIONS_BY_ID)}")
    return {q.id: q.id in yes for q in QUESTIONS}


def check_clearance_date(cleared_on: date, screening: ScreeningRecord | None,
                         today: date) -> str | None:
    """Why a clearance dated `cleared_on` cannot be recorded, or None if it can."""
    if cleared_on > today:
        return f"the clearance date {cleared_on} is in the future"
    if screening is not None and cleared_on < screening.taken_on - CLEARANCE_MAX_AGE:
        return (f"a clearance from {cleared_on} is more than 90 days older than your "
                f"screening of {screening.taken_on}; ask your doctor again")
    return None


# ---- with the store ------------------------------------------------------------------


def screening_status(store_or_db_path: Store | Path | str, today: date) -> Status:
    """What the stored screening allows today: `allowed`, `reason`, `needs_screening`.

    Takes an open Store or the path of a database (created and migrated if needed).
    """
    from voicecoach.store.connection import side_connection
    from voicecoach.store.screenings import latest_clearance, latest_screening

    with side_connection(store_or_db_path) as db:
        screening = latest_screening(db)
        clearance = latest_clearance(db, screening.id) if screening is not None else None
    return evaluate(screening, clearance, today)


def latest_clearance_on(store_or_db_path: Store | Path | str) -> date | None:
    """The date of the most recent clearance of any screening, or None."""
    from voicecoach.store.connection import side_connection
    from voicecoach.store.screenings import latest_clearance_date

    with side_connection(store_or_db_path) as db:
        return latest_clearance_date(db)


def record_screening(store_or_db_path: Store | Path | str, answers: Mapping[str, bool],
                     today: date) -> Status:
    """Store a full set of answers taken today; return the status it gives."""
    from voicecoach.store.connection import side_connection
    from voicecoach.store.screenings import save_screening

    missing = [q.id for q in QUESTIONS if q.id not in answers]
    if missing:
        raise ValueError(f"no answer for {', '.join(missing)}")
    unknown = sorted(set(answers) - QUESTIONS_BY_ID.keys())
    if unknown:
        raise ValueError(f"unknown question id {', '.join(unknown)}")
    with side_connection(store_or_db_path) as db:
        screening_id = save_screening(db, today, answers)
    return evaluate(ScreeningRecord(screening_id, today, dict(answers)), None, today)


def record_clearance(store_or_db_path: Store | Path | str, cleared_by: str, cleared_on: date,
                     note: str, today: date, *, unflagged_reason: str | None = None) -> Status:
    """Record a medical clearance against the latest screening; return the new status.

    `unflagged_reason` says what else the clearance is for when the screening found
    nothing (dizziness that lasted after a session). Raises ValueError (one plain
    sentence) when there is nothing valid to attach it to.
    """
    from voicecoach.store.connection import side_connection
    from voicecoach.store.screenings import latest_screening, save_clearance

    if not cleared_by.strip():
        raise ValueError("say who cleared you (--by), for example your doctor's name")
    with side_connection(store_or_db_path) as db:
        screening = latest_screening(db)
        status = evaluate(screening, None, today)
        if screening is None or status.needs_screening:
            raise ValueError("answer the safety screening first (`voicecoach screen`): a "
                             "clearance is recorded against the answers it clears")
        problem = check_clearance_date(cleared_on, screening, today)
        if problem:
            raise ValueError(problem)
        if not status.flagged and unflagged_reason is None:
            raise ValueError(f"your screening of {screening.taken_on} found nothing that needs "
                             "clearing")
        note = note.strip()
        if not status.flagged and unflagged_reason is not None:
            note = f"{unflagged_reason}: {note}" if note else unflagged_reason
        clearance = ClearanceRecord(screening.id, cleared_on, cleared_by.strip(), note)
        save_clearance(db, clearance)
    return evaluate(screening, clearance, today)
