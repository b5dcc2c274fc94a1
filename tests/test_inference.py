"""Tiled inference: seams blend away, sizes and scales are kept."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from regenlab.inference import self_ensemble, tiled
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


@pytest.mark.parametrize("tiles_per_batch", [3, 64])
def test_batched_tiles_give_the_same_output_as_one_tile_at_a_time(tiles_per_batch):
    """Several tiles per call (a partial last group, two images, an SR-style net) blend
    into the same image as the one-tile-per-call default."""
    torch.manual_seed(0)
    net = UNet(channels=1, width=4, levels=1).eval()
    up = lambda t: F.interpolate(net(t), scale_factor=2, mode="nearest")  # noqa: E731
    x = torch.rand(2, 1, 40, 57)
    for fn in (net, up):
        one = tiled(fn, x, tile=16, overlap=4)
        batched = tiled(fn, x, tile=16, overlap=4, tiles_per_batch=tiles_per_batch)
        torch.testing.assert_close(batched, one)


def test_tiles_per_batch_must_be_positive():
    with pytest.raises(ValueError, match="tiles_per_batch=0"):
        tiled(lambda t: t, torch.rand(1, 1, 64, 64), tile=32, overlap=8, tiles_per_batch=0)


def test_self_ensemble_is_exact_for_pointwise_functions_and_equivariant_otherwise():
    x = torch.rand(2, 1, 12, 16)
    assert torch.allclose(self_ensemble(lambda t: t * 2 + 1, x), x * 2 + 1, atol=1e-6)
    ramp = torch.linspace(0, 1, 16)
    biased = lambda t: t + ramp[: t.shape[-1]]  # noqa: E731  (not rotation-equivariant)
    square = torch.rand(1, 1, 16, 16)
    rotated = torch.rot90(square, 1, dims=(-2, -1))
    assert torch.allclose(
        self_ensemble(biased, rotated), torch.rot90(self_ensemble(biased, square), 1, (-2, -1))
    )


def test_tiled_reports_each_call_on_tiles():
    """The hook of predict's per-tile progress bar: (tiles done, tiles in all) per call."""
    calls = []
    tiled(lambda t: t, torch.rand(1, 1, 40, 50), 16, 4, tiles_per_batch=5,
          on_tile=lambda done, total: calls.append((done, total)))  # fmt: skip
    assert calls == [(5, 12), (10, 12), (12, 12)]  # 3 x 4 tiles of 16 with stride 12
    calls.clear()
    tiled(lambda t: t, torch.rand(1, 1, 16, 16), 16, 4, on_tile=lambda *a: calls.append(a))
    assert calls == []  # one call on the whole image: no tiles to count
