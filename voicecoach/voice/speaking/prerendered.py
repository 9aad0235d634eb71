"""The fixed prompts, pre-rendered: they play at once, and even when the speech engine is broken.

Where they live: `voicecoach/audio_prompts/` inside the package (the repo's
top-level `audio_prompts` is a symlink to it). Shipping them as package data
means one lookup, `importlib.resources`, works the same from a clone, an
editable install (`pip install -e .`) and a wheel. VOICECOACH_PROMPTS_DIR
points elsewhere (tests, trying a new voice).

`manifest.json` maps prompt id -> {"file", "text", "sha256"}; sha256 is
`render.speech_hash(text, voice settings)`, so a changed prompt text or voice
shows up as out of date (scripts/render_prompts.py rebuilds them).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from voicecoach.voice.pcm import AudioFormatError, read_wav
from voicecoach.voice.speaking.render import VoiceSettings, speech_hash

logger = logging.getLogger(__name__)

PROMPTS_DIR_ENV = "VOICECOACH_PROMPTS_DIR"
MANIFEST = "manifest.json"


def prompts_dir() -> Path:
    override = os.environ.get(PROMPTS_DIR_ENV)
    if override:
        return Path(override)
    return Path(str(resources.files("voicecoach") / "audio_prompts"))


@dataclass(frozen=True)
class ManifestEntry:
    file: str
    text: str
    sha256: str


def read_manifest(directory: Path) -> dict[str, ManifestEntry]:
    path = directory / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        logger.error("cannot read %s: %s", path, exc)
        return {}
    return {pid: ManifestEntry(e["file"], e["text"], e["sha256"]) for pid, e in raw.items()}


def write_manifest(directory: Path, entries: dict[str, ManifestEntry]) -> None:
    data = {pid: {"file": e.file, "text": e.text, "sha256": e.sha256}
            for pid, e in sorted(entries.items())}
    (directory / MANIFEST).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")


def outdated(entries: dict[str, ManifestEntry], fixed: dict[str, str],
             settings: VoiceSettings, directory: Path) -> list[str]:
    """Prompt ids whose recording is missing, stale, or no longer a fixed prompt."""
    problems = []
    for pid, text in fixed.items():
        entry = entries.get(pid)
        if (entry is None or entry.text != text or entry.sha256 != speech_hash(text, settings)
                or not (directory / entry.file).is_file()):
            problems.append(pid)
    problems.extend(pid for pid in entries if pid not in fixed)
    return sorted(problems)


class PromptLibrary:
    """The recordings in one prompts directory, loaded on first use and kept in memory."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or prompts_dir()
        self.entries = read_manifest(self.directory)
        self._loaded: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        if not self.entries:
            logger.warning("no pre-rendered prompts in %s", self.directory)

    def lookup(self, prompt_id: str, text: str) -> np.ndarray | None:
        """The recording of this prompt, only if it says exactly this text."""
        entry = self.entries.get(prompt_id)
        if entry is None or entry.text != text:
            return None
        return self._load(prompt_id)

    def fallback(self, prompt_id: str) -> np.ndarray | None:
        """The recording for this id whatever its text: better than silence when the engine
        is down."""
        if prompt_id not in self.entries:
            return None
        return self._load(prompt_id)

    def preload(self) -> int:
        """Load every recording now, so an urgent prompt never waits on the disk."""
        return sum(self._load(pid) is not None for pid in self.entries)

    def _load(self, prompt_id: str) -> np.ndarray | None:
        with self._lock:
            if prompt_id in self._loaded:
                return self._loaded[prompt_id]
            path = self.directory / self.entries[prompt_id].file
            try:
                samples = read_wav(path)
            except (OSError, AudioFormatError) as exc:
                logger.error("pre-rendered prompt %s unreadable: %s", prompt_id, exc)
                return None
            self._loaded[prompt_id] = samples
            return samples
