"""Rust stains: the mask locates every change, coverage and colour are as configured."""

from __future__ import annotations

import pytest
import torch

from regenlab.degradations import RustStains
from tests.degradations.samples import gen, natural


@pytest.mark.parametrize("channels", [1, 3])
def test_mask_locates_the_stains(channels):
    x = natural(channels, batch=4, size=64)
    stained, mask = RustStains(coverage=0.25).with_mask(x, gen())
    assert torch.equal(RustStains(coverage=0.25)(x, gen()), stained)
    assert mask.shape == (4, 1, 64, 64) and mask.min() >= 0 and mask.max() <= 1
    clean = (mask == 0).expand_as(x)
    assert torch.equal(stained[clean], x[clean])
    changed = (stained - x).abs().amax(dim=1, keepdim=True)
    assert (changed[mask > 0.3] > 0).float().mean() > 0.95
    assert changed[mask > 0.3].mean() > 0.1


def test_coverage_is_the_stained_area():
    x = torch.full((8, 3, 64, 64), 0.9)
    for coverage in (0.05, 0.2, 0.5):
        _, mask = RustStains(coverage=coverage).with_mask(x, gen())
        area = (mask > 0).float().mean(dim=(1, 2, 3))
        torch.testing.assert_close(area, torch.full((8,), coverage), atol=0.01, rtol=0)
    _, mask = RustStains(coverage=0).with_mask(x, gen())
    assert mask.max() == 0


def test_stains_are_rust_coloured():
    x = torch.ones(4, 3, 64, 64)
    stained, mask = RustStains(coverage=0.3, opacity=1).with_mask(x, gen())
    r, g, b = (stained[:, i : i + 1][mask > 0.5] for i in range(3))
    assert (r > g).all() and (g > b).all()  # orange-brown: R > G > B
    assert r.std() > 0.01  # textured, not a flat colour
