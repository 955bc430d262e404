"""Writes photo-like pictures of handwritten digits on paper, as JPEG files.

    python -m digits_training.photos --data ../../shared/data/mnist --out runs/photos

What a person has when they "start from a picture" is a phone photo of
paper, not a canvas drawing. Each picture here is made the way such a photo
is: MNIST *test* digits (never trained on; training never sees photos at
all) written in a pen of some colour and width onto paper of some tone and
grain, lit unevenly, sometimes half in a soft shadow, tilted up to ±10°,
blurred and noisy like a small sensor, and saved as JPEG at quality 60-95,
480 to 4,000 pixels on the longer side. A quarter are stored sideways with an
EXIF orientation tag, as phones do; a viewer that honours the tag shows them
upright.

Kinds: ``photo: digit`` (one digit) and ``photo: number-2`` to ``-4``.
Files: ``NNNNN.jpg`` and ``index.json`` (per picture: file, kind, what it
shows, its size as displayed, the EXIF orientation and how it was made).
The Rust evaluator (``cargo xtask recognition``) reads them through the
serving pipeline.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter

from . import canvas, idx

PAPERS = {
    "white": (244, 244, 240),
    "cream": (240, 230, 205),
    "recycled gray": (212, 210, 204),
    "blue-tinted": (226, 234, 244),
    "yellow note": (245, 236, 160),
}
PENS = {
    "black felt-tip": ((25, 25, 30), (0.9, 1.0)),
    "blue ballpoint": ((30, 50, 140), (0.75, 1.0)),
    "dark blue gel": ((20, 30, 90), (0.85, 1.0)),
    "red": ((170, 25, 35), (0.8, 1.0)),
    "green": ((25, 110, 55), (0.8, 1.0)),
    "pencil": ((80, 80, 85), (0.45, 0.75)),
}
# Where the stroke edge sits on the enlarged MNIST digit: low is a wide marker, high a fine pen.
PEN_WIDTH = (0.15, 0.7)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="folder with the MNIST IDX .gz files")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--digits", type=int, default=600, help="photos of one digit")
    p.add_argument("--numbers", type=int, default=100, help="photos of numbers of each length 2, 3 and 4")
    p.add_argument("--min-side", type=int, default=480, help="shortest longer side, px")
    p.add_argument("--max-side", type=int, default=4000, help="longest longer side, px")
    p.add_argument("--seed", type=int, default=20261205)
    return p.parse_args(argv)


def ink_of(digits: np.ndarray, height: int, rng: np.random.Generator) -> np.ndarray:
    """One pen's ink (float ``[H,W]``, 1 = full) of MNIST digits written side by side, ``height`` px tall."""
    edge = rng.uniform(*PEN_WIDTH)
    style = canvas.Style("photo", canvas=(240, 240), digit_height=(200, 200), edge=(edge, edge))
    crops = []
    for ink in canvas.render(digits, style, rng):
        rows, cols = np.flatnonzero((ink > 0.1).any(1)), np.flatnonzero((ink > 0.1).any(0))
        crops.append(ink[:, cols[0] : cols[-1] + 1] if len(cols) else ink)
    gaps = rng.uniform(0.08, 0.3, size=len(crops)) * 200
    width = int(sum(c.shape[1] for c in crops) + gaps[:-1].sum()) + 2
    line = np.zeros((260, width), dtype=np.float32)
    x = 0.0
    for crop, gap in zip(crops, gaps):
        dy = 10 + int(round(rng.uniform(-0.04, 0.04) * 200))
        xi = int(round(x))
        region = line[dy : dy + crop.shape[0], xi : xi + crop.shape[1]]
        np.maximum(region, crop[: region.shape[0], : region.shape[1]], out=region)
        x += crop.shape[1] + gap
    rows = np.flatnonzero((line > 0.1).any(1))
    line = line[max(rows[0] - 4, 0) : rows[-1] + 5] if len(rows) else line
    scale = height / line.shape[0]
    img = Image.fromarray(np.clip(line * 255, 0, 255).astype(np.uint8))
    img = img.resize((max(1, round(line.shape[1] * scale)), max(1, round(line.shape[0] * scale))), Image.BILINEAR)
    img = img.rotate(rng.uniform(-10, 10), resample=Image.BILINEAR, expand=True)
    return np.asarray(img, dtype=np.float32) / 255.0


def smooth_noise(shape: tuple[int, int], cells: int, rng: np.random.Generator) -> np.ndarray:
    """Low-frequency noise in about [-1, 1]: a random grid of ``cells`` upsampled smoothly."""
    grid = torch.from_numpy(rng.standard_normal((1, 1, cells, cells)).astype(np.float32))
    return F.interpolate(grid, size=shape, mode="bicubic", align_corners=False)[0, 0].numpy()


