"""A FHIR R4 Bundle (type "collection") of Observations, for a clinician's system.

- Every pain rating: LOINC 72514-3 (pain severity, 0-10 verbal numeric rating),
  valueInteger, effectiveDateTime = session start + the rating's offset, and a
  note saying when in the session it was given and what was heard.
- Every session: LOINC 55411-3 (exercise duration) in minutes (UCUM "min") over
  the session's period, as HL7's Physical Activity IG codes an activity's length,
  with the time spent inverted (in holds) as a component.
- Every tracked day: toe-touch gap (cm), morning stiffness (min), pain
  medication doses, night pain (yes/no) and the note, coded by text only,
  as no standard code fits them exactly.

Each Observation's subject is a placeholder reference (default
"Patient/voicecoach-user") for the receiving system to map to its patient.
Entry ids are derived from the records, so exporting twice gives the same ids.
Plain dicts, no FHIR library needed; tests validate them with fhir.resources' R4B models.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

from voicecoach.progress.export import ExportData
from voicecoach.progress.history import SessionPoint
from voicecoach.progress.tracking import DailyEntry

DEFAULT_PATIENT = "Patient/voicecoach-user"

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

PAIN_SEVERITY = {"system": LOINC, "code": "72514-3",
                 "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"}
EXERCISE_DURATION = {"system": LOINC, "code": "55411-3", "display": "Exercise duration"}

_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:voicecoach:fhir-export")

_PHASES = {"before": "before the session", "after": "after the session",
           "hold": "during a hold"}


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code, "display": display}]}]


def _instant(when: dt.datetime) -> str:
    return when.isoformat(timespec="seconds")


def _status(session: SessionPoint) -> str:
    return "preliminary" if session.status == "running" else "final"


def _entry(key: str, resource: dict[str, Any]) -> dict[str, Any]:
    ident = uuid.uuid5(_ID_NAMESPACE, key)
    return {"fullUrl": f"urn:uuid:{ident}", "resource": {"id": str(ident), **resource}}


def _pain_observation(session: SessionPoint, rating: dict[str, Any], index: int,
                      subject: dict[str, Any]) -> dict[str, Any]:
    when = session.started + dt.timedelta(seconds=float(rating["t"]))
    phase = str(rating["phase"])
    note = f"Rated {_PHASES.get(phase, phase)} (voicecoach session {session.id}, " \
           f"program {session.program})"
    if rating.get("transcript"):
        note += f"; heard: {rating['transcript']!r}"
    if rating.get("confidence") is not None:
        note += f", recogniser confidence {float(rating['confidence']):.2f}"
    return _entry(f"pain/{session.id}/{index}", {
        "resourceType": "Observation",
        "status": _status(session),
        "category": _category("survey", "Survey"),
        "code": {"coding": [PAIN_SEVERITY], "text": "Pain severity (0-10)"},
        "subject": subject,
        "effectiveDateTime": _instant(when),
        "valueInteger": int(rating["value"]),
        "note": [{"text": note}],
    })


def _duration_observation(session: SessionPoint, subject: dict[str, Any]) -> dict[str, Any]:
    seconds = session.duration_s or 0.0
    end = session.started + dt.timedelta(seconds=seconds)
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": _status(session),
        "category": _category("activity", "Activity"),
        "code": {"coding": [EXERCISE_DURATION], "text": "Inversion-table session duration"},
        "subject": subject,
        "effectivePeriod": {"start": _instant(session.started), "end": _instant(end)},
        "valueQuantity": {"value": round(seconds / 60.0, 2), "unit": "min", "system": UCUM,
                          "code": "min"},
        "note": [{"text": f"voicecoach session {session.id}, program {session.program}: "
                          f"{session.status.replace('_', ' ')}"
                          + (f" ({session.end_reason})" if session.end_reason else "")}],
    }
    if session.held_s is not None:
        resource["component"] = [{
            "code": {"text": "Time inverted (in holds)"},
            "valueQuantity": {"value": round(session.held_s / 60.0, 2), "unit": "min",
                              "system": UCUM, "code": "min"},
        }]
    return _entry(f"duration/{session.id}", resource)


def _daily_observations(entry: DailyEntry, subject: dict[str, Any]) -> list[dict[str, Any]]:
    day = entry.date.isoformat()
    values: list[tuple[str, str, dict[str, Any]]] = []
    if entry.toe_touch_cm is not None:
        values.append(("toe-touch", "Toe touch: gap between fingertips and toes in a standing"
                       " forward bend", {"valueQuantity": {
                           "value": entry.toe_touch_cm, "unit": "cm", "system": UCUM,
                           "code": "cm"}}))
    if entry.stiffness_min is not None:
        values.append(("stiffness", "Morning stiffness duration", {"valueQuantity": {
            "value": entry.stiffness_min, "unit": "min", "system": UCUM, "code": "min"}}))
    if entry.medication_doses is not None:
        values.append(("doses", "Pain medication doses taken",
                       {"valueInteger": entry.medication_doses}))
    if entry.night_pain is not None:
        values.append(("night-pain", "Pain at night", {"valueBoolean": entry.night_pain}))
    if entry.note:
        values.append(("note", "Daily note", {"valueString": entry.note}))
    return [_entry(f"daily/{day}/{key}", {
        "resourceType": "Observation",
        "status": "final",
        "category": _category("survey", "Survey"),
        "code": {"text": text},
        "subject": subject,
        "effectiveDateTime": day,
        **value,
    }) for key, text, value in values]


PATIENT_REFERENCE = re.compile(
    r"(?:https?://[^\s/]+(?:/[^\s/]+)*/)?Patient/[A-Za-z0-9\-.]{1,64}"
    r"|urn:uuid:[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
"""A FHIR R4 Reference to a Patient: relative (Patient/<id>, an id of 1-64 letters,
digits, '-' and '.'), absolute (https://server/fhir/Patient/<id>), or a urn:uuid."""


def check_patient_reference(text: str) -> str:
    """`text` if it is a FHIR reference to a Patient; ValueError saying the forms if not."""
    if PATIENT_REFERENCE.fullmatch(text) is None:
        raise ValueError(f"{text!r} is not a FHIR Patient reference: use Patient/<id> (id of"
                         " 1-64 letters, digits, '-' or '.'), a URL ending in"
                         " /Patient/<id>, or urn:uuid:<uuid>")
    return text


def to_fhir_bundle(data: ExportData, *, patient: str = DEFAULT_PATIENT,
                   exported_at: dt.datetime | None = None) -> dict[str, Any]:
    """The Bundle as a JSON-ready dict."""
    subject = {"reference": patient, "display": "voicecoach user"}
    pain_by_session: dict[int, list[dict[str, Any]]] = {}
    for row in data.pain:
        pain_by_session.setdefault(int(row["session_id"]), []).append(row)
    entries: list[dict[str, Any]] = []
    for session in data.history.sessions:
        for index, rating in enumerate(pain_by_session.get(session.id, [])):
            entries.append(_pain_observation(session, rating, index, subject))
        entries.append(_duration_observation(session, subject))
    for entry in data.history.daily:
        entries.extend(_daily_observations(entry, subject))
    when = exported_at or dt.datetime.now(dt.timezone.utc)
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection",
                              "timestamp": _instant(when)}
    if entries:  # FHIR allows no empty arrays
        bundle["entry"] = entries
    return bundle


def to_fhir_json(data: ExportData, *, patient: str = DEFAULT_PATIENT,
                 exported_at: dt.datetime | None = None) -> str:
    return json.dumps(to_fhir_bundle(data, patient=patient, exported_at=exported_at),
                      indent=2, ensure_ascii=False) + "\n"
