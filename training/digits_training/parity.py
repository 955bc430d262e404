"""The preprocessing parity fixture: canvas-style drawings with the numpy
reference's MNIST-form output, which the Rust crate must reproduce.

    python -m digits_training.parity --data ../../shared/data/mnist \
        --out ../services/libs/preprocess/tests/fixtures/reference.bin.gz

Format (gzip): b"DPF1", u32 count, then per case u32 width, u32 height,
width*height gray bytes (white ink on black), 784 expected bytes. Integers
are little-endian.
"""

from __future__ import annotations

import argparse
import gzip
import struct
from pathlib import Path

import numpy as np

from . import canvas, idx, preprocess

STYLES = [
    canvas.Style("centred", canvas=(140, 140), digit_height=(80, 120)),
    canvas.Style("thin", canvas=(140, 140), digit_height=(80, 120), edge=(0.7, 0.75)),
    canvas.Style("thick", canvas=(140, 140), digit_height=(80, 120), edge=(0.12, 0.18)),
    canvas.Style("small off-centre", canvas=(120, 160), digit_height=(20, 40), off_centre=True),
    canvas.Style("rotated", canvas=(140, 140), digit_height=(60, 120), rotation_deg=12.0),
    canvas.Style("tiny", canvas=(40, 30), digit_height=(8, 14), off_centre=True),
]


def cases(images: np.ndarray, per_style: int, seed: int = 7):
    """Yields (gray uint8 canvas, expected uint8 28x28) pairs."""
    rng = np.random.default_rng(seed)
    for i, style in enumerate(STYLES):
        ink = canvas.render(images[i * per_style : (i + 1) * per_style], style, rng)
        for one in ink:
            gray = np.clip(np.floor(one * 255 + 0.5), 0, 255).astype(np.uint8)
            yield gray, preprocess.to_mnist(gray / 255.0)


def encode(pairs) -> bytes:
    body = b""
    count = 0
    for gray, expected in pairs:
        h, w = gray.shape
        body += struct.pack("<II", w, h) + gray.tobytes() + expected.tobytes()
        count += 1
    return b"DPF1" + struct.pack("<I", count) + body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-style", type=int, default=8)
    args = parser.parse_args()
    images = idx.read_idx(args.data / idx.FILES["test_images"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(gzip.compress(encode(cases(images, args.per_style)), mtime=0))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
