"""Haze / fog by the atmospheric scattering model on synthetic depth maps."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from regenlab.degradations.fields import smooth_field
from regenlab.degradations.params import as_range, per_image, sample
from regenlab.errors import ConfigError


def add_haze(x: Tensor, depth: Tensor, beta: Tensor, airlight: Tensor) -> Tensor:
    """I = J t + A (1 - t) with transmission t = exp(-beta d) (Koschmieder / McCartney).

    ``x`` (B, C, H, W) is the clear scene J, ``depth`` (B, 1, H, W) in [0, 1], ``beta`` (B,)
    the scattering coefficient (0: no haze, exactly the input), ``airlight`` (B,) the gray
    atmospheric light A in [0, 1]. Output in [0, 1].
    """
    t = torch.exp(-per_image(beta, x) * depth.to(x.dtype))
    return (x * t + per_image(airlight, x) * (1 - t)).clamp(0, 1)


def smooth_depth(
    n: int, size: tuple[int, int], generator: torch.Generator, device: torch.device
) -> Tensor:
    """Random smooth depth maps (n, 1, H, W) in [0, 1]: a few large blobs, mild detail."""
    return smooth_field(n, size, cells=3, generator=generator, device=device, octaves=2)


def ground_depth(
    n: int, size: tuple[int, int], generator: torch.Generator, device: torch.device
) -> Tensor:
    """Depth (n, 1, H, W) in (0, 1] of a ground plane: near at the bottom, 1 at the horizon.

    A camera over flat ground sees depth ~ 1 / (height below the horizon). Per image the
    horizon lies at a random height (from 20% above the frame to 40% down it), tilted by up to
    15 degrees; the depth at the bottom centre is random in [0.05, 0.25]; sky is at depth 1.
    """
    h, w = size
    horizon = (torch.rand(n, generator=generator, device=device) * 0.6 - 0.2).view(-1, 1, 1, 1)
    tilt = (torch.rand(n, generator=generator, device=device) - 0.5) * math.radians(30)
    near = (torch.rand(n, generator=generator, device=device) * 0.2 + 0.05).view(-1, 1, 1, 1)
    rows = ((torch.arange(h, device=device) + 0.5) / h).view(1, 1, -1, 1)
    cols = ((torch.arange(w, device=device) + 0.5) / w - 0.5).view(1, 1, 1, -1) * (w / h)
    below = rows - horizon - torch.tan(tilt).view(-1, 1, 1, 1) * cols
    return (near * (1 - horizon) / below.clamp_min(1e-6)).clamp(max=1)


DEPTHS = ("smooth", "ground", "mixed")


@dataclass
class Haze:
    """Synthetic haze: ``beta`` and ``airlight`` fixed or ranges, one depth map per image.

    ``depth``: "smooth" (random blobs), "ground" (ground-plane perspective) or "mixed"
    (each image one of the two, with equal probability).
    """

    beta: float | Sequence[float] = (0.5, 2.5)
    airlight: float | Sequence[float] = (0.7, 1.0)
    depth: str = "mixed"

    def __post_init__(self) -> None:
        self.beta = as_range(self.beta, "beta", low=0)
        self.airlight = as_range(self.airlight, "airlight", low=0, high=1)
        if self.depth not in DEPTHS:
            raise ConfigError(f"depth must be one of {', '.join(DEPTHS)}; got {self.depth!r}")

    def depth_maps(
        self, n: int, size: tuple[int, int], generator: torch.Generator, device: torch.device
    ) -> Tensor:
        """The (n, 1, H, W) depth maps in [0, 1] this config draws."""
        if self.depth == "smooth":
            return smooth_depth(n, size, generator, device)
        if self.depth == "ground":
            return ground_depth(n, size, generator, device)
        smooth = smooth_depth(n, size, generator, device)
        ground = ground_depth(n, size, generator, device)
        pick = torch.rand(n, 1, 1, 1, generator=generator, device=device) < 0.5
        return torch.where(pick, smooth, ground)

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        n, device = x.shape[0], x.device
        beta = sample(self.beta, n, generator, device)
        airlight = sample(self.airlight, n, generator, device)
        depth = self.depth_maps(n, tuple(x.shape[-2:]), generator, device)
        return add_haze(x, depth, beta, airlight)
