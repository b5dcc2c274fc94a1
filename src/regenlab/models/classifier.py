"""The domain classifier behind offline FID/KID: trained by regenlab, saved to a path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics.classification import MulticlassAccuracy

from regenlab.metrics.generative import save_feature_net
from regenlab.nets.classifier import SmallConvNet


class ClassifierModule(L.LightningModule):
    """Cross-entropy on ``{"image", "label"}`` batches; at the end of fit the net is saved
    to ``save_path`` (what ``DomainFeatures(path)`` loads) and beside the run, and
    ``saved_net`` names the file and its sha256 for the run record."""

    def __init__(
        self,
        net: SmallConvNet,
        optimizer: Callable[..., torch.optim.Optimizer],
        save_path: str | None = None,
    ):
        super().__init__()
        self.net, self.optimizer_factory, self.save_path = net, optimizer, save_path
        self.saved_net: dict[str, str] = {}
        classes = net.config["num_classes"]
        self.accuracy = torch.nn.ModuleDict(
            {s: MulticlassAccuracy(num_classes=classes) for s in ("val", "test")}
        )

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        loss = F.cross_entropy(self.net(batch["image"]), batch["label"])
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def _evaluate(self, batch: dict[str, Tensor], stage: str) -> None:
        logits = self.net(batch["image"])
        self.accuracy[stage].update(logits, batch["label"])
        self.log(f"{stage}/accuracy", self.accuracy[stage], prog_bar=True)

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def on_fit_end(self) -> None:
        if not self.trainer.is_global_zero:
            return
        targets = [Path(self.trainer.default_root_dir) / "feature_net.pt"]
        targets += [Path(self.save_path)] if self.save_path else []
        for path in targets:
            digest = save_feature_net(self.net, path)
        self.saved_net = {"path": str(targets[-1]), "sha256": digest}

    def configure_optimizers(self) -> Any:
        return self.optimizer_factory(params=self.parameters())
