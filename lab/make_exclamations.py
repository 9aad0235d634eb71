"""Acted shouts without "stop", from a game's voice packs in Debian: false stops on exclamations.

    python lab/make_exclamations.py --out DIR [--deb FILE]
    python lab/make_no_command_stream.py DIR/manifest.csv --out DIR/talk
    voicecoach eval DIR/talk/manifest.csv

The false stops the stop probe was fitted to turn down were loud exclamations ("Ah!",
"Don't!"). Hedgewars (Debian package hedgewars-data; its sounds are GFDL-1.3) ships
15 voice packs of its hedgehogs' shouts ("Ow!", "Stupid!", "Leave me alone!",
"Incoming!"), most in English, some in Spanish, Polish, Russian and Ukrainian, each
acted by a different voice. Nothing in voicecoach learnt from them, so joined into
minute-long files of shouting they are a check on voices, words and delivery that
the stop probe never heard. This script

- downloads the package with `apt-get download` (or takes --deb) and unpacks its
  voice packs;
- decodes each shout with sox (Ogg Vorbis) to 16 kHz mono WAV;
- leaves out every shout whose Whisper transcript has "stop", and says so;
- writes DIR/manifest.csv (path, label "_", speaker: the pack) and DIR/left-out.csv.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

from make_game_talk import (
    SOX,
    STOP,
    TO_WAV_16K,
    SetupError,
    check_sox,
    transcript_of,
    unpack_package,
)

from voicecoach.voice.hearing.whisper_reader import WhisperReader
from voicecoach.voice.pcm import RATE, read_wav

PACKAGE = "hedgewars-data"
VOICES = "usr/share/games/hedgewars/Data/Sounds/voices"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--deb", type=Path, help=f"a downloaded {PACKAGE} .deb")
    args = parser.parse_args()
    if args.deb is not None and not args.deb.is_file():
        parser.error(f"no such file: {args.deb}")
    clips = args.out / "clips"
    clips.mkdir(parents=True, exist_ok=True)
    whisper = WhisperReader()
    kept: list[tuple[str, str, str]] = []
    left_out: list[tuple[str, str]] = []
    seconds = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        try:
            check_sox("vorbis", "libsox-fmt-base")
            unpack_package(PACKAGE, args.deb, Path(tmp), VOICES)
        except (SetupError, subprocess.CalledProcessError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        for shout in sorted((Path(tmp) / VOICES).glob("*/*.ogg")):
            pack = shout.parent.name
            path = clips / f"{pack}-{shout.stem}.wav"
            subprocess.run([*SOX, str(shout), *TO_WAV_16K, str(path)], check=True)
            samples = read_wav(path)
            transcript = transcript_of(whisper, samples)
            if STOP.search(transcript):
                left_out.append((path.name, transcript))
                path.unlink()
                continue
            kept.append((f"clips/{path.name}", pack, transcript))
            seconds += len(samples) / RATE
    with (args.out / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "speaker", "transcript"])
        writer.writerows([path, "_", pack, text] for path, pack, text in kept)
    with (args.out / "left-out.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "transcript"])
        writer.writerows(left_out)
    print(f"{len(kept)} shouts, {seconds / 60:.1f} min in {args.out}; {len(left_out)} left out "
          "(Whisper wrote 'stop')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
