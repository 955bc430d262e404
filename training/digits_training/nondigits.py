"""Drawings that are not digits, for the model's eleventh class.

People draw all sorts of things on a digit pad: letters, smileys, scribbles,
shapes. The model learns a "not a digit" class from generated drawings of
that kind, and is measured on drawings made by *other* generators, so the
figure says how it does on things it has never seen rather than how well it
remembers its own generators.

Two families, with nothing in common but the stroke renderer:

- ``TRAIN``: letters of the fonts in ``TRAIN_FONTS`` (thickened or thinned),
  random open strokes, polygons and crosses, shapes with marks inside, waves
  and zigzags, arrows, clouds and flowers; blots, dashes and commas just
  larger than the pen; the first stroke of a 4, 5 or 7 drawn alone;
  hatching and dense scratches.
- ``HELD_OUT``: letters of other fonts (``HELD_OUT_FONTS``), smileys,
  back-and-forth scribbles, spirals, stars, hearts, houses, hash signs,
  stick figures.

Letters and shapes that people would read as a digit are left out: O, o, D and
Q (0), I, l, i, j and | (1), Z and z (2), S and s (5), b and G (6), B (8), g
and q (9), lone circles and lone strokes near the vertical.

Every drawing is rendered like a canvas stroke: solid, anti-aliased, with a
width that is a fraction of the figure's size, then put into MNIST form by
``preprocess.to_mnist`` exactly as serving does.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from . import preprocess

CANVAS = 96  # px of the rendered drawing (before MNIST form)
SUPER = 4  # supersampling factor for anti-aliased edges
LETTERS = "".join(
    c for c in "ABCEFHJKLMNPRTUVWXYacdefhkmnprtuvwxy" if c not in "ODQIlijZzSsbGBgq"
)
FONT_DIRS = [Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts")]
TRAIN_FONTS = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSansCondensed.ttf"]
HELD_OUT_FONTS = [
    "LiberationSerif-Regular.ttf",
    "LiberationSerif-Italic.ttf",
    "LiberationMono-Regular.ttf",
    "LiberationSans-Bold.ttf",
    "DejaVuSerif.ttf",
]

Points = list[tuple[float, float]]
Strokes = list[Points]


class Pen:
    """Draws strokes on a supersampled canvas; ``ink()`` returns float [0,1], ink high."""

    def __init__(self, rng: np.random.Generator, size: int = CANVAS):
        self.size = size
        self.image = Image.new("L", (size * SUPER, size * SUPER), 0)
        self.draw = ImageDraw.Draw(self.image)
        self.rng = rng

    def stroke(self, points: Points, width: float) -> None:
        px = [(x * SUPER, y * SUPER) for x, y in points]
        w = max(1, int(round(width * SUPER)))
        if len(px) > 1:
            self.draw.line(px, fill=255, width=w, joint="curve")
        r = w / 2
        for x, y in (px[0], px[-1]):  # round caps
            self.draw.ellipse([x - r, y - r, x + r, y + r], fill=255)

    def ink(self) -> np.ndarray:
        small = self.image.resize((self.size, self.size), Image.BOX)
        return np.asarray(small, dtype=np.float32) / 255.0


def _width(rng: np.random.Generator, extent: float) -> float:
    """A canvas stroke width: 5-15 % of the figure's extent."""
    return float(rng.uniform(0.05, 0.15) * extent)


def _circle(cx: float, cy: float, rx: float, ry: float, a0: float = 0, a1: float = 2 * math.pi, n: int = 40) -> Points:
    return [(cx + rx * math.cos(a0 + (a1 - a0) * t / n), cy + ry * math.sin(a0 + (a1 - a0) * t / n)) for t in range(n + 1)]


def _jitter(points: Points, rng: np.random.Generator, amount: float) -> Points:
    return [(x + rng.normal(0, amount), y + rng.normal(0, amount)) for x, y in points]


