"""One adversarial training loop for every GAN: DCGAN, WGAN-GP and cGAN inpainting.

They differ in the loss (non-saturating, hinge, Wasserstein-GP), the critic schedule and
what the generator is fed - small objects and hooks - not in the loop itself.

``global_step`` counts generator steps: critic updates go through the strategy (so mixed
precision and DDP still apply) but not through Lightning's step counter, so
``trainer.max_steps`` and checkpoint intervals mean generator steps for every GAN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from regenlab.errors import UserError

Critic = Callable[[Tensor], Tensor]


def critic_input(x: Tensor, cond: Tensor | None) -> Tensor:
    """A conditional critic (pix2pix) sees the condition stacked with the image."""
    return x if cond is None else torch.cat([cond, x], dim=1)


def gradient_penalty(critic: Critic, real: Tensor, fake: Tensor, cond: Tensor | None) -> Tensor:
    """E[(||grad_x D(x)|| - 1)^2] on random interpolates (Gulrajani et al. 2017).

    Computed in float32 with autocast off: under 16-bit mixed precision the squared
    gradient norm is badly scaled and the penalty silently wrong.
    """
    with torch.autocast(device_type=real.device.type, enabled=False):
        eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
        x = (eps * real.float() + (1 - eps) * fake.float()).requires_grad_(True)
        out = critic(critic_input(x, None if cond is None else cond.float()))
        (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
        return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


class NonSaturating:
    """The standard GAN loss with the non-saturating generator term (DCGAN, pix2pix)."""

    def critic(self, critic: Critic, real: Tensor, fake: Tensor, cond: Tensor | None) -> dict:
        d_real, d_fake = critic(critic_input(real, cond)), critic(critic_input(fake, cond))
        loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        return {"loss": loss, "real_score": d_real.mean(), "fake_score": d_fake.mean()}

    def generator(self, critic: Critic, fake: Tensor, cond: Tensor | None) -> Tensor:
        return F.softplus(-critic(critic_input(fake, cond))).mean()


class Hinge:
    """Hinge loss (SAGAN, BigGAN)."""

    def critic(self, critic: Critic, real: Tensor, fake: Tensor, cond: Tensor | None) -> dict:
        d_real, d_fake = critic(critic_input(real, cond)), critic(critic_input(fake, cond))
        loss = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        return {"loss": loss, "real_score": d_real.mean(), "fake_score": d_fake.mean()}

    def generator(self, critic: Critic, fake: Tensor, cond: Tensor | None) -> Tensor:
        return -critic(critic_input(fake, cond)).mean()


@dataclass
class WassersteinGP:
    """WGAN-GP: the critic estimates the Wasserstein distance, kept 1-Lipschitz by a penalty."""

    penalty_weight: float = 10.0

    def critic(self, critic: Critic, real: Tensor, fake: Tensor, cond: Tensor | None) -> dict:
        d_real, d_fake = critic(critic_input(real, cond)), critic(critic_input(fake, cond))
        distance = d_real.mean() - d_fake.mean()
        penalty = gradient_penalty(critic, real, fake, cond)
        loss = -distance + self.penalty_weight * penalty
        return {"loss": loss, "wasserstein": distance, "gradient_penalty": penalty}

    def generator(self, critic: Critic, fake: Tensor, cond: Tensor | None) -> Tensor:
        return -critic(critic_input(fake, cond)).mean()


class AdversarialModule(L.LightningModule):
    """The shared loop: a critic update on every batch, a generator update every
    ``critic_steps`` batches (so each critic update sees fresh real data, as in WGAN-GP).

    Subclasses say what differs through hooks: ``split`` (real images and condition from a
    batch), ``generate``, ``adversarial_view`` (what the critic judges, e.g. the composite
    of an inpainting) and ``reconstruction`` (extra generator loss terms).
    With ``adversarial_weight=0`` the critic is not trained at all (a pure reconstruction
    baseline from the same network); it may then be ``None``.
    """

    ema_part = "generator"  # +callbacks@callbacks.ema=ema averages the generator only (G-EMA)

    def __init__(
        self,
        generator: nn.Module,
        critic: nn.Module | None,
        loss: Any,
        optimizer_g: Callable[..., torch.optim.Optimizer],
        optimizer_d: Callable[..., torch.optim.Optimizer],
        critic_steps: int = 1,
        adversarial_weight: float = 1.0,
    ):
        if critic is None and adversarial_weight > 0:
            raise UserError(
                f"adversarial_weight={adversarial_weight} needs a critic; set "
                "adversarial_weight=0 for a reconstruction-only model"
            )
        super().__init__()
        self.automatic_optimization = False
        self.generator, self.critic, self.loss = generator, critic, loss
        self.optimizer_factories = (optimizer_g, optimizer_d)
        self.critic_steps, self.adversarial_weight = critic_steps, adversarial_weight

    # hooks ---------------------------------------------------------------------------
    def split(self, batch: Any) -> tuple[Tensor, Tensor | None]:
        raise NotImplementedError

    def generate(self, real: Tensor, cond: Tensor | None) -> Tensor:
        raise NotImplementedError

    def adversarial_view(self, fake: Tensor, cond: Tensor | None) -> Tensor:
        return fake

    def reconstruction(self, fake: Tensor, real: Tensor, cond: Tensor | None) -> dict:
        return {}

    # the loop ------------------------------------------------------------------------
    def training_step(self, batch: Any, batch_idx: int) -> None:
        optimizers = self.optimizers()  # a list only when there is a critic to train
        opt_g, opt_d = optimizers if isinstance(optimizers, list) else (optimizers, None)
        real, cond = self.split(batch)
        # counted over the run, not the epoch: an epoch shorter than critic_steps batches
        # (a small set, limit_train_batches) would never reach a generator step
        generator_turn = (self.trainer.fit_loop.total_batch_idx + 1) % self.critic_steps == 0
        with torch.set_grad_enabled(generator_turn):
            fake = self.generate(real, cond)
        if self.adversarial_weight > 0:
            judged = self.adversarial_view(fake.detach(), cond)
            terms = self.loss.critic(self.critic, real, judged, cond)
            # once per generator step (each self.log costs a fraction of a ms; between logger
            # writes only the last value counts), and any non-finite one for FiniteLoss
            if generator_turn or not torch.isfinite(terms["loss"]):
                self.log_terms("critic", terms, len(real))
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(terms["loss"])
            # through the strategy (precision, DDP), not LightningOptimizer.step: no global_step
            self.trainer.strategy.optimizer_step(opt_d.optimizer, closure=lambda: None)
        if generator_turn:
            terms = self.reconstruction(fake, real, cond)
            if self.adversarial_weight > 0:
                judged = self.adversarial_view(fake, cond)
                adversarial = self.loss.generator(self.critic, judged, cond)
                terms["adversarial"] = self.adversarial_weight * adversarial
            terms["loss"] = sum(terms.values())
            self.log_terms("generator", terms, len(real))
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(terms["loss"])
            opt_g.step()

    def log_terms(self, who: str, terms: dict[str, Tensor], batch_size: int) -> None:
        """Logged before backward, so a non-finite loss can be traced to its term. The logged
        ``step`` puts scalars on the generator-step axis of ``max_steps``, checkpoints and
        image grids (Lightning's default counts batches: ``critic_steps`` per generator step)."""
        logs = {f"train/{who}_{k}": v.detach() for k, v in terms.items()}
        self.log_dict({**logs, "step": float(self.global_step)}, batch_size=batch_size)

    def on_validation_epoch_start(self) -> None:
        """Validation scalars on the generator-step axis too (see ``log_terms``)."""
        self.log("step", float(self.global_step))

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        make_g, make_d = self.optimizer_factories
        optimizers = [make_g(params=self.generator.parameters())]
        if self.critic is not None:
            optimizers.append(make_d(params=self.critic.parameters()))
        return optimizers
