"""Speech out: render text, then play it in short chunks so it can be cut at once.

The interface is the runner's own `Speaker` protocol (voicecoach.session.ports),
re-exported here, so there is exactly one definition of it:

    say(prompt_id, text, *, urgent=False)   non-blocking; urgent cuts what plays first
    cut()                                   silence within one chunk, drop the queue
    alert(sound, repeat=False)              an earcon; sound "" stops a repeating alert
    now_playing() -> Playing | None         what sounds now, on the speaker's clock
    idle() -> bool                          nothing sounding or queued
    close()

Implementations: DeviceSpeaker (a sound card), TimelineSpeaker (a WAV on the
session clock, for --audio-out), TextSpeaker (the terminal, for --text).
"""

from voicecoach.session.ports import Playing, Speaker
from voicecoach.voice.speaking.device_speaker import DeviceSpeaker, SpeakerUnavailable
from voicecoach.voice.speaking.earcons import EARCONS, earcon
from voicecoach.voice.speaking.prerendered import PromptLibrary, prompts_dir
from voicecoach.voice.speaking.render import (
    DEFAULT_VOICE,
    Renderer,
    SpeechEngineError,
    VoiceSettings,
)
from voicecoach.voice.speaking.text_speaker import TextSpeaker
from voicecoach.voice.speaking.timeline_speaker import TimelineSpeaker

__all__ = [
    "DEFAULT_VOICE", "EARCONS", "DeviceSpeaker", "Playing", "PromptLibrary", "Renderer",
    "Speaker", "SpeakerUnavailable", "SpeechEngineError", "TextSpeaker", "TimelineSpeaker",
    "VoiceSettings", "earcon", "prompts_dir",
]
