"""Digits drawn with the writing habits MNIST has few of, as canvas strokes.

MNIST was written by American students and employees in the 1990s. People
on a drawing pad write some digits otherwise, and the first model read them
worse (a clean 1 with a flag at the top: "1, not sure (69 %)"):

- **1** with a flag at the top, with a flag and a base serif, or a plain
  bar; and thick-marker 1s, whose stroke is a quarter of their height;
- **7** crossed in the middle, or with its top bar's end hooked down;
- **4** open (the two strokes do not meet at the top) and closed (a
  triangle);
- **9** with a straight tail, and with a curved one.

Each is drawn with the stroke renderer of ``nondigits`` (solid,
anti-aliased, round caps) at a random size, slant, jitter and width, from a
hairline to a thick marker, then put into MNIST form by the serving
procedure. ``make`` returns them with their labels; training adds a share of
them to every epoch and the augmentation warps them further.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from . import preprocess
from .nondigits import CANVAS, Pen, Points, Strokes, _circle, _jitter

Habit = Callable[[np.random.Generator, float], Strokes]


def _one_flag(rng: np.random.Generator, h: float) -> Strokes:
    top, bottom = (0.0, -h / 2), (0.0, h / 2)
    flag = (-rng.uniform(0.2, 0.4) * h, -h / 2 + rng.uniform(0.12, 0.3) * h)
    strokes = [[flag, top, bottom]] if rng.random() < 0.6 else [[flag, top], [top, bottom]]
    if rng.random() < 0.45:  # a base serif
        half = rng.uniform(0.15, 0.3) * h
        strokes.append([(-half, h / 2), (half, h / 2)])
    return strokes


def _one_bar(rng: np.random.Generator, h: float) -> Strokes:
    return [[(0.0, -h / 2), (rng.uniform(-0.05, 0.05) * h, h / 2)]]


def _seven(rng: np.random.Generator, h: float) -> Strokes:
    w = rng.uniform(0.45, 0.7) * h
    top_left, top_right = (-w / 2, -h / 2), (w / 2, -h / 2)
    foot = (rng.uniform(-0.2, 0.05) * w, h / 2)
    start = [(-w / 2, -h / 2 + rng.uniform(0.08, 0.18) * h), top_left] if rng.random() < 0.35 else [top_left]
    strokes = [start + [top_right, foot]]
    if rng.random() < 0.7:  # crossed
        mid_x = (top_right[0] + foot[0]) / 2
        half = rng.uniform(0.18, 0.3) * h
        y = rng.uniform(-0.05, 0.1) * h
        strokes.append([(mid_x - half, y), (mid_x + half, y)])
    return strokes


def _four(rng: np.random.Generator, h: float) -> Strokes:
    w = rng.uniform(0.5, 0.75) * h
    bar_y = rng.uniform(0.05, 0.25) * h
    stem_x = rng.uniform(0.1, 0.25) * w
    if rng.random() < 0.5:  # open: an L, then the stem
        left = (-w / 2, -h / 2 + rng.uniform(0, 0.1) * h)
        first = [left, (-w / 2 + rng.uniform(-0.05, 0.1) * w, bar_y), (w / 2, bar_y)]
        stem = [(stem_x, -h / 2 + rng.uniform(0.1, 0.25) * h), (stem_x, h / 2)]
    else:  # closed: a triangle from the stem's top
        first = [(stem_x, -h / 2), (-w / 2, bar_y), (w / 2, bar_y)]
        stem = [(stem_x, -h / 2), (stem_x, h / 2)]
    return [first, stem]


def _nine(rng: np.random.Generator, h: float) -> Strokes:
    r = rng.uniform(0.2, 0.28) * h
    cy = -h / 2 + r
    loop = _circle(0.0, cy, r * rng.uniform(0.9, 1.2), r, n=28)
    right = (r * 1.0, cy)
    if rng.random() < 0.6:  # a straight tail
        tail = [right, (r * rng.uniform(0.6, 1.1), h / 2)]
    else:  # a curved one
        tail = [right] + [(r * math.cos(t), h / 2 - r * 0.8 + r * 0.8 * math.sin(t)) for t in np.linspace(0, math.pi, 8)]
    return [loop, tail]


HABITS: dict[str, tuple[int, Habit, float]] = {
    # name: (digit, strokes, share of the draws)
    "1 with a flag (and a base serif)": (1, _one_flag, 0.28),
    "1 as a bar, thick marker": (1, _one_bar, 0.12),
    "7 crossed or hooked": (7, _seven, 0.22),
    "4 open or closed": (4, _four, 0.2),
    "9 with a straight or curved tail": (9, _nine, 0.18),
}


def _place(strokes: Strokes, rng: np.random.Generator, h: float) -> Strokes:
    """Slants, tilts and jitters ``strokes`` (centred on 0) onto the canvas."""
    slant = rng.uniform(-0.3, 0.3)
    angle = math.radians(rng.uniform(-10, 10))
    cos, sin = math.cos(angle), math.sin(angle)
    c = CANVAS / 2
    out = []
    for s in strokes:
        pts: Points = [(x - slant * y, y) for x, y in s]
        pts = [(c + x * cos - y * sin, c + x * sin + y * cos) for x, y in pts]
        out.append(_jitter(pts, rng, 0.012 * h))
    return out


def draw(rng: np.random.Generator, habit: Habit, thick: bool = False) -> np.ndarray:
    """One digit of ``habit`` as canvas ink (float, [0,1], ink high)."""
    h = rng.uniform(0.55, 0.8) * CANVAS
    strokes = _place(habit(rng, h), rng, h)
    # From a hairline to a thick marker: 2-28 % of the height.
    share = rng.uniform(0.16, 0.28) if thick else math.exp(rng.uniform(math.log(0.02), math.log(0.2)))
    pen = Pen(rng)
    for s in strokes:
        pen.stroke(s, max(1.0, share * h))
    return pen.ink()


def make(count: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``count`` MNIST-form digits (uint8 ``[count,28,28]``), their labels and habits."""
    rng = np.random.default_rng(seed)
    names = list(HABITS)
    shares = np.array([HABITS[n][2] for n in names])
    images, labels, kinds = [], [], []
    while len(images) < count:
        name = names[rng.choice(len(names), p=shares / shares.sum())]
        digit, habit, _ = HABITS[name]
        thick = "thick" in name or rng.random() < 0.15
        try:
            images.append(preprocess.to_mnist(draw(rng, habit, thick)))
        except preprocess.EmptyDrawing:
            continue
        labels.append(digit)
        kinds.append(name)
    return np.stack(images), np.array(labels, dtype=np.uint8), kinds
