"""Mix labelled clips with noise at given signal-to-noise ratios, for `voicecoach eval`.

    python lab/make_noisy_set.py MANIFEST.csv --out /tmp/noisy [--snr 20 10 5]
        [--noise babble fan] [--lead 1.0]

For each noise kind and SNR it writes OUT/<kind>-<snr>db/manifest.csv and the
mixed clips (same labels). Babble is the sum of four other speech clips from
the same manifest (label "_" clips, never the clip itself); fan noise is white
noise low-pass filtered with a slow beat, like air from a fan. The SNR is
measured against the clip's loud part (frames within 30 dB of its loudest),
so a short word in a long clip is not drowned more than stated.

The noise runs from --lead seconds before the clip (over the clip's own room
tone) to as long after it, as a television or a fan does: it does not start
with the word. The manifest's lead_s column says where the clip begins.
--lead 0 makes the mixes the shipped stop spotter was fitted on (noise over
the clip alone).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from voicecoach.voice.hearing.evaluate import room_tone
from voicecoach.voice.pcm import read_wav, to_int16, write_wav

RATE = 16000
LEAD_S = 1.0
"""Noise before and after each clip (seconds). The stop spotter hears 0.9 s back from a
word's end: with noise only over the clip, what it heard before a word was the eval's
padding (a tenth of a second of the mix, looped), and it caught stops that real babble
before them hid (measured: spotter fitted with more talk, 89.8% of the stops at 0.5
with the looped padding, 84.4% with real babble before the clip)."""


def active_power(x: np.ndarray) -> float:
    frames = x[: len(x) // 160 * 160].astype(np.float64).reshape(-1, 160)
    if len(frames) == 0:
        return float(np.mean(x.astype(np.float64) ** 2) + 1e-9)
    power = (frames**2).mean(axis=1)
    loud = power >= power.max() / 1000  # within 30 dB of the loudest frame
    return float(power[loud].mean() + 1e-9)


def fan_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    white = rng.standard_normal(n + 64)
    kernel = np.hanning(48)
    low = np.convolve(white, kernel / kernel.sum(), mode="same")[:n]
    beat = 1 + 0.2 * np.sin(2 * np.pi * 3.3 * np.arange(n) / RATE)
    hum = 0.3 * np.sin(2 * np.pi * 120 * np.arange(n) / RATE)
    return low * beat + hum * low.std()


def babble(n: int, speech: list[np.ndarray], rng: np.random.Generator, skip: int) -> np.ndarray:
    out = np.zeros(n)
    choices = [i for i in range(len(speech)) if i != skip]
    for i in rng.choice(choices, size=min(4, len(choices)), replace=False):
        s = speech[i].astype(np.float64)
        s = s / np.sqrt(active_power(s))
        start = int(rng.integers(0, len(s)))
        out += np.resize(np.roll(s, -start), n)
    return out


def over_room_tone(clip: np.ndarray, lead: int) -> np.ndarray:
    """The clip with `lead` samples of its own room tone before and after it."""
    room = room_tone(clip, lead).astype(np.float64)
    return np.concatenate([room, clip.astype(np.float64), room])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--snr", type=float, nargs="+", default=[20.0, 10.0, 5.0])
    parser.add_argument("--noise", nargs="+", choices=["babble", "fan"], default=["babble", "fan"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--lead", type=float, default=LEAD_S, metavar="SECONDS",
                        help=f"noise before and after each clip (default {LEAD_S})")
    args = parser.parse_args()
    with args.manifest.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    base = args.manifest.parent
    audio = [read_wav(base / r["path"]) for r in rows]
    speech_idx = [i for i, r in enumerate(rows)
                  if r["label"] == "_" and "_silence" not in r["path"]]
    speech = [audio[i] for i in speech_idx]
    # The same for every kind and SNR, so made once.
    signals = [over_room_tone(x, round(args.lead * RATE)) for x in audio]
    for kind in args.noise:
        for snr in args.snr:
            rng = np.random.default_rng(args.seed)
            folder = args.out / f"{kind}-{snr:g}db"
            (folder / "clips").mkdir(parents=True, exist_ok=True)
            with (folder / "manifest.csv").open("w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["path", "label", "lead_s"])
                for i, (row, signal) in enumerate(zip(rows, signals, strict=True)):
                    if kind == "fan":
                        noise = fan_noise(len(signal), rng)
                    else:
                        skip = speech_idx.index(i) if i in speech_idx else -1
                        noise = babble(len(signal), speech, rng, skip)
                    scale = np.sqrt(active_power(signal) / (np.mean(noise**2) + 1e-12)
                                    / 10 ** (snr / 10))
                    mixed = signal + scale * noise
                    peak = np.abs(mixed).max()
                    if peak > 32767:
                        mixed *= 32767 / peak
                    name = f"clips/{i:05d}.wav"
                    write_wav(folder / name, to_int16(mixed))
                    writer.writerow([name, row["label"], args.lead])
            print(f"{folder}: {len(rows)} clips")


if __name__ == "__main__":
    main()
