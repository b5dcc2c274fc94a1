"""JPEG compression artefacts (blocking, ringing, colour bleeding) via libjpeg (torchvision)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torchvision.io import ImageReadMode, decode_jpeg, encode_jpeg

from regenlab.degradations.params import as_int_range, sample_int
from regenlab.errors import ConfigError


def jpeg_compress(x: Tensor, quality: Tensor) -> Tensor:
    """Encode and decode (B, C, H, W) in [0, 1], C = 1 or 3, at quality (B,) ints in 1..100.

    Images are rounded to 8 bits and coded on the CPU (libjpeg via torchvision), in groups of
    equal quality, one call per distinct value; the result returns to ``x.device``.
    """
    if x.shape[1] not in (1, 3):
        raise ConfigError(f"JPEG needs 1 or 3 channels, got {x.shape[1]}")
    images = (x.clamp(0, 1) * 255).round().to(torch.uint8).cpu()
    out = torch.empty_like(images)
    q = quality.cpu()
    for value in q.unique().tolist():
        idx = (q == value).nonzero().flatten()
        encoded = encode_jpeg(list(images.index_select(0, idx)), quality=int(value))
        out.index_copy_(0, idx, torch.stack(decode_jpeg(encoded, mode=ImageReadMode.UNCHANGED)))
    return out.to(x.device, x.dtype) / 255


@dataclass
class JPEG:
    """JPEG at ``quality`` (integers in 1..100), fixed or drawn per image from ``[low, high]``."""

    quality: int | Sequence[int] = (30, 95)

    def __post_init__(self) -> None:
        self.quality = as_int_range(self.quality, "quality", low=1, high=100)

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return jpeg_compress(x, sample_int(self.quality, x.shape[0], generator, x.device))
