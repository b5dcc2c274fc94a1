"""Masks from a folder of files: resized, binarised, cycled, inverted; clear errors."""

from __future__ import annotations

import pytest
import torch

from regenlab.errors import ConfigError, UserError
from regenlab.masks import FolderMask
from tests.masks.conftest import SIZE, expected_masks


def test_files_are_resized_binarised_and_cycled(mask_folder):
    masks = FolderMask(str(mask_folder)).for_indices(range(7), *SIZE)
    assert masks.shape == (7, 1, *SIZE) and masks.dtype == torch.float32
    expected = expected_masks()
    assert torch.equal(masks, expected[[0, 1, 2, 0, 1, 2, 0]])


def test_invert_and_threshold(mask_folder):
    inverted = FolderMask(str(mask_folder), invert=True).for_indices([0, 1, 2], *SIZE)
    assert torch.equal(inverted, 1 - expected_masks())
    strict = FolderMask(str(mask_folder), threshold=0.9).for_indices([0, 1, 2], *SIZE)
    assert strict.sum() == 0  # the bright pixels (0.78) are no longer holes


def test_random_picks_are_files_of_the_folder(mask_folder):
    masks = FolderMask(str(mask_folder))(12, *SIZE, torch.Generator().manual_seed(0))
    expected = expected_masks()
    picked = [next(i for i, e in enumerate(expected) if torch.equal(m, e)) for m in masks]
    assert set(picked) == {0, 1, 2}


def test_files_are_read_once_per_size(mask_folder):
    masks = FolderMask(str(mask_folder))
    first = masks.for_indices([0], *SIZE)
    for path in mask_folder.glob("*.png"):
        path.unlink()
    assert torch.equal(masks.for_indices([0], *SIZE), first)


def test_missing_folder_is_a_user_error_when_first_used(tmp_path):
    masks = FolderMask(str(tmp_path / "nowhere"))  # building the config reads nothing
    with pytest.raises(UserError, match=r"mask folder .*nowhere does not exist; create it with"):
        masks(2, 8, 8, torch.Generator())


def test_empty_folder_is_a_user_error(tmp_path):
    (tmp_path / "readme.txt").write_text("masks go here")
    with pytest.raises(UserError, match=r"no mask images in .*; put mask images \(.png"):
        FolderMask(str(tmp_path)).for_indices([0], 8, 8)


def test_threshold_outside_0_1_is_a_config_error():
    with pytest.raises(ConfigError, match=r"threshold must be a number in \[0, 1\), got 1.5"):
        FolderMask("masks", threshold=1.5)
