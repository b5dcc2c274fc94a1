"""Inpainting as a degradation: fields for the datamodule, bad masks rejected."""

from __future__ import annotations

import pytest
import torch

from regenlab.errors import UserError
from regenlab.masks import BoxMask, Holes


def test_holes_give_masked_image_and_mask_and_keep_valid_pixels():
    x = torch.rand(4, 3, 32, 32)
    out = Holes(BoxMask(), fill=0.0)(x, torch.Generator().manual_seed(0))
    mask = out["mask"]
    assert out["degraded"].shape == x.shape and mask.shape == (4, 1, 32, 32)
    valid = (mask == 0).expand_as(x)
    assert torch.equal(out["degraded"][valid], x[valid])
    assert (out["degraded"][(mask == 1).expand_as(x)] == 0).all()


def test_a_mask_without_holes_is_rejected():
    def no_holes(n, h, w, generator, device):
        return torch.zeros(n, 1, h, w, device=device)

    with pytest.raises(UserError, match="no hole"):
        Holes(no_holes)(torch.rand(2, 3, 8, 8), torch.Generator())
