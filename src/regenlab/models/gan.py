"""Unconditional GANs (DCGAN, WGAN-GP) on the shared adversarial loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from regenlab.metrics.generative import GenerativeMetrics
from regenlab.models.adversarial import AdversarialModule
from regenlab.models.generative import SampleEvaluation, per_split


@torch.no_grad()
def standing_statistics(net: nn.Module, inputs: Callable[[], Tensor], batches: int = 16) -> None:
    """Set BatchNorm's running statistics to exact averages over ``batches`` fresh inputs
    (BigGAN's "standing statistics").

    During training they are an exponential average over the last ~10 steps of a generator
    that keeps changing, so an eval-mode DCGAN samples with stale statistics and its FID
    comes out worse than that of the training-mode samples it was trained to make.
    """
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    training = net.training
    net.train()
    for _ in range(batches):
        net(inputs())
    net.train(training)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum


class GANModule(SampleEvaluation, AdversarialModule):
    """Generator z -> image against a critic on real images; batches are ``{"image": ...}``.

    Real images arrive in [0, 1] and are mapped to the generator's [-1, 1]; ``sample``
    returns [0, 1] again. ``fixed_z`` (seeded, saved with the model) gives the sample grid
    that TensorBoard shows every epoch, so grids are comparable across epochs and runs.
    Before each validation and test the generator's BatchNorm statistics are recomputed
    over ``standing_batches`` batches of fresh noise (``standing_statistics``).
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
        standing_batches: int = 16,
    ):
        super().__init__(generator, critic, loss, optimizer_g, optimizer_d, critic_steps)
        seeded = torch.Generator().manual_seed(0)
        self.register_buffer(
            "fixed_z", torch.randn(num_fixed_samples, generator.z_dim, generator=seeded)
        )
        self.metrics = per_split(metrics)
        self.standing_batches = standing_batches

    def recompute_statistics(self) -> None:
        """Seeded noise, batches the size of the fixed grid: the same statistics every rerun."""
        seeded = torch.Generator(self.device).manual_seed(1)
        size = self.fixed_z.shape
        noise = lambda: torch.randn(size, generator=seeded, device=self.device)  # noqa: E731
        standing_statistics(self.generator, noise, self.standing_batches)

    def on_validation_epoch_start(self) -> None:
        super().on_validation_epoch_start()
        self.recompute_statistics()

    def on_test_epoch_start(self) -> None:
        self.recompute_statistics()

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
