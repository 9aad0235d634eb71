#!/usr/bin/env python3
"""Rebuild the pre-rendered fixed prompts (voicecoach/audio_prompts/) from FIXED_PROMPTS.

Run after changing any text in voicecoach/session/prompts.py FIXED_PROMPTS, or
the default voice. Only prompts whose text or voice changed are rendered again;
recordings of prompts that no longer exist are removed.

    python scripts/render_prompts.py            # rebuild what is out of date
    python scripts/render_prompts.py --check    # exit 1 if anything is out of date
    python scripts/render_prompts.py --all      # render every prompt again
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from voicecoach.session.prompts import FIXED_PROMPTS
from voicecoach.voice.pcm import write_wav
from voicecoach.voice.speaking.prerendered import (
    ManifestEntry,
    outdated,
    prompts_dir,
    read_manifest,
    write_manifest,
)
from voicecoach.voice.speaking.render import DEFAULT_VOICE, Renderer, speech_hash


def rebuild(directory: Path, fixed: dict[str, str], everything: bool = False) -> list[str]:
    """Render what is missing or stale into directory; returns the ids rendered."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = read_manifest(directory)
    stale = set(outdated(entries, fixed, DEFAULT_VOICE, directory))
    todo = sorted(fixed) if everything else sorted(pid for pid in stale if pid in fixed)
    with tempfile.TemporaryDirectory() as cache, Renderer(DEFAULT_VOICE,
                                                         cache_dir=Path(cache)) as renderer:
        for pid in todo:
            text = fixed[pid]
            file = f"{pid}.wav"
            write_wav(directory / file, renderer.render(text))
            entries[pid] = ManifestEntry(file, text, speech_hash(text, DEFAULT_VOICE))
            print(f"rendered {pid}: {text}")
    for pid in [pid for pid in entries if pid not in fixed]:
        (directory / entries.pop(pid).file).unlink(missing_ok=True)
        print(f"removed {pid}")
    write_manifest(directory, entries)
    return todo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if stale")
    parser.add_argument("--all", action="store_true", help="render every prompt again")
    parser.add_argument("--dir", type=Path, default=None, help="prompts directory")
    args = parser.parse_args()
    directory = args.dir or prompts_dir()
    if args.check:
        stale = outdated(read_manifest(directory), FIXED_PROMPTS, DEFAULT_VOICE, directory)
        for pid in stale:
            print(f"out of date: {pid}")
        return 1 if stale else 0
    rendered = rebuild(directory, FIXED_PROMPTS, everything=args.all)
    print(f"{len(rendered)} rendered, {len(FIXED_PROMPTS)} prompts in {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
