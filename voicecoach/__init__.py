"""voicecoach: a hands-free, voice-guided companion for inversion-table sessions."""

__version__ = "0.1.0"
