"""Tiled inference: seams blend away, sizes and scales are kept."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from regenlab.inference import tiled
from regenlab.nets.unet import UNet


@pytest.mark.parametrize("size", [(64, 64), (70, 101), (33, 200)])
def test_tiling_a_pointwise_function_is_exact(size):
    x = torch.rand(2, 3, *size)
    assert torch.allclose(tiled(lambda t: t * 2 + 1, x, tile=32, overlap=8), x * 2 + 1, atol=1e-6)


def test_tiling_handles_upscaling():
    x = torch.rand(1, 1, 50, 70)
    up = lambda t: F.interpolate(t, scale_factor=4, mode="nearest")  # noqa: E731
    assert torch.allclose(tiled(up, x, tile=24, overlap=8), up(x), atol=1e-6)


def test_tiled_network_output_is_close_to_untiled():
    torch.manual_seed(0)
    net = UNet(channels=1, width=8, levels=2).eval()
    x = torch.rand(1, 1, 96, 120)
    full, parts = net(x), tiled(net, x, tile=64, overlap=16)
    mse = F.mse_loss(parts, full)
    assert mse < 1e-4  # receptive-field effects only near seams, blended away
