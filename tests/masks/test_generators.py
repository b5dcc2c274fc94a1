"""What every mask generator promises: shape, dtype, binary values, seeded determinism."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from regenlab.masks import BoxMask, FolderMask, StrokeMask

GENERATORS: dict[str, Callable[[Path], Callable]] = {
    "box": lambda folder: BoxMask(),
    "box_center": lambda folder: BoxMask(centered=True),
    "strokes": lambda folder: StrokeMask(),
    "folder": lambda folder: FolderMask(str(folder)),
}


def draw(make_mask: Callable, seed: int, n: int = 16) -> torch.Tensor:
    return make_mask(n, 24, 40, torch.Generator().manual_seed(seed), device="cpu")


@pytest.mark.parametrize("name", GENERATORS)
def test_masks_are_binary_float32_n_1_h_w(name, mask_folder):
    masks = draw(GENERATORS[name](mask_folder), seed=0, n=5)
    assert masks.shape == (5, 1, 24, 40) and masks.dtype == torch.float32
    assert set(masks.unique().tolist()) <= {0.0, 1.0}
    assert masks.sum() > 0


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_masks_other_seed_other_masks(name, mask_folder):
    make_mask = GENERATORS[name](mask_folder)
    first = draw(make_mask, seed=3)
    assert torch.equal(first, draw(make_mask, seed=3))
    assert torch.equal(first, draw(GENERATORS[name](mask_folder), seed=3))  # a fresh instance
    assert not torch.equal(first, draw(make_mask, seed=4))
