"""Inpainting as a degradation: punch masks into clean images, keep the mask for the model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from regenlab.masks.ops import apply_mask, check_mask

MaskGenerator = Callable[..., Tensor]


@dataclass
class Holes:
    """Masks from ``mask`` (1 = hole) filled with ``fill``; returns the batch fields
    ``degraded`` (the masked image) and ``mask``, so a restoration datamodule serves
    inpainting pairs as it serves noisy ones (seeded per eval item, batched on device)."""

    mask: MaskGenerator
    fill: float = 0.0

    def __call__(self, x: Tensor, generator: torch.Generator) -> dict[str, Tensor]:
        mask = self.mask(x.shape[0], x.shape[-2], x.shape[-1], generator, x.device)
        check_mask(mask, x)
        return {"degraded": apply_mask(x, mask, self.fill), "mask": mask}
