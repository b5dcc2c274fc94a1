"""The DataLoader settings every data module shares."""

from __future__ import annotations

from typing import Any

import lightning as L
from torch.utils.data import DataLoader, Dataset


def batches_go_to_gpu(module: L.LightningDataModule) -> bool:
    """True when the module's Trainer trains on CUDA (False without a Trainer: a plain loop)."""
    trainer = module.trainer
    return trainer is not None and trainer.strategy.root_device.type == "cuda"


def make_loader(
    module: L.LightningDataModule,
    dataset: Dataset,
    batch_size: int,
    num_workers: int,
    pin_memory: bool | None,
    **kwargs: Any,
) -> DataLoader:
    """Workers persist across epochs (no respawn per epoch or validation). ``pin_memory=None``
    pins exactly when batches go to a GPU, where pinned pages make the copy asynchronous;
    on CPU pinning only costs time (and torch warns)."""
    pin = batches_go_to_gpu(module) if pin_memory is None else pin_memory
    return DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=num_workers,
        pin_memory=pin,
        persistent_workers=num_workers > 0,
        **kwargs,
    )
