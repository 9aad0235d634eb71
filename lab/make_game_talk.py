"""Hours of real talk without "stop", from a voiced game in Debian: for false stops per hour.

    python lab/make_game_talk.py --out DIR [--minutes 120] [--deb FILE]
        [--channel-copy MANIFEST] [--after GAME]

The development set holds only 17 minutes of speech without a command, too little to
tell 2 false stops an hour from 4. Flight of the Amazon Queen (Debian package
flight-of-the-amazon-queen; freeware, its licence allows redistribution with its
readme) ships the talkie version: 6,745 lines spoken by its voice cast, about 4.6
hours, stored as 11 kHz, 16 kbit/s MP3 in queen.1c. This script

- downloads the package with `apt-get download` (or takes --deb), and reads the
  resource table of queen.1c (the layout ScummVM's queen engine reads: "QTBL", a
  version string, the compression, then name, bundle, offset and size per entry);
- decodes the spoken lines (.SB) with sox, which needs Debian's libsox-fmt-mp3,
  to 16 kHz mono WAV in a random but fixed order, until --minutes of speech;
- leaves out every line that may say "stop": all lines of a cutscene whose
  script has the word (cutscene lines are named after their script), and every
  line whose Whisper transcript has it or reads like one of the game's sentences
  that do (dialogue lines are numbered, not named, so only the sound tells);
- writes DIR/manifest.csv (path,label "_"), for make_no_command_stream.py, and
  DIR/left-out.csv with each left-out line and why.

With --after GAME it goes on where the run that made GAME stopped: the same
order, without the lines GAME kept or left out. So more of the game's talk can
be learnt (fit_stop_rule.py --more-game-talk) while GAME's stays unheard by
what learns it.

With --channel-copy MANIFEST it also writes DIR/stop-channel/: the "stop" clips
of MANIFEST put through the game's channel (11,025 Hz, 16 kbit/s MP3, back to
16 kHz). A false stop rate on this channel means something only if "stop" is
still heard through it.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicecoach.voice.hearing.whisper_reader import WhisperReader, words
from voicecoach.voice.pcm import read_wav

PACKAGE = "flight-of-the-amazon-queen"
DATA_FILE = "usr/share/scummvm/flight-of-the-amazon-queen/queen.1c"
GAME_RATE = 11025
RATE = 16000
SOX = ["sox", "-V1", "-R"]
"""sox, quiet and repeatable: its dither is seeded the same on every run, so the same
package makes the same talk (without -R every run made slightly different audio)."""
TO_WAV_16K = ["-r", str(RATE), "-c", "1", "-b", "16"]
"""sox's options for the recogniser's input: 16 kHz mono 16-bit."""
GAME_KBPS = 16
STOP = re.compile(r"\bstop", re.IGNORECASE)
SIMILAR = 0.6
"""A transcript this close (difflib ratio) to a game sentence with "stop" is taken to be it."""


class SetupError(RuntimeError):
    """Something this script needs is missing."""


@dataclass(frozen=True)
class Entry:
    name: str
    offset: int
    size: int


def read_table(data: bytes) -> list[Entry]:
    if data[:4] != b"QTBL":
        raise SetupError("queen.1c does not start with a QTBL resource table")
    count = struct.unpack(">H", data[13:15])[0]
    entries, at = [], 15
    for _ in range(count):
        name = data[at:at + 12].split(b"\0")[0].decode("ascii")
        offset, size = struct.unpack(">II", data[at + 13:at + 21])
        entries.append(Entry(name, offset, size))
        at += 21
    return entries


def unpack_package(package: str, deb: Path | None, work: Path, *members: str) -> None:
    """`members` of a Debian package (downloaded with apt-get, or `deb`) unpacked under
    `work`; a member that is a folder brings all it holds."""
    if deb is None:
        done = subprocess.run(["apt-get", "download", package], cwd=work,
                              capture_output=True, text=True)
        debs = list(work.glob(f"{package}_*.deb"))
        if not debs:
            raise SetupError(f"apt-get download {package} failed: {done.stderr.strip()}")
        deb = debs[0]
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True,
                         check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(work), *(f"./{m}" for m in members)], input=tar,
                   check=True)


def game_data(deb: Path | None, work: Path) -> bytes:
    unpack_package(PACKAGE, deb, work, DATA_FILE)
    return (work / DATA_FILE).read_bytes()


def sentences_with_stop(data: bytes, entries: list[Entry]) -> tuple[list[str], set[str]]:
    """The game's sentences that have "stop", and the cutscenes whose script has one."""
    sentences, scenes = [], set()
    for entry in entries:
        if not entry.name.endswith((".DOG", ".CUT", ".JAS")):
            continue
        blob = data[entry.offset:entry.offset + entry.size]
        for text in re.findall(rb"[ -~]{4,}", blob):
            # "*NN" and "*AB" are the scripts' pause and animation codes between sentences.
            for sentence in re.split(r"\*[0-9A-Z]{2}", text.decode("ascii")):
                if STOP.search(sentence):
                    sentences.append(normalise(sentence))
                    if entry.name.endswith(".CUT"):
                        scenes.add(entry.name.split(".")[0])
    return sentences, scenes


def normalise(text: str) -> str:
    return " ".join(words(text))


def check_sox(kind: str = "mp3", package: str = "libsox-fmt-mp3") -> None:
    """sox, able to read files of `kind` (a sox format name; Debian's `package` adds it)."""
    if shutil.which("sox") is None:
        raise SetupError(f"sox is not installed (apt-get install sox {package})")
    formats = subprocess.run(["sox", "-h"], capture_output=True, text=True).stdout
    if f" {kind} " not in formats.replace("\n", " "):
        raise SetupError(f"sox cannot read {kind} files (apt-get install {package})")


