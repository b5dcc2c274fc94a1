"""Bicubic downsampling for super-resolution inputs (the usual x2 / x3 / x4 "bicubic" setting)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from regenlab.degradations.params import as_int


def downsample(x: Tensor, scale: int, upsample: bool = False) -> Tensor:
    """Bicubic (antialiased) (B, C, H, W) -> (B, C, H // scale, W // scale), clipped to [0, 1].

    H and W should be multiples of ``scale`` (crop them first), otherwise the sampling grid is
    slightly stretched. ``upsample=True`` resizes back to (H, W) by bicubic interpolation, the
    input of pre-upsampling SR networks (SRCNN, VDSR) that keep the image size.
    """
    h, w = x.shape[-2:]
    y = F.interpolate(
        x, size=(h // scale, w // scale), mode="bicubic", align_corners=False, antialias=True
    )
    if upsample:
        y = F.interpolate(y, size=(h, w), mode="bicubic", align_corners=False)
    return y.clamp(0, 1)


@dataclass
class Downsample:
    """Downsampling by an integer ``scale`` >= 1; output (B, C, H // scale, W // scale).

    With ``upsample=True`` the output is resized back to the input size. The caller crops H and
    W to multiples of ``scale`` (e.g. ``crop_size`` a multiple of it). Deterministic: the
    generator is unused.
    """

    scale: int = 4
    upsample: bool = False

    def __post_init__(self) -> None:
        self.scale = as_int(self.scale, "scale", low=1)

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return downsample(x, self.scale, self.upsample)
