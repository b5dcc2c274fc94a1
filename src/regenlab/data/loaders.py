"""The DataLoader settings every data module shares."""

from __future__ import annotations

from typing import Any

import lightning as L
from torch.utils.data import DataLoader, Dataset


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
    if pin_memory is None:  # without a Trainer (a plain loop) batches stay on the CPU
        trainer = module.trainer
        pin_memory = trainer is not None and trainer.strategy.root_device.type == "cuda"
    return DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
        **kwargs,
    )
