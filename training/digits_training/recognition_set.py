"""Writes the held-out drawings that measure recognition beyond one clean digit.

    python -m digits_training.recognition_set --data ../../shared/data/mnist --out runs/recognition

Three kinds, none of them ever trained on:

- ``digit``: MNIST *test* digits drawn in every canvas style of ``canvas.STYLES``;
- ``number-2`` to ``number-4``: numbers of MNIST test digits, each drawn
  canvas-style at one height, side by side with small gaps (4-20 % of the
  digit height) and a little vertical wobble;
- ``not-a-digit``: the held-out family of ``nondigits`` (generators that
  training never used), drawn at canvas size;
- ``first-touch``: what the pad holds at the first touch of the pen and
  while the first stroke of a 4, 5 or 7 is being drawn: taps, and the
  first stroke (a 4's corner, a 5's or a 7's top bar) cut off anywhere along
  its length, with a pen 8-24 px wide on a 280x280 pad. None of them may be
  shown as a digit at 80 % confidence or more (``FIRST_TOUCH_SURE``).

The Rust evaluator (``cargo run --release -p digits-inference --example
recognition -- DIR``) reads them through the serving pipeline (splitting,
MNIST form, model, verdict). Files: ``drawings.bin`` (8-bit gray images, ink
high, one after another) and ``index.json`` (per drawing: kind, what it
shows, width, height, byte offset).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from . import canvas, idx, nondigits
from .nondigits import Pen

NUMBER_STYLE = canvas.Style("one digit of a number", canvas=(160, 160), digit_height=(70, 110), edge=(0.15, 0.7))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="folder with the MNIST IDX .gz files")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--digits", type=int, default=1000, help="test digits per canvas style")
    p.add_argument("--numbers", type=int, default=500, help="numbers of each length 2, 3 and 4")
    p.add_argument("--non-digits", type=int, default=1800, help="held-out non-digit drawings")
    p.add_argument("--first-touches", type=int, default=1200, help="taps and first strokes cut short")
    p.add_argument("--seed", type=int, default=20261127)
    return p.parse_args(argv)


def number(digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draws MNIST digits (uint8 ``[L,28,28]``) side by side as one canvas drawing (float ink)."""
    # One height for the whole number, as a person writes it.
    height = rng.uniform(*NUMBER_STYLE.digit_height)
    style = canvas.Style(NUMBER_STYLE.name, NUMBER_STYLE.canvas, (height, height), 6.0, NUMBER_STYLE.edge)
    inks = canvas.render(digits, style, rng)
    crops = []
    for ink in inks:
        cols = np.flatnonzero((ink > 0.1).any(0))
        rows_any = (ink > 0.1).any(1)
        crops.append((ink[:, cols[0] : cols[-1] + 1], rows_any))
    gaps = rng.uniform(0.04, 0.2, size=len(crops)) * height
    width = int(sum(c.shape[1] for c, _ in crops) + gaps[:-1].sum() + 40)
    out = np.zeros((160 + 40, width), dtype=np.float32)
    x = 20.0
    for (crop, _), gap in zip(crops, gaps):
        dy = int(round(rng.uniform(-0.05, 0.05) * height)) + 20
        xi = int(round(x))
        region = out[dy : dy + crop.shape[0], xi : xi + crop.shape[1]]
        np.maximum(region, crop[: region.shape[0], : region.shape[1]], out=region)
        x += crop.shape[1] + gap
    return out


PAD = 280


def first_touch(rng: np.random.Generator) -> tuple[str, np.ndarray]:
    """A tap, or the first stroke of a 4, 5 or 7 drawn up to a random point, on a 280x280 pad."""
    pen = rng.uniform(8, 24)
    h = rng.uniform(120, 220)
    w = rng.uniform(0.45, 0.75) * h
    cx, cy = rng.uniform(0.35, 0.65, size=2) * PAD
    kind = rng.integers(4)
    if kind == 0:
        name, points = "tap", [(cx, cy), (cx + rng.normal(0, 0.15) * pen, cy + rng.normal(0, 0.15) * pen)]
    elif kind == 1:  # a 4: down (straight or slanted), then across
        x0 = cx - w / 2 + rng.uniform(0, 0.4) * w
        corner = (cx - w / 2, cy + rng.uniform(0.0, 0.2) * h)
        name, points = "first stroke of a 4", [(x0, cy - h / 2), corner, (cx + w / 2, corner[1])]
    elif kind == 2:  # a 5's top bar, drawn right to left, or its stem first
        if rng.random() < 0.5:
            name, points = "first stroke of a 5", [(cx + w / 2, cy - h / 2), (cx - w / 3, cy - h / 2 + rng.normal(0, 3))]
        else:
            name, points = "first stroke of a 5", [(cx - w / 3, cy - h / 2), (cx - w / 3 - rng.uniform(0, 8), cy)]
    else:  # a 7's top bar
        name, points = "first stroke of a 7", [(cx - w / 2, cy - h / 2), (cx + w / 2, cy - h / 2 + rng.normal(0, 4))]
    # Cut off anywhere along its length (a tap is whole).
    if name != "tap":
        dense = np.concatenate([np.linspace(a, b, 50) for a, b in zip(points[:-1], points[1:])])
        points = [tuple(p) for p in dense[: max(1, int(rng.uniform(0, 1) * len(dense)))]]
    drawing = Pen(rng, PAD)
    drawing.stroke(points, pen)
    return name, drawing.ink()


def crop(gray: np.ndarray, margin: int = 8) -> np.ndarray:
    """The drawing cut to its ink and a margin: the serving pipeline crops to
    the ink anyway, and the files stay small."""
    ys, xs = np.nonzero(gray)
    if len(ys) == 0:
        return gray
    y0, x0 = max(ys.min() - margin, 0), max(xs.min() - margin, 0)
    return gray[y0 : ys.max() + margin + 1, x0 : xs.max() + margin + 1]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    test = idx.load_mnist(args.data)
    images, labels = test.test_images, test.test_labels
    drawings: list[tuple[str, str, np.ndarray]] = []

    pick = rng.permutation(len(images))[: args.digits]
    for style in canvas.STYLES:
        for ink, label in zip(canvas.render(images[pick], style, rng), labels[pick]):
            drawings.append((f"digit: {style.name}", str(int(label)), ink))
    for length in (2, 3, 4):
        for _ in range(args.numbers):
            chosen = rng.integers(len(images), size=length)
            text = "".join(str(int(d)) for d in labels[chosen])
            drawings.append((f"number-{length}", text, number(images[chosen], rng)))
    gens = list(nondigits.family("held_out").items())
    for i in range(args.non_digits):
        kind, gen = gens[i % len(gens)]
        drawings.append((f"not-a-digit: {kind}", "", gen(rng)))

    for _ in range(args.first_touches):
        kind, ink = first_touch(rng)
        drawings.append((f"first-touch: {kind}", "", ink))

    args.out.mkdir(parents=True, exist_ok=True)
    index, offset = [], 0
    with open(args.out / "drawings.bin", "wb") as f:
        for kind, expected, ink in drawings:
            gray = crop(np.clip(np.round(ink * 255), 0, 255).astype(np.uint8))
            f.write(gray.tobytes())
            index.append({"kind": kind, "expected": expected, "width": gray.shape[1], "height": gray.shape[0], "offset": offset})
            offset += gray.size
    (args.out / "index.json").write_text(json.dumps({"seed": args.seed, "drawings": index}))
    print(f"{len(index)} drawings -> {args.out}", flush=True)


if __name__ == "__main__":
    main()
