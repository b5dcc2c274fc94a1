"""Procedural rust / stain blotches alpha-blended onto images (damaged prints, corroded signs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from regenlab.degradations.fields import smooth_field
from regenlab.degradations.params import as_int, as_range, per_image, sample
from regenlab.errors import ConfigError

# Dark brown and light orange rust (RGB in [0, 1]); the texture mixes between them per pixel.
DARK = (0.30, 0.12, 0.05)
LIGHT = (0.80, 0.45, 0.18)
LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 luminance, for 1-channel images
EDGE = 0.06  # soft edge width, in units of the (0..1) shape field


def rust_stains(
    x: Tensor,
    coverage: Tensor,
    opacity: Tensor,
    cells: int = 4,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Blend rust blotches onto (B, C, H, W) in [0, 1], C = 1 or 3; returns (stained, mask).

    Per image, a fractal noise field thresholded at its (1 - coverage) quantile gives blotches
    with ragged, soft edges over a fraction ``coverage`` (B,) of the image (``cells``: noise
    cells across the shorter side; more = smaller blotches). A finer noise field textures them:
    colour between dark brown and orange (with a random per-image tint) and opacity between
    60% and 100% of ``opacity`` (B,). ``mask`` (B, 1, H, W) in [0, 1] is the blending alpha:
    stained = x (1 - mask) + rust * mask, so pixels with mask 0 are unchanged.
    """
    b, c, h, w = x.shape
    if c not in (1, 3):
        raise ConfigError(f"rust stains need 1 or 3 channels, got {c}")
    device = x.device
    shape = smooth_field(b, (h, w), cells, generator, device, octaves=4)
    texture = smooth_field(b, (h, w), 4 * cells, generator, device, octaves=3)
    tint = 1 + (torch.rand(b, 3, 1, 1, generator=generator, device=device) - 0.5) * 0.3
    ordered = shape.flatten(1).sort(dim=1).values
    rank = ((1 - coverage.clamp(0, 1)) * (h * w - 1)).round().long()
    threshold = ordered.gather(1, rank.view(-1, 1)).view(-1, 1, 1, 1)
    edge = ((shape - threshold) / EDGE).clamp(0, 1)
    edge = edge * edge * (3 - 2 * edge)  # smoothstep
    mask = (edge * per_image(opacity, shape) * (0.6 + 0.4 * texture)).clamp(0, 1)
    dark, light = (torch.tensor(v, device=device).view(1, 3, 1, 1) for v in (DARK, LIGHT))
    color = ((dark + (light - dark) * texture) * tint).clamp(0, 1)
    if c == 1:
        color = (color * torch.tensor(LUMA, device=device).view(1, 3, 1, 1)).sum(1, keepdim=True)
    mask, color = mask.to(x.dtype), color.to(x.dtype)
    return (x * (1 - mask) + color * mask).clamp(0, 1), mask


@dataclass
class RustStains:
    """Rust blotches; ``coverage`` (area fraction) and ``opacity`` fixed or ranges in [0, 1]."""

    coverage: float | Sequence[float] = (0.05, 0.3)
    opacity: float | Sequence[float] = (0.6, 0.95)
    cells: int = 4

    def __post_init__(self) -> None:
        self.coverage = as_range(self.coverage, "coverage", low=0, high=1)
        self.opacity = as_range(self.opacity, "opacity", low=0, high=1)
        self.cells = as_int(self.cells, "cells", low=1)

    def with_mask(self, x: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """(stained, mask): the mask (B, 1, H, W) in [0, 1] locates the stains (segmentation)."""
        n = x.shape[0]
        coverage = sample(self.coverage, n, generator, x.device)
        opacity = sample(self.opacity, n, generator, x.device)
        return rust_stains(x, coverage, opacity, self.cells, generator)

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return self.with_mask(x, generator)[0]
