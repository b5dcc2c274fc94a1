"""VAE maths: analytic KL, the importance-weighted bound, the likelihoods."""

from __future__ import annotations

import math

import pytest
import torch

from regenlab.errors import ConfigError
from regenlab.models.vae import VAEModule, kl_normal, log_normal
from regenlab.nets.vae import ConvVAE


def test_analytic_kl_matches_monte_carlo():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(1, 6, generator=g), torch.randn(1, 6, generator=g) * 0.5
    z = mu + torch.randn(200_000, 6, generator=g) * (0.5 * logvar).exp()
    zeros = torch.zeros_like(z)
    mc = (log_normal(z, mu, logvar) - log_normal(z, zeros, zeros)).mean()
    assert kl_normal(mu, logvar).item() == pytest.approx(mc.item(), rel=0.02)


def test_kl_is_zero_for_the_prior():
    assert kl_normal(torch.zeros(3, 4), torch.zeros(3, 4)).abs().max() == 0


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_importance_weighted_nll_is_at_most_negative_elbo_on_average(likelihood):
    torch.manual_seed(0)
    module = VAEModule(ConvVAE(z_dim=4, channels=1, size=8, width=4), torch.optim.Adam,
                       likelihood=likelihood, iw_samples=64).eval()  # fmt: skip
    x = torch.rand(16, 1, 8, 8)
    with torch.no_grad():
        elbo = torch.stack([module.terms(x)["elbo"] for _ in range(50)]).mean()
        assert module.iw_nll(x).mean() <= -elbo + 1e-3


def test_gaussian_nll_of_a_perfect_mean_is_the_normalising_constant():
    module = VAEModule(ConvVAE(4, 1, 8, 4), torch.optim.Adam, likelihood="gaussian", sigma=0.1)
    x = torch.rand(2, 1, 8, 8)
    expected = 64 * (math.log(0.1) + 0.5 * math.log(2 * math.pi))
    assert module.nll(x, x)[0].item() == pytest.approx(expected, rel=1e-5)


def test_unknown_likelihood_is_a_config_error():
    with pytest.raises(ConfigError, match="likelihood"):
        VAEModule(ConvVAE(4, 1, 8, 4), torch.optim.Adam, likelihood="laplace")


def test_binarize_draws_binary_pixels_fresh_in_training_and_seeded_in_evaluation():
    module = VAEModule(ConvVAE(4, 1, 8, 4), torch.optim.Adam, binarize=True)
    x = torch.full((64, 1, 8, 8), 0.3)
    fresh, again = module.binarized(x), module.binarized(x)
    assert set(fresh.unique().tolist()) == {0.0, 1.0} and not torch.equal(fresh, again)
    assert fresh.mean().item() == pytest.approx(0.3, abs=0.03)  # Bernoulli(pixel)
    assert torch.equal(module.binarized(x, seed=3), module.binarized(x, seed=3))
    plain = VAEModule(ConvVAE(4, 1, 8, 4), torch.optim.Adam)
    assert plain.binarized(x) is x


def test_binarize_needs_the_bernoulli_likelihood():
    with pytest.raises(ConfigError, match=r"binarize=true needs model\.likelihood=bernoulli"):
        VAEModule(ConvVAE(4, 1, 8, 4), torch.optim.Adam, likelihood="gaussian", binarize=True)
