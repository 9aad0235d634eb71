"""Why a session ended early, in the words the user and their clinician read: at the end
of a session, in its history and on the progress report."""

from __future__ import annotations

END_REASONS: dict[str, str] = {
    "stop": "you asked to stop",
    "pain_rise": "your pain went up",
    "no_answer": "a question went unanswered",
    "symptom": "you named a warning sign",
    "help": "you asked for help",
    "dizzy": "you felt dizzy",
    "device_lost": "a device stopped working",
}
"""Each early end reason the engine logs, as a clause: "the session ended early because ..."."""