def light(shape: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """How much light falls on each pixel (1 = full): a gradient, vignetting and perhaps a soft shadow."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    y, x = y / max(h, w), x / max(h, w)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = x * np.cos(angle) + y * np.sin(angle)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    gradient = rng.uniform(0.0, 0.4)
    vignette = rng.uniform(0.0, 0.25)
    cx, cy = w / max(h, w) / 2, h / max(h, w) / 2
    lit = (1 - gradient * ramp) * (1 - vignette * ((x - cx) ** 2 + (y - cy) ** 2) / (cx**2 + cy**2))
    made = {"gradient": round(gradient, 3), "vignette": round(vignette, 3), "shadow": 0.0}
    if rng.uniform() < 0.5:
        # A soft-edged shadow over part of the page (a hand, the phone).
        darkness = rng.uniform(0.15, 0.45)
        softness = rng.uniform(0.02, 0.08)
        a = rng.uniform(0, 2 * np.pi)
        d = (x - cx) * np.cos(a) + (y - cy) * np.sin(a) - rng.uniform(-0.2, 0.3)
        lit = lit * (1 - darkness / (1 + np.exp(-d / softness)))
        made["shadow"] = round(darkness, 3)
    return lit.astype(np.float32), made


def photo(digits: np.ndarray, sides: tuple[int, int], rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """A photo (RGB, as displayed) of ``digits`` written on paper, its longer side within ``sides``."""
    longer = int(np.exp(rng.uniform(np.log(sides[0]), np.log(sides[1]))))
    landscape = rng.uniform() < 0.5
    shape = (longer * 3 // 4, longer) if landscape else (longer, longer * 3 // 4)
    h, w = shape
    # One digit fills 15-60 % of the frame's shorter side; a number is as tall, and fits the width.
    height = int(rng.uniform(0.15, 0.6) * min(h, w))
    ink = ink_of(digits, height, rng)
    if ink.shape[1] > 0.9 * w or ink.shape[0] > 0.9 * h:
        s = min(0.9 * w / ink.shape[1], 0.9 * h / ink.shape[0])
        img = Image.fromarray(np.clip(ink * 255, 0, 255).astype(np.uint8))
        ink = np.asarray(img.resize((max(1, int(ink.shape[1] * s)), max(1, int(ink.shape[0] * s))), Image.BILINEAR)) / 255.0
    top = int(rng.uniform(0, h - ink.shape[0]))
    left = int(rng.uniform(0, w - ink.shape[1]))
    coverage = np.zeros(shape, dtype=np.float32)
    coverage[top : top + ink.shape[0], left : left + ink.shape[1]] = ink

    paper_name = list(PAPERS)[rng.integers(len(PAPERS))]
    pen_name = list(PENS)[rng.integers(len(PENS))]
    pen, opacity = PENS[pen_name]
    paper = np.array(PAPERS[paper_name], dtype=np.float32) * rng.uniform(0.93, 1.03, size=3)
    grain = 1 + rng.uniform(0.01, 0.04) * smooth_noise(shape, 48, rng) + rng.uniform(0.005, 0.02) * rng.standard_normal(shape)
    alpha = (coverage * rng.uniform(*opacity))[..., None]
    surface = (paper * grain[..., None]) * (1 - alpha) + np.array(pen, dtype=np.float32) * alpha
    lit, made = light(shape, rng)
    exposure = rng.uniform(0.7, 1.05)
    rgb = surface * (lit * exposure)[..., None]
    # The lens's softness and the sensor's noise, both growing with the resolution.
    blur = rng.uniform(0.4, 1.2) * max(longer / 1000, 1)
    img = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    img = img.filter(ImageFilter.GaussianBlur(blur))
    noisy = np.asarray(img, dtype=np.float32) + rng.normal(0, rng.uniform(1.0, 5.0), size=(h, w, 3))
    img = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    made.update(
        {"paper": paper_name, "pen": pen_name, "exposure": round(exposure, 3), "blur": round(blur, 2), "digit_height": height}
    )
    return img, made


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    test = idx.load_mnist(args.data)
    images, labels = test.test_images, test.test_labels
    plan = [("photo: digit", 1)] * args.digits + [(f"photo: number-{n}", n) for n in (2, 3, 4) for _ in range(args.numbers)]
    args.out.mkdir(parents=True, exist_ok=True)
    index = []
    for i, (kind, length) in enumerate(plan):
        chosen = rng.integers(len(images), size=length)
        img, made = photo(images[chosen], (args.min_side, args.max_side), rng)
        quality = int(rng.integers(60, 96))
        # Phones store many photos sideways and say so in EXIF (6: turn clockwise, 8: anticlockwise).
        orientation = int(rng.choice([1, 1, 1, 1, 1, 1, 6, 8]))
        stored = {1: img, 6: img.transpose(Image.Transpose.ROTATE_90), 8: img.transpose(Image.Transpose.ROTATE_270)}[orientation]
        exif = Image.Exif()
        if orientation != 1:
            exif[0x0112] = orientation
        buf = io.BytesIO()
        stored.save(buf, "JPEG", quality=quality, exif=exif.tobytes())
        name = f"{i:05d}.jpg"
        (args.out / name).write_bytes(buf.getvalue())
        made.update({"quality": quality, "bytes": len(buf.getvalue())})
        index.append(
            {
                "file": name,
                "kind": kind,
                "expected": "".join(str(int(d)) for d in labels[chosen]),
                "width": img.width,
                "height": img.height,
                "orientation": orientation,
                "made": made,
            }
        )
    (args.out / "index.json").write_text(json.dumps({"seed": args.seed, "photos": index}))
    print(f"{len(index)} photos -> {args.out}", flush=True)


if __name__ == "__main__":
    main()