def transcript_of(whisper: WhisperReader, samples: np.ndarray) -> str:
    """Whisper's transcript of one spoken line; speech runs under 8 tokens a second,
    which gives the line's budget."""
    return whisper.transcribe(samples.tobytes(), 4 + int(8 * len(samples) / RATE))


def decode(mp3: bytes, out: Path) -> None:
    with tempfile.NamedTemporaryFile(suffix=".mp3") as handle:
        handle.write(mp3)
        handle.flush()
        subprocess.run([*SOX, "-t", "mp3", handle.name, *TO_WAV_16K, str(out)],
                       check=True)


def through_channel(source: Path, out: Path) -> None:
    """16 kHz WAV -> the game's 11 kHz MP3 -> 16 kHz WAV."""
    with tempfile.TemporaryDirectory() as tmp:
        mp3 = Path(tmp) / "clip.mp3"
        subprocess.run([*SOX, str(source), "-r", str(GAME_RATE), "-C", str(GAME_KBPS),
                        str(mp3)], check=True)
        subprocess.run([*SOX, str(mp3), *TO_WAV_16K, str(out)], check=True)


def why_left_out(name: str, transcript: str, scenes: set[str], sentences: list[str]) -> str:
    if name.startswith("C") and name[:4].rstrip("_") in scenes:
        return f"cutscene {name[:4].rstrip('_')} has 'stop' in its script"
    heard = normalise(transcript)
    if STOP.search(heard):
        return "transcript has 'stop'"
    for sentence in sentences:
        start = heard[:len(sentence) + 10]
        if difflib.SequenceMatcher(None, start, sentence).ratio() >= SIMILAR:
            return f"transcript reads like '{sentence}'"
    return ""


def channel_copy(manifest: Path, out: Path) -> int:
    """MANIFEST's "stop" clips through the channel, keeping their other columns (the voice)."""
    with manifest.open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or ["path", "label"]
        rows = [r for r in reader if r["label"] == "stop"]
    out.mkdir(parents=True, exist_ok=True)
    with (out / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for number, row in enumerate(rows):
            name = f"stop-{number:04d}.wav"
            through_channel(manifest.parent / row["path"], out / name)
            writer.writerow({**row, "path": name})
    return len(rows)


def lines_of(game: Path) -> set[str]:
    """The lines an earlier run kept or left out (names of their WAV files)."""
    with (game / "manifest.csv").open(newline="") as handle:
        kept = {Path(row["path"]).name for row in csv.DictReader(handle)}
    with (game / "left-out.csv").open(newline="") as handle:
        return kept | {row["line"] for row in csv.DictReader(handle)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=120.0,
                        help="minutes of spoken lines to keep (default 120)")
    parser.add_argument("--deb", type=Path, help=f"a downloaded {PACKAGE} .deb")
    parser.add_argument("--channel-copy", type=Path, metavar="MANIFEST",
                        help="also put MANIFEST's 'stop' clips through the game's channel")
    parser.add_argument("--after", type=Path, metavar="GAME",
                        help="go on after the lines of an earlier run's --out GAME")
    args = parser.parse_args()
    if args.deb is not None and not args.deb.is_file():
        parser.error(f"no such file: {args.deb}")
    try:
        seen = lines_of(args.after) if args.after else set()
    except (OSError, KeyError, csv.Error) as exc:
        parser.error(f"--after {args.after}: not the folder of a run of this script ({exc})")
    try:
        check_sox()
        args.out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            data = game_data(args.deb, Path(tmp))
        entries = read_table(data)
    except (SetupError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sentences, scenes = sentences_with_stop(data, entries)
    lines = [e for e in entries if e.name.endswith(".SB")]
    order = np.random.default_rng(7).permutation(len(lines))
    # Whisper tiny.en, the model the recogniser's judge uses.
    whisper = WhisperReader()
    clips_dir = args.out / "clips"
    clips_dir.mkdir(exist_ok=True)
    kept: list[tuple[str, str]] = []
    left_out: list[tuple[str, str, str]] = []
    seconds = 0.0
    for index in order:
        if seconds >= args.minutes * 60:
            break
        entry = lines[index]
        path = clips_dir / f"{entry.name.split('.')[0]}.wav"
        if path.name in seen:
            continue
        decode(data[entry.offset:entry.offset + entry.size], path)
        samples = read_wav(path)
        transcript = transcript_of(whisper, samples)
        reason = why_left_out(entry.name, transcript, scenes, sentences)
        if reason:
            left_out.append((path.name, transcript, reason))
            path.unlink()
            continue
        kept.append((f"clips/{path.name}", transcript))
        seconds += len(samples) / RATE
        if len(kept) % 200 == 0:
            print(f"{len(kept)} lines, {seconds / 60:.1f} min", file=sys.stderr, flush=True)
    with (args.out / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "transcript"])
        writer.writerows([path, "_", text] for path, text in kept)
    with (args.out / "left-out.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "transcript", "why"])
        writer.writerows(left_out)
    print(f"{len(kept)} lines, {seconds / 60:.1f} min of talk in {args.out}; "
          f"{len(left_out)} left out ({len(sentences)} game sentences have 'stop')")
    if args.channel_copy:
        count = channel_copy(args.channel_copy, args.out / "stop-channel")
        print(f"{count} 'stop' clips through the game's channel in {args.out / 'stop-channel'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
