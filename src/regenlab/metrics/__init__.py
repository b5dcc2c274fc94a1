"""Thin wrappers around torchmetrics, with the evaluation protocol stated in one place."""

from __future__ import annotations

from contextlib import AbstractContextManager

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric


def full_precision(x: Tensor) -> AbstractContextManager:
    """Metrics are computed in float32 even when the model runs under bf16/fp16 autocast:
    SSIM's Gaussian filters and FID's feature statistics in 16 bits are wrong (SSIM even
    came out negative). Use with inputs cast by ``.float()``."""
    return torch.autocast(x.device.type, enabled=False)


def eval_means(*names: str, stages: tuple[str, ...] = ("val", "test")) -> nn.ModuleDict:
    """``means[stage][name]``: a weighted mean per value logged each val/test batch.

    Under DDP torchmetrics sums value x batch size and the batch sizes over the ranks. Not
    Lightning's ``sync_dist``: it averages each rank's integer image count with truncation,
    so 3 images on 2 ranks divided by 1 instead of 1.5 (a loss 1.5x too large). NaN stays
    NaN (a broken model must not look fine)."""
    return nn.ModuleDict(
        {
            stage: nn.ModuleDict({n: MeanMetric(nan_strategy="disable") for n in names})
            for stage in stages
        }
    )


def log_means(
    module: L.LightningModule, means: nn.ModuleDict, stage: str, values: dict[str, Tensor],
    batch_size: int,
) -> None:  # fmt: skip
    """Update and log ``means[stage]`` as ``<stage>/<name>`` with this batch's ``values``
    (named test sets are stages of their own: ``test/<set>/<name>``)."""
    for name, value in values.items():
        means[stage][name].update(value, weight=batch_size)
        module.log(
            f"{stage}/{name}", means[stage][name], batch_size=batch_size, add_dataloader_idx=False
        )
