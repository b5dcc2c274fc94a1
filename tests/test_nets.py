"""Plain networks: shapes for any input size, residual learning."""

from __future__ import annotations

import pytest
import torch

from regenlab.errors import ConfigError
from regenlab.nets.dncnn import DnCNN
from regenlab.nets.unet import UNet


@pytest.mark.parametrize("size", [(32, 32), (37, 50), (17, 9)])
def test_unet_accepts_any_size(size):
    net = UNet(channels=3, width=8, levels=3)
    assert net(torch.rand(2, 3, *size)).shape == (2, 3, *size)


@pytest.mark.parametrize("net", [UNet(1, width=8, levels=2), DnCNN(1, depth=4, width=8)])
def test_residual_nets_start_near_identity_when_last_layer_is_zero(net):
    last = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    x = torch.rand(1, 1, 16, 16)
    assert torch.allclose(net(x), x)


def test_unet_with_other_output_channels_is_not_residual():
    net = UNet(channels=4, out_channels=3, width=8, levels=1)
    assert net(torch.rand(1, 4, 16, 16)).shape == (1, 3, 16, 16) and not net.residual


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (1, 40)])
def test_unet_takes_images_smaller_than_its_stride(size):
    """Before: reflect padding of a 1x1 image raised a torch error (a predict traceback)."""
    x = torch.rand(1, 1, *size)
    assert UNet(1, width=4, levels=3)(x).shape == x.shape


@pytest.mark.parametrize(
    ("build", "message"),
    [(lambda: UNet(width=-3), "width must be an integer >= 1, got -3"),
     (lambda: UNet(levels=0), "levels must be an integer >= 1, got 0"),
     (lambda: DnCNN(depth=0), "depth must be an integer >= 1, got 0")],
)  # fmt: skip
def test_nets_refuse_sizes_below_one(build, message):
    with pytest.raises(ConfigError, match=message):
        build()
