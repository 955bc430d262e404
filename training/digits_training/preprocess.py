"""Reference implementation of the MNIST-form normalisation, in numpy.

This mirrors the Rust crate ``digits-preprocess`` step for step (the Rust crate is
what serving and the web UI run; this copy lets training and the robustness
evaluation use the same procedure). The steps, as MNIST itself was made:

1. find the bounding box of the ink (pixels above ``INK_THRESHOLD``); a
   drawing whose box is no larger than ``TAP_SIDE`` brush widths either way
   is a tap or a dot, too small to read (``TooSmall``);
2. thicken thin strokes: when the crop's mean stroke width (twice the area
   of the ink above ``STROKE_INK`` over the length of its outline) is below
   ``STROKE_WIDTH`` of its longer side, dilate it with a square max filter
   by the missing half-width, padding the crop by as much on every side;
3. scale the crop so that its longer side is ``BOX`` (20) pixels, keeping the
   aspect ratio: area-averaging when shrinking, bilinear when enlarging;
4. paste it in the middle of a 28x28 field;
5. shift it by whole pixels so that its centre of mass sits at ``COM_TARGET``,
   without pushing ink off the field.

Input is a float array of ink in [0, 1] (ink high); output is uint8 28x28.
"""

from __future__ import annotations

import numpy as np

SIZE = 28
BOX = 20
INK_THRESHOLD = 0.1
# Where MNIST's own centre of mass sits, in pixel-index coordinates (x, y):
# the mean over MNIST's training images is (14.01, 14.00).
COM_TARGET = (14.0, 14.0)
# The fewest ink pixels a drawing needs; larger images need one per 10,000 pixels.
MIN_INK_PIXELS = 4
# The thinnest mean stroke kept as drawn, as a share of the crop's longer side,
# and the ink that counts as stroke when the width is measured.
STROKE_WIDTH = 0.10
STROKE_INK = 0.5
# A drawing no larger than this many brush widths either way is a tap: too
# small to read. The brush width is the smaller of the median lengths of the
# ink's horizontal and vertical runs.
TAP_SIDE = 1.5
# Names the procedure's settings, so that anything cached in MNIST form is
# made again when they change.
FINGERPRINT = f"box {BOX} in {SIZE}, ink {INK_THRESHOLD}, stroke {STROKE_WIDTH} at {STROKE_INK}, tap {TAP_SIDE}"


class EmptyDrawing(ValueError):
    """There is no (or too little) ink to call the image a digit."""


class TooSmall(EmptyDrawing):
    """The drawing is no larger than the brush that made it (a tap or a dot)."""