def _draw(strokes: Strokes, rng: np.random.Generator, width: float | None = None) -> np.ndarray:
    pen = Pen(rng)
    w = width if width is not None else _width(rng, CANVAS * 0.6)
    for s in strokes:
        pen.stroke(s, w)
    return pen.ink()


# --- glyphs ---------------------------------------------------------------------------------------


def _find_font(name: str) -> Path | None:
    for d in FONT_DIRS:
        hits = list(d.rglob(name)) if d.exists() else []
        if hits:
            return hits[0]
    return None


def fonts(names: list[str], embedded: bool) -> list[Callable[[int], ImageFont.FreeTypeFont]]:
    """Font loaders for the files found on this machine (plus Pillow's own font if ``embedded``)."""
    found = [p for p in (_find_font(n) for n in names) if p is not None]
    loaders: list[Callable[[int], ImageFont.FreeTypeFont]] = [
        (lambda size, p=p: ImageFont.truetype(str(p), size)) for p in found
    ]
    if embedded:
        loaders.append(lambda size: ImageFont.load_default(size))
    return loaders


def glyph(rng: np.random.Generator, loaders: list) -> np.ndarray:
    """A letter, its strokes made thicker or thinner like a pen's."""
    letter = LETTERS[rng.integers(len(LETTERS))]
    font = loaders[rng.integers(len(loaders))](int(CANVAS * SUPER * 0.7))
    image = Image.new("L", (CANVAS * SUPER, CANVAS * SUPER), 0)
    ImageDraw.Draw(image).text((CANVAS * SUPER / 2, CANVAS * SUPER / 2), letter, fill=255, font=font, anchor="mm")
    change = int(rng.integers(-2, 5)) * 2 + 1  # odd filter sizes; negative thins
    if change > 1:
        image = image.filter(ImageFilter.MaxFilter(min(change * 2 + 1, 21)))
    elif change < -1:
        image = image.filter(ImageFilter.MinFilter(min(-change, 7)))
    angle = rng.uniform(-20, 20)
    image = image.rotate(angle, resample=Image.BILINEAR)
    return np.asarray(image.resize((CANVAS, CANVAS), Image.BOX), dtype=np.float32) / 255.0


# --- the training family --------------------------------------------------------------------------


def random_strokes(rng: np.random.Generator) -> np.ndarray:
    """1-3 smooth open strokes through random points (not a lone near-vertical stroke)."""
    strokes: Strokes = []
    for _ in range(rng.integers(1, 4)):
        n = int(rng.integers(3, 7))
        pts = rng.uniform(15, CANVAS - 15, size=(n, 2))
        t = np.linspace(0, n - 1, 8 * n)
        xs = np.interp(t, np.arange(n), pts[:, 0])
        ys = np.interp(t, np.arange(n), pts[:, 1])
        kernel = np.ones(5) / 5
        xs = np.convolve(np.pad(xs, 2, mode="edge"), kernel, "valid")
        ys = np.convolve(np.pad(ys, 2, mode="edge"), kernel, "valid")
        strokes.append(list(zip(xs.tolist(), ys.tolist())))
    return _draw(strokes, rng)


