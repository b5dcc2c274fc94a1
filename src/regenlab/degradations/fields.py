"""Smooth random fields (B, 1, H, W) in [0, 1]: haze depth maps and stain masks/textures."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def normalize(f: Tensor) -> Tensor:
    """Min-max stretch each image of (B, 1, H, W) to [0, 1] (a constant image becomes 0)."""
    lo = f.amin(dim=(-2, -1), keepdim=True)
    hi = f.amax(dim=(-2, -1), keepdim=True)
    return (f - lo) / (hi - lo).clamp_min(1e-12)


def smooth_field(
    n: int,
    size: tuple[int, int],
    cells: int,
    generator: torch.Generator | None,
    device: torch.device,
    octaves: int = 1,
) -> Tensor:
    """Value noise: uniform noise on a coarse grid, bicubic-upsampled, summed over octaves.

    ``cells`` grid cells span the shorter side (more cells: smaller blobs); each further octave
    doubles the cells at half the amplitude, adding rough detail (fractal noise). Returns
    (n, 1, H, W) with each image stretched to [0, 1].
    """
    h, w = size
    field = torch.zeros(n, 1, h, w, device=device)
    for octave in range(octaves):
        c = cells * 2**octave
        grid = (min(math.ceil(c * h / min(h, w)), h) + 1, min(math.ceil(c * w / min(h, w)), w) + 1)
        coarse = torch.rand(n, 1, *grid, generator=generator, device=device)
        up = F.interpolate(coarse, size=size, mode="bicubic", align_corners=True)
        field += up * 0.5**octave
    return normalize(field)
