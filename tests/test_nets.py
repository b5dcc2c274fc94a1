"""Plain networks: shapes for any input size, residual learning."""

from __future__ import annotations

import pytest
import torch

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
