"""VAE with a beta-weighted ELBO (Kingma & Welling 2014; Higgins et al. 2017)."""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor

from regenlab.errors import ConfigError
from regenlab.metrics import eval_means, full_precision, log_means
from regenlab.metrics.generative import GenerativeMetrics
from regenlab.models.generative import SampleEvaluation, per_split
from regenlab.models.optimization import OptimizerFactory, SchedulerFactory, optimizers
from regenlab.nets.vae import ConvVAE

LOG_2PI = math.log(2 * math.pi)


def kl_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample, in nats: (B, D) -> (B,)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(dim=1)


def log_normal(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; mu, exp(logvar)) summed over the last dim."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(dim=-1)


class VAEModule(SampleEvaluation, L.LightningModule):
    """Loss = reconstruction NLL + beta * KL, both in nats per image.

    ``likelihood="bernoulli"``: decoder outputs logits (binary-ish data such as MNIST);
    ``"gaussian"``: decoder outputs means with fixed ``sigma`` (natural images).
    ``binarize``: dynamically binarised digits, the protocol of the literature's MNIST NLLs:
    each training batch is drawn afresh as Bernoulli(pixel) (val/test with a generator seeded
    by the batch index, so their numbers repeat). Test reports the ELBO and the
    importance-weighted NLL bound with k = ``iw_samples`` samples as ``test/nll_iw{k}``
    (nats per image; Burda et al. 2016), which is tighter than -ELBO.
    """

    def __init__(
        self,
        net: ConvVAE,
        optimizer: OptimizerFactory,
        beta: float = 1.0,
        likelihood: str = "bernoulli",
        sigma: float = 0.1,
        iw_samples: int = 64,
        metrics: GenerativeMetrics | None = None,
        binarize: bool = False,
        scheduler: SchedulerFactory | None = None,
    ):
        super().__init__()
        if likelihood not in ("bernoulli", "gaussian"):
            raise ConfigError(f"likelihood must be 'bernoulli' or 'gaussian', got {likelihood!r}")
        if binarize and likelihood != "bernoulli":
            raise ConfigError(
                "model.binarize=true needs model.likelihood=bernoulli (binary pixels)"
            )
        self.net, self.metrics = net, per_split(metrics)
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.beta, self.likelihood, self.sigma = beta, likelihood, sigma
        self.iw_samples, self.binarize = iw_samples, binarize
        self.means = eval_means("reconstruction", "kl", "elbo", f"nll_iw{iw_samples}")

    def nll(self, out: Tensor, x: Tensor) -> Tensor:
        """-log p(x|z) per image (nats) from the decoder output ``out``."""
        if self.likelihood == "bernoulli":
            return F.binary_cross_entropy_with_logits(out, x, reduction="none").flatten(1).sum(1)
        z = (x - out) / self.sigma
        return (0.5 * z.pow(2) + math.log(self.sigma) + 0.5 * LOG_2PI).flatten(1).sum(1)

    def mean(self, out: Tensor) -> Tensor:
        """The decoder's image: E[x|z] in [0, 1]."""
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out.clamp(0, 1)

    def terms(self, x: Tensor) -> dict[str, Tensor]:
        mu, logvar = self.net.encode(x * 2 - 1)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        out = self.net.decode(z)
        rec, kl = self.nll(out, x), kl_normal(mu, logvar)
        return {"reconstruction": rec.mean(), "kl": kl.mean(), "elbo": -(rec + kl).mean()}

    def binarized(self, x: Tensor, seed: int | None = None) -> Tensor:
        """Bernoulli(x) pixels when ``binarize`` (fresh draws, or seeded ones), else x."""
        if not self.binarize:
            return x
        g = None if seed is None else torch.Generator(x.device).manual_seed(seed)
        return torch.bernoulli(x.clamp(0, 1), generator=g)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        t = self.terms(self.binarized(batch["image"]))
        loss = t["reconstruction"] + self.beta * t["kl"]
        self.log_dict({f"train/{k}": v for k, v in t.items()}, batch_size=len(batch["image"]))
        self.log("train/loss", loss, prog_bar=True)
        return loss

    @torch.no_grad()
    def iw_nll(self, x: Tensor) -> Tensor:
        """-log p(x) estimated with K importance samples from q(z|x), per image."""
        mu, logvar = self.net.encode(x * 2 - 1)
        log_w = []
        for _ in range(self.iw_samples):
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
            log_pz = log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
            log_w.append(-self.nll(self.net.decode(z), x) + log_pz - log_normal(z, mu, logvar))
        return -(torch.logsumexp(torch.stack(log_w), dim=0) - math.log(self.iw_samples))

    def _evaluate(self, batch: dict[str, Tensor], batch_idx: int, stage: str) -> None:
        x = batch["image"]
        with full_precision(x):  # the IW bound's logsumexp needs more than 16 bits
            self._measure(x, self.binarized(x, seed=batch_idx), stage)

    def _measure(self, x: Tensor, target: Tensor, stage: str) -> None:
        """Likelihoods of ``target`` (x, or its binarised draw); sample metrics against x."""
        values = self.terms(target)
        if stage == "test":
            values[f"nll_iw{self.iw_samples}"] = self.iw_nll(target).mean()
        log_means(self, self.means, stage, values, len(x))
        self.update_sample_metrics(x, stage)

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, batch_idx, "val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, batch_idx, "test")

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        return self.mean(self.net.decode(torch.randn(n, self.net.z_dim, device=self.device)))

    @torch.no_grad()
    def image_grids(self, batch: dict[str, Tensor], n: int = 8) -> dict[str, Tensor]:
        """Samples; inputs above their reconstructions; 8-step paths between encoded pairs."""
        x = batch["image"][: 2 * n]
        mu, _ = self.net.encode(x * 2 - 1)
        recon = self.mean(self.net.decode(mu))
        pairs = len(x) // 2
        t = torch.linspace(0, 1, 8, device=x.device).view(1, -1, 1)
        path = mu[:pairs, None] * (1 - t) + mu[pairs : 2 * pairs, None] * t  # (pairs, 8, D)
        return {
            "samples": self.sample(64),
            "reconstructions": torch.cat([x[:n], recon[:n]]),
            "interpolations": self.mean(self.net.decode(path.flatten(0, 1))),
        }

    def configure_optimizers(self) -> Any:
        return optimizers(self.parameters(), self.optimizer_factory, self.scheduler_factory)
