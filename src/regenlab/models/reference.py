"""The real-vs-real floor of the sample metrics: a "generator" that returns real images."""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor

from regenlab.errors import UserError
from regenlab.metrics.generative import GenerativeMetrics
from regenlab.models.generative import SampleEvaluation, per_split


class RealImages(SampleEvaluation, L.LightningModule):
    """Samples are images of the data's ``split`` (default 'train'), drawn without
    replacement in an order seeded by ``seed``, so FID/KID/precision/recall/density/coverage
    are measured exactly as for a trained generator (same counts, same real images, same
    features): the numbers a perfect generator reaches at this N. It has no weights, so
    regenlab-train only tests it (as with classical baselines); each seed draws other images.
    """

    def __init__(self, metrics: GenerativeMetrics | None, split: str = "train", seed: int = 0):
        super().__init__()
        self.metrics, self.split, self.seed = per_split(metrics), split, seed
        self.drawn = 0

    def on_validation_epoch_start(self) -> None:
        self.drawn = 0

    def on_test_epoch_start(self) -> None:
        self.drawn = 0

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        images = self.images(self.drawn, n)
        self.drawn += n
        return images

    def images(self, start: int, n: int) -> Tensor:
        """Images ``start .. start + n`` of the split in the seeded order."""
        data = self.trainer.datamodule.datasets[self.split]
        if start + n > len(data):
            raise UserError(
                f"the real-images reference needs {start + n} images of the {self.split} "
                f"split, which has {len(data)}; evaluate on fewer images or use a larger split"
            )
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(self.seed))
        picked = order[start : start + n].tolist()
        return torch.stack([data[i][0] for i in picked]).to(self.device)

    def image_grids(self, batch: dict[str, Tensor], n: int = 64) -> dict[str, Tensor]:
        """The first images the metrics draw, as the methods' sample grids (no draw counted)."""
        return {
            "samples": self.images(0, min(n, len(self.trainer.datamodule.datasets[self.split])))
        }

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self.update_sample_metrics(batch["image"], "val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self.update_sample_metrics(batch["image"], "test")
