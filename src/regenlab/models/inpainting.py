"""Conditional-GAN inpainting (pix2pix-style) on the shared adversarial loop."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from regenlab.masks import composite
from regenlab.metrics import full_precision
from regenlab.metrics.image import SSIM_MIN_SIZE
from regenlab.metrics.inpainting import InpaintingMetrics
from regenlab.models.adversarial import AdversarialModule


def masked_l1(x: Tensor, y: Tensor, weight: Tensor) -> Tensor:
    """Mean |x - y| over the pixels where ``weight`` (B, 1, H, W) is 1."""
    return ((x - y).abs() * weight).sum() / (weight.sum() * x.shape[1]).clamp_min(1)


class InpaintingModule(AdversarialModule):
    """A U-Net sees the masked image and the mask (C + 1 channels) and predicts the image;
    the output is composited, ``out * m + in * (1 - m)``, so valid pixels are kept exactly.

    Loss: L1 on the hole and on the valid region (separate weights) plus the adversarial
    term of a PatchGAN that judges the composite conditioned on the masked input.
    ``adversarial_weight=0`` is the L1-only U-Net baseline from the same network.
    Batches: ``{"degraded": masked image, "mask": 1 = hole, "clean": target}``.
    """

    def __init__(
        self,
        generator: nn.Module,
        critic: nn.Module | None,
        loss: Any,
        optimizer_g: Any,
        optimizer_d: Any,
        critic_steps: int = 1,
        adversarial_weight: float = 0.01,
        hole_weight: float = 6.0,
        valid_weight: float = 1.0,
    ):
        super().__init__(
            generator, critic, loss, optimizer_g, optimizer_d, critic_steps, adversarial_weight
        )
        self.hole_weight, self.valid_weight = hole_weight, valid_weight
        self.min_size = SSIM_MIN_SIZE  # of val/test images (the generator adds its own)
        self.metrics = nn.ModuleDict({s: InpaintingMetrics() for s in ("val", "test")})

    def split(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        return batch["clean"], torch.cat([batch["degraded"], batch["mask"]], dim=1)

    def generate(self, real: Tensor, cond: Tensor) -> Tensor:
        return self.generator(cond)

    def adversarial_view(self, fake: Tensor, cond: Tensor) -> Tensor:
        return composite(fake, cond[:, :-1], cond[:, -1:])

    def reconstruction(self, fake: Tensor, real: Tensor, cond: Tensor) -> dict[str, Tensor]:
        mask = cond[:, -1:]
        return {
            "hole_l1": self.hole_weight * masked_l1(fake, real, mask),
            "valid_l1": self.valid_weight * masked_l1(fake, real, 1 - mask),
        }

    def forward(self, masked: Tensor, mask: Tensor) -> Tensor:
        """The composited result: (B, C, H, W)."""
        return composite(self.generator(torch.cat([masked, mask], dim=1)), masked, mask)

    def _evaluate(self, batch: dict[str, Tensor], stage: str) -> None:
        out = self(batch["degraded"], batch["mask"]).float()
        with full_precision(out):
            self.metrics[stage].update(out.clamp(0, 1), batch["clean"], batch["mask"])

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def _log_metrics(self, stage: str) -> None:
        values = self.metrics[stage].compute()
        self.log_dict({f"{stage}/{k}": v for k, v in values.items()}, sync_dist=False)
        self.metrics[stage].reset()

    def on_validation_epoch_end(self) -> None:
        self._log_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_metrics("test")

    @torch.no_grad()
    def image_grids(self, batch: dict[str, Tensor], n: int = 4) -> dict[str, Tensor]:
        """Rows: masked input, mask, raw output, composite, clean (first ``n`` images)."""
        masked, mask, clean = batch["degraded"][:n], batch["mask"][:n], batch["clean"][:n]
        raw = self.generator(torch.cat([masked, mask], dim=1))
        rows = [masked, mask.expand_as(masked), raw, composite(raw, masked, mask), clean]
        return {"masked_mask_output_composite_clean": torch.cat(rows)}
