"""The wiring of every kind of session: devices or files, threads, the real clock.

The engine (voicecoach/session/) is pure: events in, actions out. This package
builds what it runs in: the loop that feeds it (runner.py), the recorder that
logs what it does (recorder.py), the link from the recogniser to its events
(hearing_link.py), and one function for each kind of session (pipelines.py):
typed, from audio files, and on a live microphone and speaker. Devices are made
by factory functions, so tests hand in their own.
"""
