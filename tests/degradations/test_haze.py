"""Haze: identity without scattering, convergence to the airlight, depth maps."""

from __future__ import annotations

import pytest
import torch

from regenlab.degradations import Haze, add_haze, ground_depth, smooth_depth
from tests.degradations.samples import gen, natural


@pytest.mark.parametrize("depth", ["smooth", "ground", "mixed"])
def test_beta_zero_is_exact_identity(depth):
    x = natural(3, batch=3, size=48)
    assert torch.equal(Haze(beta=0, depth=depth)(x, gen()), x)


def test_output_moves_toward_airlight_as_beta_grows():
    x = natural(3, batch=2, size=48)
    dist = [(Haze(beta=b, airlight=0.8)(x, gen()) - 0.8).abs().mean().item() for b in (0, 1, 3, 8)]
    assert dist == sorted(dist, reverse=True) and dist[-1] < 0.25 * dist[0]
    far = add_haze(x, torch.ones(2, 1, 48, 48), torch.full((2,), 50.0), torch.full((2,), 0.8))
    torch.testing.assert_close(far, torch.full_like(x, 0.8))


@pytest.mark.parametrize("make", [smooth_depth, ground_depth])
def test_depth_maps_in_unit_range_and_vary(make):
    d = make(4, (40, 56), gen(), torch.device("cpu"))
    assert d.shape == (4, 1, 40, 56) and d.min() >= 0 and d.max() <= 1
    assert d.std(dim=(1, 2, 3)).min() > 0.05
    assert not torch.allclose(d[0], d[1])


def test_ground_depth_rises_toward_the_top():
    d = ground_depth(8, (64, 64), gen(), torch.device("cpu"))
    rows = d.mean(dim=(1, 3))  # (8, H): mean depth per row
    assert (rows[:, 1:] <= rows[:, :-1] + 1e-6).all()
    assert (rows[:, 0] > rows[:, -1] + 0.3).all()
