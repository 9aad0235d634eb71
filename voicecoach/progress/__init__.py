"""Progress the user and their clinician can see: daily tracking, success markers,
the report (chart, web page, terminal summary) and exports (CSV, JSON, FHIR).

Reads the sessions through `voicecoach.store.Store`; the daily measures live in
the `daily` table (migration m006) and are written by `tracking.record_daily`.
"""

from voicecoach.progress.history import History, load_history
from voicecoach.progress.markers import MarkerResult, evaluate_markers
from voicecoach.progress.tracking import DailyEntry, TrackingError, daily_entries, record_daily

__all__ = [
    "DailyEntry",
    "History",
    "MarkerResult",
    "TrackingError",
    "daily_entries",
    "evaluate_markers",
    "load_history",
    "record_daily",
]
