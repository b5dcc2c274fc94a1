"""Unconditional GANs (DCGAN, WGAN-GP) on the shared adversarial loop."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from regenlab.metrics.generative import GenerativeMetrics
from regenlab.models.adversarial import AdversarialModule
from regenlab.models.generative import SampleEvaluation, per_split


class GANModule(SampleEvaluation, AdversarialModule):
    """Generator z -> image against a critic on real images; batches are ``{"image": ...}``.

    Real images arrive in [0, 1] and are mapped to the generator's [-1, 1]; ``sample``
    returns [0, 1] again. ``fixed_z`` (seeded, saved with the model) gives the sample grid
    that TensorBoard shows every epoch, so grids are comparable across epochs and runs.
    """

    def __init__(
        self,
        generator: nn.Module,
        critic: nn.Module,
        loss: Any,
        optimizer_g: Any,
        optimizer_d: Any,
        critic_steps: int = 1,
        num_fixed_samples: int = 64,
        metrics: GenerativeMetrics | None = None,
    ):
        super().__init__(generator, critic, loss, optimizer_g, optimizer_d, critic_steps)
        seeded = torch.Generator().manual_seed(0)
        self.register_buffer(
            "fixed_z", torch.randn(num_fixed_samples, generator.z_dim, generator=seeded)
        )
        self.metrics = per_split(metrics)

    def split(self, batch: dict[str, Tensor]) -> tuple[Tensor, None]:
        return batch["image"] * 2 - 1, None

    def generate(self, real: Tensor, cond: None = None) -> Tensor:
        z = torch.randn(real.shape[0], self.generator.z_dim, device=real.device)
        return self.generator(z)

    @torch.no_grad()
    def sample(self, n: int | None = None, z: Tensor | None = None) -> Tensor:
        """Images (n, C, H, W) in [0, 1] from the given, the fixed or fresh noise."""
        if z is None and n is not None:
            z = torch.randn(n, self.generator.z_dim, device=self.device)
        return (self.generator(self.fixed_z if z is None else z) + 1) / 2

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self.update_sample_metrics(batch["image"], "val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self.update_sample_metrics(batch["image"], "test")

    def image_grids(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        return {"samples": self.sample()}  # fixed noise: the same z every time
