"""Batched augmentation that imitates digits drawn on a browser canvas.

Every step runs on whole batches with torch ops, so augmentation costs about
as much as a forward pass. The pipeline works at twice the MNIST resolution
(56x56) so that stroke-width changes and warps stay smooth:

1. stroke width: dilate by half, one or (a thick marker) one and a half
   MNIST pixels, or erode by half a pixel;
2. geometry: rotation, shear and aspect change, plus an elastic warp;
3. re-normalisation to MNIST form, as serving does: fit the longer side of the
   ink's bounding box to 20 px and move the centre of mass to the centre, with
   a little jitter that stands in for rounding and stray marks;
4. area-average back down to 28x28.

Images are float ``[B,1,28,28]`` in [0,1], ink high; labels are never touched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .preprocess import BOX, COM_TARGET, INK_THRESHOLD, SIZE


@dataclass(frozen=True)
class AugmentConfig:
    """Strength of each augmentation; the defaults are what the released model used."""

    probability: float = 0.85
    rotation_deg: float = 15.0
    shear: float = 0.15
    aspect: float = 0.15
    elastic: float = 0.08
    dilate_p: float = 0.25
    erode_p: float = 0.2
    # A thick marker: dilate by one and a half MNIST pixels (0 leaves it out).
    marker_p: float = 0.0
    jitter_px: float = 1.0
    jitter_scale: tuple[float, float] = (0.9, 1.05)


def _stroke(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    b = x.shape[0]
    choice = torch.rand(b, generator=gen, device=x.device)
    dilate3 = F.max_pool2d(x, 3, 1, 1)
    dilate5 = F.max_pool2d(x, 5, 1, 2)
    erode3 = -F.max_pool2d(-x, 3, 1, 1)
    half = cfg.dilate_p / 2
    out = x
    out = torch.where((choice < half).view(b, 1, 1, 1), dilate5, out)
    out = torch.where(((choice >= half) & (choice < cfg.dilate_p)).view(b, 1, 1, 1), dilate3, out)
    is_erode = (choice >= cfg.dilate_p) & (choice < cfg.dilate_p + cfg.erode_p)
    # Erosion must not wipe out a thin digit.
    keeps_ink = erode3.flatten(1).amax(1) > 0.5
    out = torch.where((is_erode & keeps_ink).view(b, 1, 1, 1), erode3, out)
    if cfg.marker_p:
        marker = torch.rand(b, generator=gen, device=x.device) < cfg.marker_p
        out = torch.where(marker.view(b, 1, 1, 1), F.max_pool2d(x, 7, 1, 3), out)
    return out


def _warp(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    b, _, h, w = x.shape
    dev = x.device

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(b, generator=gen, device=dev)

    angle = uniform(-cfg.rotation_deg, cfg.rotation_deg) * math.pi / 180
    shear = uniform(-cfg.shear, cfg.shear)
    aspect = uniform(1 - cfg.aspect, 1 + cfg.aspect)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # rotation @ shear @ diag(aspect, 1/aspect), mapping output to input coordinates
    a11 = cos * aspect
    a12 = (cos * shear - sin) / aspect
    a21 = sin * aspect
    a22 = (sin * shear + cos) / aspect
    theta = torch.stack(
        [torch.stack([a11, a12, torch.zeros_like(a11)], 1), torch.stack([a21, a22, torch.zeros_like(a11)], 1)],
        1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    amplitude = uniform(0, cfg.elastic).view(b, 1, 1, 1)
    noise = torch.randn(b, 2, 4, 4, generator=gen, device=dev) * amplitude
    field = F.interpolate(noise, size=(h, w), mode="bicubic", align_corners=False)
    grid = grid + field.permute(0, 2, 3, 1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def renormalise(x: torch.Tensor, jitter_px: float, jitter_scale: tuple[float, float], gen: torch.Generator) -> torch.Tensor:
    """Fits each image's ink box to 20 MNIST pixels and centres its mass, batched.

    ``x`` is at 56x56 (two samples per MNIST pixel); the result is too.
    """
    b, _, h, w = x.shape
    dev = x.device
    img = x[:, 0]
    mask = img > INK_THRESHOLD
    rows, cols = mask.any(2), mask.any(1)
    idx_h = torch.arange(h, device=dev)
    idx_w = torch.arange(w, device=dev)
    big = 10**6
    top = torch.where(rows, idx_h, big).amin(1)
    bottom = torch.where(rows, idx_h, -1).amax(1)
    left = torch.where(cols, idx_w, big).amin(1)
    right = torch.where(cols, idx_w, -1).amax(1)
    longest = torch.maximum(bottom - top + 1, right - left + 1).clamp(min=1).float()
    mass = img.sum((1, 2)).clamp(min=1e-6)
    com_y = (img.sum(2) * idx_h).sum(1) / mass
    com_x = (img.sum(1) * idx_w).sum(1) / mass

    factor = h / SIZE
    lo, hi = jitter_scale
    scale = BOX * factor / longest * (lo + (hi - lo) * torch.rand(b, generator=gen, device=dev))
    shift = (torch.rand(b, 2, generator=gen, device=dev) * 2 - 1) * jitter_px * factor
    # MNIST index coordinates -> 56x56 index coordinates: c56 = 2*c28 + 0.5
    target_x = COM_TARGET[0] * factor + (factor - 1) / 2 + shift[:, 0]
    target_y = COM_TARGET[1] * factor + (factor - 1) / 2 + shift[:, 1]

    def norm(c: torch.Tensor, n: int) -> torch.Tensor:
        return (2 * c + 1) / n - 1

    inv = 1 / scale
    zeros = torch.zeros_like(inv)
    theta = torch.stack(
        [
            torch.stack([inv, zeros, norm(com_x, w) - norm(target_x, w) * inv], 1),
            torch.stack([zeros, inv, norm(com_y, h) - norm(target_y, h) * inv], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    has_ink = (mask.flatten(1).sum(1) > 0).view(b, 1, 1, 1)
    return torch.where(has_ink, out, x)


def augment(x: torch.Tensor, gen: torch.Generator, cfg: AugmentConfig = AugmentConfig()) -> torch.Tensor:
    """Returns an augmented copy of the batch ``x`` (float ``[B,1,28,28]``, [0,1])."""
    b = x.shape[0]
    up = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    out = _stroke(up, cfg, gen)
    out = _warp(out, cfg, gen)
    out = renormalise(out, cfg.jitter_px, cfg.jitter_scale, gen)
    out = F.avg_pool2d(out, 2).clamp(0, 1)
    # Quantise like serving does (the model always sees bytes / 255).
    out = torch.round(out * 255) / 255
    keep = (torch.rand(b, generator=gen, device=x.device) >= cfg.probability).view(b, 1, 1, 1)
    return torch.where(keep, x, out)
