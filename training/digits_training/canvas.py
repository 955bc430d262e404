"""Renders MNIST digits the way a person draws them on a browser canvas.

Used to measure robustness: a 28x28 test digit is enlarged onto a bigger canvas
at some size and position, optionally rotated, and turned into solid strokes
with anti-aliased edges whose width can be thinner or thicker than MNIST's.
The result is an ink image (float, [0,1], ink high) that then goes through the
serving normalisation (``preprocess.to_mnist``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Style:
    """How one set of digits is drawn."""

    name: str
    canvas: tuple[int, int] = (280, 280)  # (height, width)
    digit_height: tuple[float, float] = (180, 220)  # px of the 20-px MNIST box
    rotation_deg: float = 0.0
    # Threshold on the enlarged digit that becomes the stroke edge: lower means thicker.
    edge: tuple[float, float] = (0.45, 0.45)
    off_centre: bool = False


STYLES = [
    Style("canvas 280x280, centred"),
    Style("thin strokes", edge=(0.7, 0.75)),
    Style("thick strokes", edge=(0.12, 0.18)),
    Style("small, off-centre on 400x300", canvas=(300, 400), digit_height=(50, 90), off_centre=True),
    Style("rotated up to 12 degrees", rotation_deg=12.0),
    Style(
        "everything at once",
        canvas=(300, 400),
        digit_height=(60, 260),
        rotation_deg=12.0,
        edge=(0.15, 0.7),
        off_centre=True,
    ),
]


# How training draws each digit once (``mixing.canvas_digits``): anything from
# small to large, anywhere, slanted, thin to thick.
TRAINING_STYLE = Style(
    "training: random size, place, slant and width",
    canvas=(300, 400),
    digit_height=(50, 260),
    rotation_deg=12.0,
    edge=(0.1, 0.78),
    off_centre=True,
)


def render(images: np.ndarray, style: Style, rng: np.random.Generator) -> np.ndarray:
    """Draws uint8 ``[N,28,28]`` MNIST digits in ``style``; returns float ``[N,H,W]`` ink."""
    n = images.shape[0]
    h, w = style.canvas
    src = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    scale = rng.uniform(*style.digit_height, size=n) / 20.0  # canvas px per MNIST px
    angle = np.deg2rad(rng.uniform(-style.rotation_deg, style.rotation_deg, size=n))
    size = 28 * scale  # canvas px covered by the whole 28x28 source
    if style.off_centre:
        # Keep the 20-px box (plus room for rotation) on the canvas.
        half = 10 * scale * 1.15
        cx = np.where(w > 2 * half, rng.uniform(size=n) * (w - 2 * half) + half, w / 2)
        cy = np.where(h > 2 * half, rng.uniform(size=n) * (h - 2 * half) + half, h / 2)
    else:
        cx, cy = np.full(n, w / 2), np.full(n, h / 2)
    # Affine map from canvas-normalised output coordinates to source-normalised
    # coordinates: rotate about the digit's centre and shrink by the scale.
    cos, sin = np.cos(angle), np.sin(angle)
    sx, sy = w / size, h / size
    ox, oy = 2 * cx / w - 1, 2 * cy / h - 1
    theta = np.zeros((n, 2, 3), dtype=np.float32)
    theta[:, 0, 0] = cos * sx
    theta[:, 0, 1] = sin * sy
    theta[:, 1, 0] = -sin * sx
    theta[:, 1, 1] = cos * sy
    theta[:, 0, 2] = -(theta[:, 0, 0] * ox + theta[:, 0, 1] * oy)
    theta[:, 1, 2] = -(theta[:, 1, 0] * ox + theta[:, 1, 1] * oy)
    out = np.empty((n, h, w), dtype=np.float32)
    edges = rng.uniform(*style.edge, size=n)
    for start in range(0, n, 64):
        sl = slice(start, start + 64)
        grid = F.affine_grid(torch.from_numpy(theta[sl]), [len(theta[sl]), 1, h, w], align_corners=False)
        big = F.grid_sample(src[sl], grid, mode="bicubic", padding_mode="zeros", align_corners=False)[:, 0]
        # Solid strokes with a soft edge about 1.5 canvas pixels wide.
        edge = torch.from_numpy(edges[sl].astype(np.float32)).view(-1, 1, 1)
        softness = torch.from_numpy((0.08 / np.maximum(scale[sl] / 8, 1)).astype(np.float32)).view(-1, 1, 1)
        out[sl] = torch.clamp((big - edge) / softness + 0.5, 0, 1).numpy()
    return out


def describe(style: Style) -> str:
    h, w = style.canvas
    return (
        f"{style.name}: canvas {w}x{h}, digit {style.digit_height[0]:.0f}-{style.digit_height[1]:.0f} px, "
        f"rotation ±{style.rotation_deg:.0f}°, stroke edge {style.edge[0]}-{style.edge[1]}"
        + (", random position" if style.off_centre else "")
    )

