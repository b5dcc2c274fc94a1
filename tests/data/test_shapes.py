"""The procedural shapes: reproducible from (seed, index), balanced, visible, any size."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from regenlab.data.shapes import SHAPE_CLASSES, ShapesDataset, shapes


def test_items_depend_on_seed_and_index_only():
    a, b = ShapesDataset(seed=3), ShapesDataset(seed=3)
    first = a[17][0]
    assert torch.equal(first, a[17][0]) and torch.equal(first, b[17][0])
    assert a[17][1] == b[17][1]
    assert not torch.equal(first, ShapesDataset(seed=4)[17][0])
    assert not torch.equal(first, a[21][0])  # same class, another image


@pytest.mark.parametrize(("size", "channels"), [(32, 3), (64, 3), (32, 1), (64, 1)])
def test_images_have_size_channels_dtype_and_range(size, channels):
    data = ShapesDataset(size=size, length=8, channels=channels)
    for i in range(len(data)):
        image, label = data[i]
        assert image.shape == (channels, size, size) and image.dtype == torch.float32
        assert image.min() >= 0 and image.max() <= 1
        assert isinstance(label, int)


def test_classes_are_balanced():
    counts = Counter(ShapesDataset(length=200)[i][1] for i in range(200))
    assert counts == {label: 50 for label in range(len(SHAPE_CLASSES))}


@pytest.mark.parametrize("channels", [1, 3])
def test_shape_stands_out_from_its_background(channels):
    """Each channel of the background differs >= 0.3 from the shape, even in gray."""
    data = ShapesDataset(size=32, length=40, channels=channels)
    for i in range(len(data)):
        image = data[i][0]
        assert (image.amax(dim=(1, 2)) - image.amin(dim=(1, 2))).min() > 0.2


def test_train_and_test_splits_are_disjoint_index_ranges():
    train = shapes("train", length=12, test_length=4, seed=1)
    test = shapes("test", length=12, test_length=4, seed=1)
    assert (len(train), len(test)) == (12, 4)
    assert torch.equal(test[0][0], ShapesDataset(length=16, seed=1)[12][0])
    with pytest.raises(IndexError):
        ShapesDataset(length=16)[16]
