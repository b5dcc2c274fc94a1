"""Callbacks that log what a researcher looks at: image grids, final hparams."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torchvision.utils import make_grid


def image_loggers(trainer: L.Trainer) -> list[Any]:
    """Logger backends that take images (TensorBoard's SummaryWriter), rank zero only."""
    if not trainer.is_global_zero:
        return []
    return [lg.experiment for lg in trainer.loggers if hasattr(lg.experiment, "add_image")]


class RestorationGrid(L.Callback):
    """Every validation, a grid of degraded / restored / clean for the first ``num_images``."""

    def __init__(self, num_images: int = 2, max_size: int = 256):
        self.num_images, self.max_size = num_images, max_size

    def on_validation_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any,
        batch_idx: int, dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        writers = image_loggers(trainer)
        if batch_idx >= self.num_images or not writers or trainer.sanity_checking:
            return
        s = self.max_size  # top-left crop keeps big images readable and the event file small
        rows = [outputs["degraded"][:1], outputs["restored"][:1], batch["clean"][:1]]
        grid = make_grid(torch.cat([r[..., :s, :s] for r in rows]).clamp(0, 1), nrow=3, padding=2)
        name = batch.get("name", [str(batch_idx)])[0]
        for w in writers:
            w.add_image(f"val/degraded_restored_clean/{name}", grid, trainer.global_step)


class SampleGrid(L.Callback):
    """Every validation, the grids a generative module shows (``module.image_grids(batch)``):
    fixed-noise samples, and for a VAE reconstructions and latent interpolations."""

    def __init__(self, nrow: int = 8):
        self.nrow = nrow

    def on_validation_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any,
        batch_idx: int, dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        writers = image_loggers(trainer)
        if batch_idx != 0 or not writers or trainer.sanity_checking:
            return
        for name, images in module.image_grids(batch).items():
            grid = make_grid(images.clamp(0, 1), nrow=self.nrow, padding=2)
            for w in writers:
                w.add_image(f"samples/{name}", grid, trainer.global_step)
