"""Rectangular holes: area from the size range, solid rectangles, exact centring."""

from __future__ import annotations

import pytest
import torch

from regenlab.errors import ConfigError
from regenlab.masks import BoxMask, mask_ratio


def boxes(mask: BoxMask, n: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    return mask(n, height, width, torch.Generator().manual_seed(seed))


def extents(masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows and columns each box spans: (n,), (n,)."""
    return masks.amax(dim=3).sum(dim=(1, 2)), masks.amax(dim=2).sum(dim=(1, 2))


@pytest.mark.parametrize("side", [64, 128])
def test_area_follows_the_size_range(side):
    ratio = mask_ratio(boxes(BoxMask(size=[0.25, 0.5]), 64, side, side))
    # area = size^2, up to rounding each side to whole pixels (at least 11 px here)
    assert ratio.min() >= 0.25**2 * 0.9 and ratio.max() <= 0.5**2 * 1.1
    assert ratio.min() < 0.1 and ratio.max() > 0.2  # the whole range is used


def test_boxes_are_solid_rectangles_with_the_requested_sides():
    masks = boxes(BoxMask(size=0.5, aspect=1.0), 16, 64, 64)
    rows, cols = extents(masks)
    assert (rows == 32).all() and (cols == 32).all()
    assert (mask_ratio(masks) == 0.25).all()  # 32 x 32: solid, inside the image
    wide = boxes(BoxMask(size=0.5, aspect=2.0), 4, 64, 64)
    rows, cols = extents(wide)
    assert torch.equal(rows * cols, wide.sum(dim=(1, 2, 3)))
    assert ((cols / rows - 2).abs() < 0.1).all()


def test_random_boxes_move_and_stay_inside():
    masks = boxes(BoxMask(size=0.3, aspect=1.0), 32, 40, 50)
    rows, cols = extents(masks)
    assert torch.equal(rows * cols, masks.sum(dim=(1, 2, 3)))  # never clipped by the border
    centres = (masks * torch.arange(50)).sum(dim=(1, 2, 3)) / masks.sum(dim=(1, 2, 3))
    assert centres.max() - centres.min() > 15


@pytest.mark.parametrize("size", [(64, 64), (63, 64), (31, 48)])
def test_centered_boxes_are_exactly_centred(size):
    masks = boxes(BoxMask(centered=True), 16, *size)
    assert torch.equal(masks, masks.flip(-1)) and torch.equal(masks, masks.flip(-2))
    assert len(mask_ratio(masks).unique()) > 1  # sizes still vary


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"size": 0}, "size"),
        ({"size": [0.2, 1.5]}, "size"),
        ({"aspect": -1}, "aspect"),
        ({"aspect": [2.0, 0.5]}, "aspect"),
    ],
)
def test_invalid_parameters_are_config_errors(kwargs, name):
    with pytest.raises(ConfigError, match=name):
        BoxMask(**kwargs)