def polygon(rng: np.random.Generator) -> np.ndarray:
    """A triangle, rectangle or irregular polygon, outlined; sometimes crossed or filled with marks."""
    c = CANVAS / 2
    sides = int(rng.choice([3, 4, 4, 5, 6]))
    r = rng.uniform(22, 38)
    start = rng.uniform(0, 2 * math.pi)
    pts = [
        (c + r * rng.uniform(0.8, 1.2) * math.cos(start + 2 * math.pi * k / sides),
         c + r * rng.uniform(0.8, 1.2) * math.sin(start + 2 * math.pi * k / sides))
        for k in range(sides)
    ]
    strokes: Strokes = [pts + [pts[0]]]
    extra = rng.integers(0, 3)
    if extra == 1:  # a diagonal
        strokes.append([pts[0], pts[sides // 2]])
    elif extra == 2:  # marks inside
        for _ in range(rng.integers(1, 4)):
            x, y = rng.uniform(c - r / 2, c + r / 2, size=2)
            strokes.append([(x, y), (x + rng.uniform(-8, 8), y + rng.uniform(-8, 8))])
    return _draw(strokes, rng)


def cross(rng: np.random.Generator) -> np.ndarray:
    """An x, a plus, an asterisk or a lone stroke far from vertical."""
    c = CANVAS / 2
    arms = int(rng.choice([1, 2, 2, 3, 4]))
    r = rng.uniform(20, 38)
    if arms == 1:
        a = rng.uniform(math.radians(-50), math.radians(50))  # within 50 degrees of horizontal
    else:
        a = rng.uniform(0, math.pi)
    strokes = []
    for k in range(arms):
        t = a + math.pi * k / arms
        strokes.append(_jitter([(c - r * math.cos(t), c - r * math.sin(t)), (c + r * math.cos(t), c + r * math.sin(t))], rng, 2))
    return _draw(strokes, rng)


def marked_shape(rng: np.random.Generator) -> np.ndarray:
    """An ellipse or box with dots or short strokes inside it."""
    c = CANVAS / 2
    rx, ry = rng.uniform(22, 38), rng.uniform(22, 38)
    strokes: Strokes = [_jitter(_circle(c, c, rx, ry), rng, 0.8)] if rng.random() < 0.6 else [
        [(c - rx, c - ry), (c + rx, c - ry), (c + rx, c + ry), (c - rx, c + ry), (c - rx, c - ry)]
    ]
    for _ in range(rng.integers(2, 5)):
        x, y = c + rng.uniform(-rx / 2, rx / 2), c + rng.uniform(-ry / 2, ry / 2)
        strokes.append([(x, y), (x + rng.uniform(-6, 6), y + rng.uniform(-6, 6))])
    return _draw(strokes, rng)


def wave(rng: np.random.Generator) -> np.ndarray:
    """A wavy or zigzag line of 2-4 periods, within 40 degrees of horizontal."""
    c = CANVAS / 2
    periods = rng.uniform(2, 4)
    length, amplitude = rng.uniform(50, 80), rng.uniform(5, 14)
    angle = rng.uniform(math.radians(-40), math.radians(40))
    zigzag = rng.random() < 0.4
    pts = []
    for t in np.linspace(0, 1, 60 if not zigzag else int(periods * 2) + 1):
        phase = 2 * math.pi * periods * t
        along = (t - 0.5) * length
        across = amplitude * (math.sin(phase) if not zigzag else (1 if round(periods * 2 * t) % 2 else -1))
        pts.append((c + along * math.cos(angle) - across * math.sin(angle), c + along * math.sin(angle) + across * math.cos(angle)))
    strokes = [pts]
    if rng.random() < 0.3:  # a second wave under the first
        strokes.append([(x + rng.uniform(-2, 2), y + 18) for x, y in pts])
    return _draw(strokes, rng)


def arrow(rng: np.random.Generator) -> np.ndarray:
    """An arrow more than 30 degrees from vertical, with an open or closed head."""
    c = CANVAS / 2
    a = rng.uniform(math.radians(-60), math.radians(60)) + (math.pi if rng.random() < 0.5 else 0)
    r = rng.uniform(25, 38)
    tail, tip = (c - r * math.cos(a), c - r * math.sin(a)), (c + r * math.cos(a), c + r * math.sin(a))
    head, spread = rng.uniform(10, 18), rng.uniform(0.4, 0.7)
    left = (tip[0] - head * math.cos(a - spread), tip[1] - head * math.sin(a - spread))
    right = (tip[0] - head * math.cos(a + spread), tip[1] - head * math.sin(a + spread))
    strokes = [_jitter([tail, tip], rng, 1), [left, tip, right] + ([left] if rng.random() < 0.3 else [])]
    return _draw(strokes, rng)


def cloud(rng: np.random.Generator) -> np.ndarray:
    """A closed outline with 5-9 deep bumps: a cloud or a flower, sometimes with a centre."""
    c = CANVAS / 2
    bumps = int(rng.integers(5, 10))
    r = rng.uniform(24, 34)
    depth = rng.uniform(0.25, 0.4)
    start = rng.uniform(0, 2 * math.pi)
    pts = [
        (c + r * (1 + depth * abs(math.sin(bumps * t / 2))) * math.cos(start + t),
         c + r * (1 + depth * abs(math.sin(bumps * t / 2))) * math.sin(start + t))
        for t in np.linspace(0, 2 * math.pi, 120)
    ]
    strokes = [_jitter(pts, rng, 0.5)]
    if rng.random() < 0.4:
        strokes.append(_circle(c, c, r * 0.3, r * 0.3, n=16))
    return _draw(strokes, rng)


def small_mark(rng: np.random.Generator) -> np.ndarray:
    """A blot, a short dash far from vertical or a comma: a mark just larger than
    the pen (smaller ones are taps, which the preprocessing refuses)."""
    c = CANVAS / 2
    w = rng.uniform(6, 16)
    kind = rng.integers(3)
    if kind == 0:  # a blot: a dot moved a little
        pts = _jitter([(c, c)] + [(c + rng.uniform(-0.5, 0.5) * w, c + rng.uniform(-0.5, 0.5) * w) for _ in range(3)], rng, 1)
    elif kind == 1:  # a dash
        a = rng.uniform(math.radians(-55), math.radians(55))
        r = rng.uniform(0.9, 1.8) * w
        pts = [(c - r * math.cos(a), c - r * math.sin(a)), (c + r * math.cos(a), c + r * math.sin(a))]
    else:  # a comma or a tick
        pts = [(c, c), (c + rng.uniform(-1, 1) * w * 0.6, c + w * rng.uniform(0.8, 1.6))]
        pts.insert(1, (c + rng.uniform(-0.5, 0.5) * w, c + w * 0.5))
    return _draw([pts], rng, width=w)


def first_stroke(rng: np.random.Generator) -> np.ndarray:
    """The first stroke of a 4, 5 or 7, before the rest is drawn: a 4's
    corner, a 5's or a 7's top bar, a 7's bar with the start of its stem."""
    c = CANVAS / 2
    h = rng.uniform(50, 80)
    w = rng.uniform(0.45, 0.7) * h
    kind = rng.integers(4)
    if kind == 0:  # a 4's first stroke: down (or down-left), then across
        top = (c - w / 2 + rng.uniform(0, 0.5) * w, c - h / 2)
        corner = (c - w / 2, c + rng.uniform(0.05, 0.25) * h)
        pts = [top, corner, (c + w / 2, corner[1])]
    elif kind == 1:  # a 7's top bar, with at most a third of its stem
        t = rng.uniform(0, 0.3)
        right = (c + w / 2, c - h / 2)
        pts = [(c - w / 2, c - h / 2), right, (right[0] - t * w * 0.6, right[1] + t * h)]
    elif kind == 2:  # a 5's top bar
        pts = [(c - w / 4, c - h / 2), (c + w / 2, c - h / 2 + rng.uniform(-3, 3))]
    else:  # a 5's bar and the start of its stem
        t = rng.uniform(0.1, 0.3)
        pts = [(c + w / 2, c - h / 2), (c - w / 4, c - h / 2), (c - w / 4 - rng.uniform(0, 4), c - h / 2 + t * h)]
    return _draw([_jitter(pts, rng, 1)], rng, width=rng.uniform(0.04, 0.2) * h)


def hatching(rng: np.random.Generator) -> np.ndarray:
    """3-7 separate parallel strokes (shading), at least 25 degrees from vertical,
    or a dense back-and-forth scratch with uneven turns."""
    c = CANVAS / 2
    angle = rng.uniform(math.radians(-65), math.radians(65))
    if rng.random() < 0.5:
        n = int(rng.integers(3, 8))
        gap = rng.uniform(5, 10)
        strokes = []
        for k in range(n):
            across = (k - (n - 1) / 2) * gap
            half = rng.uniform(18, 36)
            shift = rng.uniform(-6, 6)
            pts = [(-half + shift, across), (half + shift, across + rng.uniform(-2, 2))]
            strokes.append([(c + x * math.cos(angle) - y * math.sin(angle), c + x * math.sin(angle) + y * math.cos(angle)) for x, y in pts])
        return _draw(strokes, rng, width=rng.uniform(2, 6))
    n = int(rng.integers(6, 16))
    pts = []
    for k in range(n):
        along = rng.uniform(10, 38) * (1 if k % 2 else -1)
        across = rng.uniform(-22, 22) if rng.random() < 0.3 else -20 + 40 * k / (n - 1)
        pts.append((c + along * math.cos(angle) - across * math.sin(angle), c + along * math.sin(angle) + across * math.cos(angle)))
    return _draw([pts], rng)


# --- the held-out family --------------------------------------------------------------------------


def smiley(rng: np.random.Generator) -> np.ndarray:
    c = CANVAS / 2
    r = rng.uniform(28, 40)
    face = _jitter(_circle(c, c, r, r * rng.uniform(0.85, 1.1)), rng, 0.6)
    ex, ey = r * rng.uniform(0.25, 0.45), r * rng.uniform(0.2, 0.4)
    eye = lambda x: [(x, c - ey), (x + rng.uniform(-1, 1), c - ey + rng.uniform(1, 6))]  # noqa: E731
    sad = rng.random() < 0.3
    a0, a1 = (math.pi * 1.2, math.pi * 1.8) if sad else (math.pi * 0.2, math.pi * 0.8)
    my = c + r * (0.75 if sad else 0.05)
    mouth = _circle(c, my, r * 0.55, r * 0.45, a0, a1, 16)
    return _draw([face, eye(c - ex), eye(c + ex), mouth], rng)


def scribble(rng: np.random.Generator) -> np.ndarray:
    """Back-and-forth hatching, as when scratching something out."""
    n = int(rng.integers(5, 12))
    angle = rng.uniform(0, math.pi)
    c = CANVAS / 2
    pts = []
    for k in range(n):
        along = rng.uniform(25, 40) * (1 if k % 2 else -1)
        across = -25 + 50 * k / (n - 1) + rng.normal(0, 2)
        pts.append((c + along * math.cos(angle) - across * math.sin(angle), c + along * math.sin(angle) + across * math.cos(angle)))
    return _draw([pts], rng)


def spiral(rng: np.random.Generator) -> np.ndarray:
    c = CANVAS / 2
    turns = rng.uniform(2, 3.5)
    pts = [
        (c + (4 + 32 * t / (turns * 60)) * math.cos(t * 2 * math.pi / 60), c + (4 + 32 * t / (turns * 60)) * math.sin(t * 2 * math.pi / 60))
        for t in range(int(turns * 60))
    ]
    return _draw([pts], rng, width=rng.uniform(2.5, 5))


def star(rng: np.random.Generator) -> np.ndarray:
    c = CANVAS / 2
    r = rng.uniform(28, 40)
    a = rng.uniform(0, 2 * math.pi)
    pts = [(c + r * math.cos(a + 4 * math.pi * k / 5), c + r * math.sin(a + 4 * math.pi * k / 5)) for k in range(6)]
    return _draw([_jitter(pts, rng, 1.5)], rng)


def heart(rng: np.random.Generator) -> np.ndarray:
    c = CANVAS / 2
    s = rng.uniform(1.6, 2.3)
    pts = [
        (c + s * 16 * math.sin(t) ** 3, c - s * (13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)))
        for t in np.linspace(0, 2 * math.pi, 60)
    ]
    return _draw([_jitter(pts, rng, 0.7)], rng)


def house(rng: np.random.Generator) -> np.ndarray:
    x0, x1 = rng.uniform(18, 30), rng.uniform(66, 78)
    y0, y1 = rng.uniform(40, 50), rng.uniform(75, 85)
    roof = rng.uniform(10, 25)
    body = [(x0, y0), (x0, y1), (x1, y1), (x1, y0), (x0, y0)]
    top = [(x0 - 4, y0 + 2), ((x0 + x1) / 2, roof), (x1 + 4, y0 + 2)]
    door = [((x0 + x1) / 2 - 6, y1), ((x0 + x1) / 2 - 6, y1 - 15), ((x0 + x1) / 2 + 6, y1 - 15), ((x0 + x1) / 2 + 6, y1)]
    return _draw([_jitter(body, rng, 1), _jitter(top, rng, 1), door], rng)


def hash_sign(rng: np.random.Generator) -> np.ndarray:
    lines = []
    for k in (-1, 1):
        off = k * rng.uniform(8, 14)
        slant = rng.uniform(-6, 6)
        lines.append([(48 + off + slant, 16), (48 + off - slant, 80)])
        lines.append([(16, 48 + off), (80, 48 + off + rng.uniform(-4, 4))])
    return _draw([_jitter(l, rng, 1.5) for l in lines], rng)


def stick_figure(rng: np.random.Generator) -> np.ndarray:
    c = CANVAS / 2
    head = _circle(c, 22, 9, 9)
    body = [(c, 31), (c, 62)]
    arms = [(c - 20, 40 + rng.uniform(-8, 8)), (c, 44), (c + 20, 40 + rng.uniform(-8, 8))]
    legs = [(c - 16, 86), (c, 62), (c + 16, 86)]
    return _draw([head, body, _jitter(arms, rng, 1), _jitter(legs, rng, 1)], rng)


GeneratorFn = Callable[[np.random.Generator], np.ndarray]


def family(name: str) -> dict[str, GeneratorFn]:
    """The generators of ``"train"`` or ``"held_out"``, by name."""
    if name == "train":
        loaders = fonts(TRAIN_FONTS, embedded=True)
        return {
            "letters (training fonts)": lambda rng: glyph(rng, loaders),
            "random strokes": random_strokes,
            "polygons": polygon,
            "crosses and bars": cross,
            "shapes with marks inside": marked_shape,
            "waves and zigzags": wave,
            "arrows": arrow,
            "clouds and flowers": cloud,
            "blots, dashes and commas": small_mark,
            "first strokes of 4, 5 and 7": first_stroke,
            "hatching and scratches": hatching,
        }
    if name == "held_out":
        gens: dict[str, GeneratorFn] = {
            "smileys": smiley,
            "scribbles": scribble,
            "spirals": spiral,
            "stars": star,
            "hearts": heart,
            "houses": house,
            "hash signs": hash_sign,
            "stick figures": stick_figure,
        }
        loaders = fonts(HELD_OUT_FONTS, embedded=False)
        if loaders:
            gens["letters (other fonts)"] = lambda rng: glyph(rng, loaders)
        return gens
    raise KeyError(f"unknown family {name!r}: train or held_out")


def make(name: str, count: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """``count`` MNIST-form drawings (uint8 ``[count,28,28]``) from the family, round-robin
    over its generators, with the generator's name of each."""
    rng = np.random.default_rng(seed)
    gens = list(family(name).items())
    images, kinds = [], []
    i = 0
    while len(images) < count:
        kind, gen = gens[i % len(gens)]
        i += 1
        try:
            images.append(preprocess.to_mnist(gen(rng)))
            kinds.append(kind)
        except preprocess.EmptyDrawing:
            continue
    return np.stack(images), kinds
