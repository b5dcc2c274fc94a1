"""Rectangular holes: one box per image, at a random position or centred."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from regenlab.degradations.params import sample
from regenlab.masks.params import positive_range


def box_masks(
    top: Tensor, left: Tensor, box_height: Tensor, box_width: Tensor, size: tuple[int, int]
) -> Tensor:
    """Masks (n, 1, H, W) of ``size`` (H, W), 1 in rows [top, top + box_height) and columns
    [left, left + box_width); all (n,) integer pixel tensors. One broadcast comparison."""
    rows = torch.arange(size[0], device=top.device).view(1, 1, -1, 1)
    cols = torch.arange(size[1], device=top.device).view(1, 1, 1, -1)
    t, le, bh, bw = (v.view(-1, 1, 1, 1) for v in (top, left, box_height, box_width))
    return ((rows >= t) & (rows < t + bh) & (cols >= le) & (cols < le + bw)).float()


def _extent(fraction: Tensor, side: int, centered: bool) -> Tensor:
    """A box side in whole pixels (n,) from a fraction of the image side, in [1, side].

    A centred box keeps the parity of the image side, so both margins are equal and the box
    is exactly centred (at most 1 pixel off the requested extent).
    """
    if centered:
        margin = ((side - fraction * side) / 2).round().clamp(0, (side - 1) // 2).long()
        return side - 2 * margin
    return (fraction * side).round().long().clamp(1, side)


@dataclass
class BoxMask:
    """One rectangular hole per image (e.g. the centre-hole setting of Context Encoders).

    ``size``: the side of the box as a fraction of the image side, fixed or a [low, high]
    range in (0, 1]; ``aspect``: width / height, drawn log-uniformly (so 1:2 and 2:1 are
    equally likely) from a range > 0, at the same area: sides ``size / sqrt(aspect)`` and
    ``size * sqrt(aspect)`` (clipped to the image). So the hole ratio is ``size ** 2`` up to
    pixel rounding and clipping. ``centered=False`` places the box uniformly inside the image.
    """

    size: float | Sequence[float] = (0.25, 0.5)
    centered: bool = False
    aspect: float | Sequence[float] = (0.5, 2.0)

    def __post_init__(self) -> None:
        self.size = positive_range(self.size, "size", high=1)
        self.aspect = positive_range(self.aspect, "aspect")

    def __call__(
        self,
        n: int,
        height: int,
        width: int,
        generator: torch.Generator,
        device: torch.device | str = "cpu",
    ) -> Tensor:
        """Masks (n, 1, height, width) float32 in {0, 1}; ``generator`` lives on ``device``."""
        device = torch.device(device)
        side = sample(self.size, n, generator, device)
        lo, hi = self.aspect
        root = (sample((math.log(lo), math.log(hi)), n, generator, device) / 2).exp()  # sqrt
        box_h = _extent(side / root, height, self.centered)
        box_w = _extent(side * root, width, self.centered)
        if self.centered:
            top, left = (height - box_h) // 2, (width - box_w) // 2
        else:
            u = torch.rand(2, n, generator=generator, device=device)
            top = (u[0] * (height - box_h + 1)).long()
            left = (u[1] * (width - box_w + 1)).long()
        return box_masks(top, left, box_h, box_w, (height, width))
