"""Additive and signal-dependent noise on batched images (B, C, H, W) in [0, 1]."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from regenlab.degradations.params import as_range, per_image, sample


def gaussian_noise(
    x: Tensor, sigma: Tensor, color: bool = True, generator: torch.Generator | None = None
) -> Tensor:
    """Add N(0, sigma^2) noise; ``sigma`` is (B,) on the 0-255 scale, one value per image.

    ``color=False`` draws one noise field shared by all channels (gray noise on colour images).
    The result is not clipped: AWGN denoising benchmarks (DnCNN, BM3D) use unclipped noise.
    """
    shape = x.shape if color else (x.shape[0], 1, *x.shape[2:])
    noise = torch.randn(shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + noise * (per_image(sigma, x) / 255)


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


def poisson_noise(x: Tensor, peak: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Shot noise: photon counts ~ Poisson(x * peak), rescaled by 1 / peak; clipped to [0, 1].

    ``peak`` (B,) is the expected count at intensity 1, so the variance is x / peak: it grows
    with brightness, and a lower peak means a noisier (darker-scene) image.
    """
    p = per_image(peak, x)
    counts = torch.poisson(x.clamp(0, 1) * p, generator=generator)
    return (counts / p).clamp(0, 1)


@dataclass
class PoissonNoise:
    """Poisson noise; ``scale`` is the peak count at white, fixed or a ``[low, high]`` range.

    E.g. ``scale=[10, 300]``: from very low light (std 0.32 at white) to mild (0.06).
    """

    scale: float | Sequence[float] = (10.0, 300.0)

    def __post_init__(self) -> None:
        self.scale = as_range(self.scale, "scale", low=1e-3)

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        peak = sample(self.scale, x.shape[0], generator, x.device)
        return poisson_noise(x, peak, generator)


def speckle_noise(x: Tensor, sigma: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Multiplicative noise x * (1 + n), n ~ N(0, sigma^2) per pixel and channel; in [0, 1].

    ``sigma`` (B,) is relative (0.1 = 10% of the intensity), so dark regions stay clean, as in
    coherent imaging (ultrasound, SAR).
    """
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return (x * (1 + noise * per_image(sigma, x))).clamp(0, 1)


@dataclass
class SpeckleNoise:
    """Speckle noise with relative std ``sigma``, fixed or drawn per image from a range."""

    sigma: float | Sequence[float] = (0.05, 0.3)

    def __post_init__(self) -> None:
        self.sigma = as_range(self.sigma, "sigma", low=0)

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        s = sample(self.sigma, x.shape[0], generator, x.device)
        return speckle_noise(x, s, generator)


def salt_and_pepper(
    x: Tensor, amount: Tensor, salt: Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """Impulse noise: a fraction ``amount`` (B,) of pixels becomes white or black.

    A fraction ``salt`` (B,) of the hit pixels is white (1), the rest black (0). Whole pixels
    are hit (all channels alike), as with dead/stuck sensor pixels. Output in [0, 1].
    """
    u = torch.rand((x.shape[0], 1, *x.shape[2:]), generator=generator, device=x.device)
    hit = u < per_image(amount, u)
    white = u < per_image(amount * salt, u)
    return torch.where(hit, white.to(x.dtype), x.clamp(0, 1))


@dataclass
class SaltAndPepper:
    """Salt-and-pepper noise; ``amount`` and ``salt_vs_pepper`` are fixed or [low, high] in [0, 1].

    ``salt_vs_pepper`` is the fraction of corrupted pixels that turn white (0.5: as many black).
    """

    amount: float | Sequence[float] = (0.01, 0.1)
    salt_vs_pepper: float | Sequence[float] = 0.5

    def __post_init__(self) -> None:
        self.amount = as_range(self.amount, "amount", low=0, high=1)
        self.salt_vs_pepper = as_range(self.salt_vs_pepper, "salt_vs_pepper", low=0, high=1)

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        n = x.shape[0]
        amount = sample(self.amount, n, generator, x.device)
        salt = sample(self.salt_vs_pepper, n, generator, x.device)
        return salt_and_pepper(x, amount, salt, generator)