def _median_run(mask: np.ndarray) -> int:
    """The median length of the runs of ``True`` along each row of ``mask``
    (the upper median, as the Rust crate picks it); 0 without runs."""
    padded = np.pad(mask, ((0, 0), (1, 1))).astype(np.int8)
    change = np.diff(padded, axis=1)
    starts = np.flatnonzero(change.ravel() == 1)
    ends = np.flatnonzero(change.ravel() == -1)
    if len(starts) == 0:
        return 0
    lengths = np.sort(ends - starts)
    return int(lengths[len(lengths) // 2])


def brush_width(mask: np.ndarray) -> int:
    """The width of the brush that drew ``mask`` (a crop's ink above ``INK_THRESHOLD``):
    the smaller of its horizontal and vertical median run lengths."""
    return min(_median_run(mask), _median_run(mask.T))


def is_tap(mask: np.ndarray) -> bool:
    """Whether the crop ``mask`` is no larger than ``TAP_SIDE`` brush widths either way."""
    side = max(mask.shape)
    # The brush is never wider than the crop's shorter side: only a near-square crop can be a tap.
    if side > TAP_SIDE * min(mask.shape):
        return False
    return side <= TAP_SIDE * brush_width(mask)


def _axis_weights(src: int, dst: int) -> np.ndarray:
    """A ``dst x src`` resampling matrix for one axis.

    Shrinking uses exact area averaging (each output pixel averages the source
    span it covers); enlarging uses bilinear interpolation between pixel centres.
    """
    weights = np.zeros((dst, src), dtype=np.float64)
    ratio = src / dst
    if dst <= src:
        for i in range(dst):
            start, end = i * ratio, (i + 1) * ratio
            j = int(np.floor(start))
            while j < end and j < src:
                overlap = min(end, j + 1) - max(start, j)
                if overlap > 0:
                    weights[i, j] += overlap / ratio
                j += 1
    else:
        for i in range(dst):
            centre = (i + 0.5) * ratio - 0.5
            centre = min(max(centre, 0.0), src - 1)
            j0 = int(np.floor(centre))
            j1 = min(j0 + 1, src - 1)
            frac = centre - j0
            weights[i, j0] += 1.0 - frac
            weights[i, j1] += frac
    return weights


def stroke_radius(crop: np.ndarray) -> int:
    """How far to dilate ``crop`` so its mean stroke is ``STROKE_WIDTH`` of its longer side (0: keep it)."""
    mask = np.pad(crop > STROKE_INK, 1)
    area = int(mask.sum())
    edges = int((mask[1:, :] != mask[:-1, :]).sum() + (mask[:, 1:] != mask[:, :-1]).sum())
    if area == 0 or edges == 0:
        return 0
    width = 2.0 * area / edges
    missing = (STROKE_WIDTH * max(crop.shape) - width) / 2.0
    return max(0, int(np.floor(missing + 0.5)))


def thicken(crop: np.ndarray) -> np.ndarray:
    """``crop`` with thin strokes dilated (square max filter), padded by the radius on every side."""
    radius = stroke_radius(crop)
    if radius == 0:
        return crop
    window = 2 * radius + 1
    padded = np.pad(crop, 2 * radius)
    rows = np.lib.stride_tricks.sliding_window_view(padded, window, axis=1).max(-1)
    return np.lib.stride_tricks.sliding_window_view(rows, window, axis=0).max(-1)


def fit_box(ink: np.ndarray) -> np.ndarray:
    """Crops ``ink`` to its bounding box, thickens thin strokes and scales the longer side to ``BOX``."""
    mask = ink > INK_THRESHOLD
    required = max(MIN_INK_PIXELS, ink.size // 10_000)
    if mask.sum() < required:
        raise EmptyDrawing(f"the drawing has {int(mask.sum())} pixels with ink, at least {required} needed")
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    if is_tap(mask[box]):
        h, w = mask[box].shape
        raise TooSmall(f"the drawing is {w}x{h} pixels, about the brush's width ({brush_width(mask[box])} px)")
    crop = thicken(ink[box])
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_h = max(1, min(BOX, int(np.floor(h * scale + 0.5))))
    new_w = max(1, min(BOX, int(np.floor(w * scale + 0.5))))
    return _axis_weights(h, new_h) @ crop @ _axis_weights(w, new_w).T


def centre(box: np.ndarray) -> np.ndarray:
    """Places a fitted box in 28x28 and shifts its centre of mass to ``COM_TARGET``."""
    h, w = box.shape
    top, left = (SIZE - h) // 2, (SIZE - w) // 2
    total = box.sum()
    ys, xs = np.indices(box.shape)
    com_y = top + (ys * box).sum() / total
    com_x = left + (xs * box).sum() / total
    dy = int(np.floor(COM_TARGET[1] - com_y + 0.5))
    dx = int(np.floor(COM_TARGET[0] - com_x + 0.5))
    # Never push ink off the field.
    dy = min(max(dy, -top), SIZE - h - top)
    dx = min(max(dx, -left), SIZE - w - left)
    out = np.zeros((SIZE, SIZE), dtype=np.float64)
    out[top + dy : top + dy + h, left + dx : left + dx + w] = box
    return out


def to_mnist(ink: np.ndarray) -> np.ndarray:
    """Turns an ink image (float, [0,1], ink high) of any size into MNIST form (uint8 28x28)."""
    field = centre(fit_box(np.asarray(ink, dtype=np.float64)))
    return np.clip(np.floor(field * 255.0 + 0.5), 0, 255).astype(np.uint8)
