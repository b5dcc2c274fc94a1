"""Bicubic downsampling: exact output shapes, upsampling back, antialiasing."""

from __future__ import annotations

import pytest
import torch

from regenlab.degradations import Downsample
from tests.degradations.samples import gen


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_shapes(scale):
    x = torch.rand(2, 3, 24 * scale, 20 * scale)
    assert Downsample(scale)(x, gen()).shape == (2, 3, 24, 20)
    assert Downsample(scale, upsample=True)(x, gen()).shape == x.shape


def test_flooring_when_not_a_multiple():
    assert Downsample(3)(torch.rand(1, 1, 50, 31), gen()).shape == (1, 1, 16, 10)


def test_antialiased_and_constant_preserving():
    x = torch.full((1, 1, 48, 48), 0.6)
    torch.testing.assert_close(Downsample(4, upsample=True)(x, gen()), x)
    stripes = torch.zeros(1, 1, 48, 48)
    stripes[..., ::2] = 1  # above Nyquist of the x4 grid: antialiasing averages it to gray
    assert (Downsample(4)(stripes, gen()) - 0.5).abs().max() < 0.05


def test_scale_from_yaml_float():
    assert Downsample(2.0).scale == 2 and isinstance(Downsample(2.0).scale, int)
