"""Noise statistics: Gaussian, Poisson, speckle and salt-and-pepper."""

from __future__ import annotations

import pytest
import torch

from regenlab.degradations import GaussianNoise, PoissonNoise, SaltAndPepper, SpeckleNoise
from tests.degradations.samples import gen


def test_gaussian_std_matches_sigma():
    x = torch.full((4, 3, 64, 64), 0.9)
    y = GaussianNoise(sigma=25)(x, gen())
    assert (y - x).std().item() == pytest.approx(25 / 255, rel=0.02)
    assert (y - x).mean().abs().item() < 0.005
    assert y.max() > 1.2  # unclipped (AWGN convention)


def test_gaussian_range_draws_one_sigma_per_image():
    x = torch.zeros(8, 1, 64, 64)
    stds = GaussianNoise(sigma=[0, 55])(x, gen()).std(dim=(1, 2, 3)) * 255
    assert stds.min() >= 0 and stds.max() <= 55 * 1.05
    assert stds.max() - stds.min() > 10


def test_gray_noise_is_shared_across_channels():
    n = GaussianNoise(sigma=25, color=False)(torch.zeros(2, 3, 16, 16), gen())
    assert torch.equal(n[:, 0], n[:, 1]) and torch.equal(n[:, 0], n[:, 2])
    c = GaussianNoise(sigma=25, color=True)(torch.zeros(2, 3, 16, 16), gen())
    assert not torch.equal(c[:, 0], c[:, 1])


def test_poisson_variance_follows_intensity():
    peak = 100.0
    variances = []
    for level in (0.1, 0.3, 0.6):
        x = torch.full((4, 1, 64, 64), level)
        y = PoissonNoise(scale=peak)(x, gen())
        assert y.mean().item() == pytest.approx(level, rel=0.02)
        variances.append(y.var().item())
        assert variances[-1] == pytest.approx(level / peak, rel=0.08)
    assert variances == sorted(variances)


def test_poisson_lower_peak_is_noisier():
    x = torch.full((4, 1, 32, 32), 0.3)
    assert PoissonNoise(5)(x, gen()).var() > 4 * PoissonNoise(50)(x, gen()).var()


def test_speckle_is_multiplicative():
    x = torch.full((4, 3, 64, 64), 0.5)
    x[:, :, :, :8] = 0  # black stays black
    y = SpeckleNoise(sigma=0.1)(x, gen())
    assert torch.equal(y[..., :8], x[..., :8])
    rel = y[..., 8:] / 0.5 - 1
    assert rel.std().item() == pytest.approx(0.1, rel=0.03)


@pytest.mark.parametrize("amount, salt", [(0.1, 0.5), (0.3, 0.2), (0.05, 1.0)])
def test_salt_and_pepper_amount_and_ratio(amount, salt):
    x = torch.full((4, 3, 64, 64), 0.5)
    y = SaltAndPepper(amount=amount, salt_vs_pepper=salt)(x, gen())
    hit = (y != 0.5).all(dim=1)  # whole pixels are hit, every channel alike
    assert torch.equal(hit, (y != 0.5).any(dim=1))
    assert hit.float().mean().item() == pytest.approx(amount, abs=0.01)
    white = (y == 1).all(dim=1).float().mean().item()
    assert white == pytest.approx(amount * salt, abs=0.01)
    assert set(y.unique().tolist()) <= {0.0, 0.5, 1.0}
