"""The feature net's training: per-image augmentation, and the saved net is the tested one."""

from __future__ import annotations

import torch

from regenlab.models.classifier import random_affine


def test_random_affine_moves_each_image_on_its_own():
    torch.manual_seed(0)
    images = torch.zeros(4, 1, 16, 16)
    images[:, :, 6:10, 6:10] = 1  # the same square in every image
    moved = random_affine(images, shift=0.2, degrees=15, scale=0.1)
    assert moved.shape == images.shape
    assert not torch.allclose(moved[0], moved[1])  # its own shift/rotation/zoom each
    assert not torch.allclose(moved[0], images[0])
    assert moved.min() >= 0 and moved.max() <= 1  # bilinear: no overshoot
    assert torch.equal(random_affine(images), images)  # no settings: untouched
