"""Mask helpers shared by inpainting models, data and metrics; masks are (n, 1, H, W), 1 = hole."""

from __future__ import annotations

import torch
from torch import Tensor

from regenlab.errors import UserError


def mask_ratio(mask: Tensor) -> Tensor:
    """Hole fraction of each mask (n, 1, H, W): (n,) in [0, 1]."""
    return mask.flatten(1).float().mean(1)


def apply_mask(x: Tensor, mask: Tensor, fill: float = 0.0) -> Tensor:
    """The network input: images (n, C, H, W) with the holes of ``mask`` (n, 1, H, W) set to
    ``fill``; a soft mask in [0, 1] blends linearly."""
    return x * (1 - mask) + fill * mask


def composite(output: Tensor, x: Tensor, mask: Tensor) -> Tensor:
    """``output`` in the holes, ``x`` elsewhere: (n, C, H, W).

    A selection, not ``output * mask + x * (1 - mask)``: the valid pixels of ``x`` come back
    bit for bit (no rounding, and no NaN/inf leaking in from the output there).
    """
    return torch.where(mask > 0.5, output, x)


def check_mask(mask: Tensor, image: Tensor) -> None:
    """Raise :class:`UserError` unless ``mask`` (n, 1, H, W) fits ``image`` (..., H, W) and each
    mask has both holes (something to inpaint) and valid pixels (something to inpaint from)."""
    if mask.shape[-2:] != image.shape[-2:]:
        (h, w), (ih, iw) = mask.shape[-2:], image.shape[-2:]
        raise UserError(
            f"mask size {h}x{w} differs from image size {ih}x{iw} (HxW); "
            "generate or resize the masks at the image size"
        )
    ratio = mask_ratio(mask)
    for bad, problem in (
        (ratio == 0, "has no hole (all zeros; 1 = hole)"),
        (ratio == 1, "is all holes"),
    ):
        if bad.any():
            raise UserError(
                f"mask {problem} for image {int(bad.nonzero()[0])}; inpainting needs both holes "
                "and valid pixels: check the mask settings (area, size, threshold, invert)"
            )
