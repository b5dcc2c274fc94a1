"""Blur with a different kernel per image: Gaussian, anisotropic Gaussian, motion, defocus.

Each kind builds a kernel batch (B, k, k) (non-negative, each summing to 1) and
:func:`apply_blur` applies it to (B, C, H, W) with one grouped convolution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from regenlab.degradations.params import as_int, as_range, sample
from regenlab.errors import ConfigError


def apply_blur(x: Tensor, kernels: Tensor) -> Tensor:
    """Convolve image i of (B, C, H, W) with kernel i of (B, k, k), k odd; reflect padding.

    One grouped conv2d over all B*C planes (no per-image loop). The kernel is the PSF
    (flipped for true convolution), and H, W must exceed k // 2. Output clipped to [0, 1].
    """
    b, c, h, w = x.shape
    k = kernels.shape[-1]
    if kernels.shape != (b, k, k) or k % 2 == 0:
        raise ValueError(f"kernels must be ({b}, k, k) with k odd, got {tuple(kernels.shape)}")
    weight = kernels.flip(-2, -1).to(x.dtype).repeat_interleave(c, dim=0).unsqueeze(1)
    planes = F.pad(x.reshape(1, b * c, h, w), [k // 2] * 4, mode="reflect")
    return F.conv2d(planes, weight, groups=b * c).view(b, c, h, w).clamp(0, 1)


def _offsets(size: int, device: torch.device) -> Tensor:
    """Pixel offsets from the kernel centre, (size,): -size//2 .. size//2."""
    return torch.arange(size, device=device, dtype=torch.float32) - size // 2


def _normalized(k: Tensor) -> Tensor:
    return k / k.sum(dim=(-2, -1), keepdim=True)


def gaussian_kernels(sigma_x: Tensor, sigma_y: Tensor, angle: Tensor, size: int) -> Tensor:
    """Anisotropic Gaussians (B, size, size): stds (B,) in pixels along axes rotated by angle.

    ``angle`` (B,) is in degrees. Equal sigmas give the isotropic kernel; sigma 0 gives the
    identity (a delta), so a range may start at 0.
    """
    t = torch.deg2rad(angle).view(-1, 1, 1)
    r = _offsets(size, angle.device)
    yy, xx = r.view(1, -1, 1), r.view(1, 1, -1)
    u = xx * t.cos() + yy * t.sin()
    v = yy * t.cos() - xx * t.sin()
    sx = sigma_x.clamp_min(1e-6).view(-1, 1, 1)
    sy = sigma_y.clamp_min(1e-6).view(-1, 1, 1)
    return _normalized(torch.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2)))


def defocus_kernels(radius: Tensor, size: int) -> Tensor:
    """Out-of-focus disks (B, size, size) of radius (B,) pixels, anti-aliased at the rim."""
    r = _offsets(size, radius.device)
    dist = torch.sqrt(r.view(1, -1, 1) ** 2 + r.view(1, 1, -1) ** 2)
    return _normalized((radius.view(-1, 1, 1) + 0.5 - dist).clamp(0, 1))


def motion_kernels(
    length: Tensor, size: int, curvature: float, generator: torch.Generator | None = None
) -> Tensor:
    """Camera-shake kernels (B, size, size) from random smooth trajectories of ``length`` (B,).

    A path of 4*size points starts in a random direction, its heading drifting as a random
    walk (``curvature``: std of the total turn, radians; 0 = straight line). It is centred on
    its centroid (no image shift) and rasterised with bilinear weights. Any path of length
    L centred so lies within L/2 of the centre, so it fits when ``length <= size - 1``.
    """
    b, device = length.shape[0], length.device
    steps = 4 * size
    start = torch.rand(b, 1, generator=generator, device=device) * (2 * math.pi)
    turns = torch.randn(b, steps - 1, generator=generator, device=device)
    heading = start + torch.cumsum(turns * (curvature / math.sqrt(steps - 1)), dim=1)
    step = (length / (steps - 1)).view(-1, 1)
    moves = torch.stack([heading.cos() * step, heading.sin() * step], dim=-1)
    path = torch.cat([moves.new_zeros(b, 1, 2), torch.cumsum(moves, dim=1)], dim=1)
    path = path - path.mean(dim=1, keepdim=True)  # (B, steps, 2) as (x, y) offsets
    r = _offsets(size, device)
    # Bilinear splatting as a product of 1-D tent weights: deterministic (no scatter_add).
    wx = (1 - (r - path[..., :1]).abs()).clamp_min(0)  # (B, steps, size)
    wy = (1 - (r - path[..., 1:]).abs()).clamp_min(0)
    return _normalized(torch.einsum("bpy,bpx->byx", wy, wx))


