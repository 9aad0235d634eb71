"""voicecoach's hearing: a streaming, offline recogniser for a small command vocabulary."""

from voicecoach.voice.hearing.recogniser import Detection, Recogniser
from voicecoach.voice.hearing.settings import HearingSettings

__all__ = ["Detection", "HearingSettings", "Recogniser"]
