"""Mask helpers: hole ratio, masking the input, compositing, checks with clear messages."""

from __future__ import annotations

import pytest
import torch

from regenlab.errors import UserError
from regenlab.masks import BoxMask, apply_mask, check_mask, composite, mask_ratio


@pytest.fixture
def mask() -> torch.Tensor:
    return BoxMask()(4, 16, 20, torch.Generator().manual_seed(0))


def test_mask_ratio_is_the_hole_fraction_per_image():
    mask = torch.zeros(2, 1, 4, 5)
    mask[0, :, :, :2] = 1
    assert mask_ratio(mask).tolist() == pytest.approx([0.4, 0.0])


def test_apply_mask_fills_the_holes_only(mask):
    x = torch.rand(4, 3, 16, 20)
    masked = apply_mask(x, mask, fill=0.5)
    hole = mask.bool().expand_as(x)
    assert (masked[hole] == 0.5).all() and torch.equal(masked[~hole], x[~hole])


def test_composite_keeps_valid_pixels_exactly(mask):
    x = torch.rand(4, 3, 16, 20)
    output = torch.rand(4, 3, 16, 20) * 1e6
    output[~mask.bool().expand_as(x)] = float("nan")  # must not leak into the valid region
    out = composite(output, x, mask)
    hole = mask.bool().expand_as(x)
    assert torch.equal(out[~hole], x[~hole]) and torch.equal(out[hole], output[hole])


def test_check_mask_accepts_a_fitting_mask(mask):
    check_mask(mask, torch.rand(4, 3, 16, 20))


def test_check_mask_size_mismatch_names_both_sizes(mask):
    with pytest.raises(UserError, match=r"mask size 16x20 differs from image size 32x32"):
        check_mask(mask, torch.rand(4, 3, 32, 32))


def test_check_mask_rejects_masks_without_holes_or_without_valid_pixels(mask):
    image = torch.rand(4, 3, 16, 20)
    mask[2] = 0
    with pytest.raises(UserError, match=r"mask has no hole .* for image 2"):
        check_mask(mask, image)
    mask[2] = 1
    with pytest.raises(UserError, match=r"mask is all holes for image 2"):
        check_mask(mask, image)
