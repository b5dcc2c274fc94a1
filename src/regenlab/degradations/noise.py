"""Additive and signal-dependent noise on batched images (B, C, H, W) in [0, 1]."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from regenlab.degradations.params import as_range, sample


def gaussian_noise(
    x: Tensor, sigma: Tensor, color: bool = True, generator: torch.Generator | None = None
) -> Tensor:
    """Add N(0, sigma^2) noise; ``sigma`` is (B,) on the 0-255 scale, one value per image.

    ``color=False`` draws one noise field shared by all channels (gray noise on colour images).
    The result is not clipped: AWGN denoising benchmarks (DnCNN, BM3D) use unclipped noise.
    """
    shape = x.shape if color else (x.shape[0], 1, *x.shape[2:])
    noise = torch.randn(shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + noise * (sigma.to(x.dtype) / 255).view(-1, 1, 1, 1)


@dataclass
class GaussianNoise:
    """AWGN with sigma fixed (``25``) or drawn per image from a range (``[0, 55]``, blind)."""

    sigma: float | Sequence[float] = 25.0
    color: bool = True

    def __post_init__(self) -> None:
        self.sigma = as_range(self.sigma, "sigma", low=0)

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        s = sample(self.sigma, x.shape[0], generator, x.device)
        return gaussian_noise(x, s, self.color, generator)
