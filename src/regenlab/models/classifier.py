"""The domain classifier behind offline FID/KID: trained by regenlab, saved to a path."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics.classification import MulticlassAccuracy

from regenlab.metrics.generative import save_feature_net
from regenlab.models.optimization import OptimizerFactory, SchedulerFactory, optimizers
from regenlab.nets.classifier import SmallConvNet


def random_affine(
    images: Tensor, shift: float = 0.0, degrees: float = 0.0, scale: float = 0.0
) -> Tensor:
    """Each image of (B, C, H, W) moved by its own random shift (fraction of the size),
    rotation (+-degrees) and zoom (1 +- scale), borders zero-filled: one batched
    ``grid_sample``, since torchvision's RandomAffine draws one setting per batch."""
    if not (shift or degrees or scale):
        return images
    b = images.shape[0]
    uniform = lambda: torch.rand(b, device=images.device) * 2 - 1  # noqa: E731
    angle, zoom = uniform() * math.radians(degrees), 1 + uniform() * scale
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [torch.stack([cos, -sin, uniform() * 2 * shift], 1),
         torch.stack([sin, cos, uniform() * 2 * shift], 1)], 1
    )  # fmt: skip
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, padding_mode="zeros", align_corners=False)


class ClassifierModule(L.LightningModule):
    """Cross-entropy on ``{"image", "label"}`` batches (``augment``: random_affine settings
    for training batches); at the end of fit the net of the best checkpoint - the one that
    is then tested - is saved to ``save_path`` (what ``DomainFeatures(path)`` loads) and
    beside the run, and ``saved_net`` names the file and its sha256 for the run record."""

    def __init__(
        self,
        net: SmallConvNet,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        augment: dict[str, float] | None = None,
        save_path: str | None = None,
    ):
        super().__init__()
        self.net, self.save_path = net, save_path
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.augment = dict(augment or {})
        self.saved_net: dict[str, str] = {}
        classes = net.config["num_classes"]
        self.accuracy = torch.nn.ModuleDict(
            {s: MulticlassAccuracy(num_classes=classes, average="micro") for s in ("val", "test")}
        )

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        images = random_affine(batch["image"], **self.augment)
        loss = F.cross_entropy(self.net(images), batch["label"])
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
        net = self.net
        best = getattr(self.trainer.checkpoint_callback, "best_model_path", "")
        if best:  # the weights regenlab-train tests next, not the last step's
            state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
            net = SmallConvNet(**self.net.config)
            net.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("net.")})
        targets = [Path(self.trainer.default_root_dir) / "feature_net.pt"]
        targets += [Path(self.save_path)] if self.save_path else []
        for path in targets:
            digest = save_feature_net(net, path)
        self.saved_net = {"path": str(targets[-1]), "sha256": digest}

    def configure_optimizers(self) -> Any:
        return optimizers(self.parameters(), self.optimizer_factory, self.scheduler_factory)
