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
        data = self.trainer.datamodule.datasets[self.split]
        if self.drawn + n > len(data):
            raise UserError(
                f"the real-images reference needs {self.drawn + n} images of the {self.split} "
                f"split, which has {len(data)}; evaluate on fewer images or use a larger split"
            )
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(self.seed))
        picked = order[self.drawn : self.drawn + n].tolist()
        self.drawn += n
        return torch.stack([data[i][0] for i in picked]).to(self.device)

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self.update_sample_metrics(batch["image"], "val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self.update_sample_metrics(batch["image"], "test")
