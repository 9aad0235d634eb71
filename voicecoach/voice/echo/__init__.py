"""The coach's own voice at its microphone: simulated for file sessions (`room`), cancelled
before the recogniser hears it (`canceller`)."""

from voicecoach.voice.echo.canceller import EchoCanceller, EchoCancellerUnavailable
from voicecoach.voice.echo.room import EchoRoom, load_impulse_response

__all__ = ["EchoCanceller", "EchoCancellerUnavailable", "EchoRoom", "load_impulse_response"]
