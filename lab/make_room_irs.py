"""Impulse responses of a small room for the echo tests (tests/data/rooms/), made with
pyroomacoustics' image-source method and written as 32-bit float WAVs at 16 kHz.

    python lab/make_room_irs.py [--out tests/data/rooms]

A 4.5 x 3.5 x 2.6 m room; a laptop on a table, its speaker 5 cm from its microphone;
the user's mouth 2 m away, 0.5 m above the floor (head down on the table). Two
reverberation times (RT60 0.4 s and 0.6 s). Kept as files so that the tests need no
pyroomacoustics: importing it imports sounddevice, whose own PortAudio then hides
PyAudio's devices from the rest of the test process.
"""

from __future__ import annotations

import argparse
import struct
from pathlib import Path

import numpy as np
import pyroomacoustics as pra

RATE = 16000


def float_wav(path: Path, samples: np.ndarray) -> None:
    data = np.asarray(samples, dtype="<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, RATE, RATE * 4, 4, 32)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data"
            + struct.pack("<I", len(data)) + data)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("tests/data/rooms"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    dims = [4.5, 3.5, 2.6]
    for rt60 in (0.4, 0.6):
        absorption, max_order = pra.inverse_sabine(rt60, dims)
        room = pra.ShoeBox(dims, fs=RATE, materials=pra.Material(absorption),
                           max_order=min(max_order, 20))
        room.add_source([2.05, 1.5, 0.73])  # the laptop's speaker
        room.add_source([2.0, 3.3, 0.5])  # the user's mouth, 2 m away near the floor
        room.add_microphone([2.0, 1.5, 0.75])
        room.compute_rir()
        tag = f"rt{round(rt60 * 100)}"
        float_wav(args.out / f"laptop_{tag}_speaker.wav", room.rir[0][0])
        float_wav(args.out / f"laptop_{tag}_mouth_2m.wav", room.rir[0][1])
        print(f"{tag}: speaker {len(room.rir[0][0])} taps, mouth {len(room.rir[0][1])} taps")


if __name__ == "__main__":
    main()
