"""Progress the user and their clinician can see.

- tracking.py  the daily measures (`record_daily`, `daily_entries`), table `daily` (m006)
- history.py   sessions and daily records on one calendar of weeks
- markers.py   the three success markers, each defined in its docstring
- report.py    what a report shows; drawn by chart.py (PNG), page.py (HTML), terminal.py
- export.py    CSV and JSON (schema: export.schema.json); fhir.py: a FHIR R4 Bundle

Sessions are read through `voicecoach.store.Store`. Nothing here imports
matplotlib except chart.py and page.py.
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