def _kernel_size(size: int | None, radius: float) -> int:
    """The configured odd kernel size, or the smallest odd one covering ``radius`` pixels."""
    if size is None:
        return 2 * math.ceil(radius) + 1
    k = as_int(size, "size", low=1)
    if k % 2 == 0:
        raise ConfigError(f"size must be an odd integer >= 1, got {k}")
    return k


class _Blur:
    """Shared ``__call__``: draw one kernel per image (``kernels``) and apply them."""

    def kernels(self, n: int, generator: torch.Generator, device: torch.device) -> Tensor:
        raise NotImplementedError

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return apply_blur(x, self.kernels(x.shape[0], generator, x.device))


@dataclass
class GaussianBlur(_Blur):
    """Isotropic Gaussian blur, ``sigma`` (pixels) fixed or drawn per image from a range.

    ``size=None`` picks the kernel size from the largest sigma (3 sigma each side).
    """

    sigma: float | Sequence[float] = (0.2, 3.0)
    size: int | None = None

    def __post_init__(self) -> None:
        self.sigma = as_range(self.sigma, "sigma", low=0)
        self.size = _kernel_size(self.size, 3 * self.sigma[1])

    def kernels(self, n: int, generator: torch.Generator, device: torch.device) -> Tensor:
        s = sample(self.sigma, n, generator, device)
        return gaussian_kernels(s, s, torch.zeros_like(s), self.size)


@dataclass
class AnisotropicBlur(_Blur):
    """Gaussian blur with per-image stds along two axes (pixels) rotated by ``angle`` (degrees)."""

    sigma_x: float | Sequence[float] = (0.2, 3.0)
    sigma_y: float | Sequence[float] = (0.2, 3.0)
    angle: float | Sequence[float] = (0.0, 180.0)
    size: int | None = None

    def __post_init__(self) -> None:
        self.sigma_x = as_range(self.sigma_x, "sigma_x", low=0)
        self.sigma_y = as_range(self.sigma_y, "sigma_y", low=0)
        self.angle = as_range(self.angle, "angle")
        self.size = _kernel_size(self.size, 3 * max(self.sigma_x[1], self.sigma_y[1]))

    def kernels(self, n: int, generator: torch.Generator, device: torch.device) -> Tensor:
        sx = sample(self.sigma_x, n, generator, device)
        sy = sample(self.sigma_y, n, generator, device)
        angle = sample(self.angle, n, generator, device)
        return gaussian_kernels(sx, sy, angle, self.size)


@dataclass
class MotionBlur(_Blur):
    """Motion blur along random trajectories of ``length`` pixels (fixed or a range).

    ``curvature`` (radians, >= 0) is how much paths bend. ``size=None`` fits the longest
    path; an explicit odd ``size`` must exceed the longest length.
    """

    length: float | Sequence[float] = (3.0, 15.0)
    curvature: float = 1.0
    size: int | None = None

    def __post_init__(self) -> None:
        self.length = as_range(self.length, "length", low=0)
        if not self.curvature >= 0:
            raise ConfigError(f"curvature must be >= 0, got {self.curvature}")
        self.size = _kernel_size(self.size, self.length[1] / 2)
        if self.length[1] > self.size - 1:
            raise ConfigError(
                f"length must be <= size - 1 = {self.size - 1} for size={self.size}, "
                f"got {self.length[1]:g}"
            )

    def kernels(self, n: int, generator: torch.Generator, device: torch.device) -> Tensor:
        length = sample(self.length, n, generator, device)
        return motion_kernels(length, self.size, float(self.curvature), generator)


@dataclass
class DefocusBlur(_Blur):
    """Out-of-focus (disk) blur, ``radius`` pixels fixed or drawn per image from a range."""

    radius: float | Sequence[float] = (1.0, 4.0)
    size: int | None = None

    def __post_init__(self) -> None:
        self.radius = as_range(self.radius, "radius", low=0)
        self.size = _kernel_size(self.size, self.radius[1])

    def kernels(self, n: int, generator: torch.Generator, device: torch.device) -> Tensor:
        r = sample(self.radius, n, generator, device)
        return defocus_kernels(r, self.size)
