"""voicecoach's hearing: a streaming, offline recogniser for a small command vocabulary."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voicecoach.voice.lazy_exports import lazy_exports

# The names are loaded when first used, not when the package is: the judge's own process
# (judge_worker) lives in this package and needs none of the recogniser's other parts.
_EXPORTS = {
    "Detection": "voicecoach.voice.hearing.recogniser",
    "Recogniser": "voicecoach.voice.hearing.recogniser",
    "HearingSettings": "voicecoach.voice.hearing.settings",
}

if TYPE_CHECKING:
    from voicecoach.voice.hearing.recogniser import Detection, Recogniser
    from voicecoach.voice.hearing.settings import HearingSettings

__all__ = ["Detection", "HearingSettings", "Recogniser"]

__getattr__ = lazy_exports(__name__, _EXPORTS)
