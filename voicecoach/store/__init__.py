"""voicecoach's SQLite store: sessions, events, pain ratings, and their recovery."""

from voicecoach.store.errors import StoreError
from voicecoach.store.journal import RecoveryJournal
from voicecoach.store.store import Store

__all__ = ["RecoveryJournal", "Store", "StoreError"]
