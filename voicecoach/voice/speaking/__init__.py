"""Speech out: render text, then play it in short chunks so it can be cut at once.

The interface is the runner's own `Speaker` protocol (voicecoach.runtime.ports),
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

from __future__ import annotations

from typing import TYPE_CHECKING

from voicecoach.voice.lazy_exports import lazy_exports

# The names are loaded when first used, not when the package is: the speech engine's own
# process (render_worker) lives in this package, and importing the speakers here cost it
# numpy and rich for nothing (measured: 20 MB of its 27).
_EXPORTS = {
    "Playing": "voicecoach.runtime.ports", "Speaker": "voicecoach.runtime.ports",
    "DeviceSpeaker": "voicecoach.voice.speaking.device_speaker",
    "SpeakerUnavailable": "voicecoach.voice.speaking.device_speaker",
    "EARCONS": "voicecoach.voice.speaking.earcons",
    "earcon": "voicecoach.voice.speaking.earcons",
    "PromptLibrary": "voicecoach.voice.speaking.prerendered",
    "prompts_dir": "voicecoach.voice.speaking.prerendered",
    "DEFAULT_VOICE": "voicecoach.voice.speaking.render",
    "Renderer": "voicecoach.voice.speaking.render",
    "SpeechEngineError": "voicecoach.voice.speaking.render",
    "VoiceSettings": "voicecoach.voice.speaking.render",
    "TextSpeaker": "voicecoach.voice.speaking.text_speaker",
    "TimelineSpeaker": "voicecoach.voice.speaking.timeline_speaker",
}

if TYPE_CHECKING:
    from voicecoach.runtime.ports import Playing, Speaker
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

__getattr__ = lazy_exports(__name__, _EXPORTS)
