"""The DataLoader settings every data module shares."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch.distributed as dist
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
from torch.utils.data import DataLoader, Dataset, Sampler

from regenlab.errors import ConfigError


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


def check_train_batches(module: L.LightningDataModule, items: int, batch_size: int, what: str):
    """A training epoch must hold a batch on every rank: with ``drop_last`` a shorter one
    has none, and the run would train 0 steps yet be tested like a trained one."""
    world = module.trainer.world_size if module.trainer is not None else 1
    if -(-items // world) < batch_size:
        per_rank = f" over {world} processes" if world > 1 else ""
        raise ConfigError(
            f"{what} ({items}{per_rank}) is fewer than data.batch_size={batch_size}: an epoch "
            f"would have no full batch and nothing would train; raise it to >= "
            f"{batch_size * world} or lower data.batch_size"
        )


def eval_sampler(module: L.LightningDataModule, dataset: Dataset) -> Sampler | None:
    """For a val/test loader under DDP: rank r evaluates items r, r + W, r + 2W... (W ranks),
    every item exactly once. Lightning's own DistributedSampler pads the shares to equal
    length with repeated items, so 3 test images on 2 ranks were averaged as 4. Evaluation
    runs no gradient sync, so ranks may run one batch more or less than each other."""
    trainer = module.trainer
    if trainer is None or trainer.world_size == 1:
        return None  # Lightning adds nothing either
    return UnrepeatedDistributedSampler(
        dataset, num_replicas=trainer.world_size, rank=trainer.global_rank, shuffle=False
    )


def gather_in_order(trainer: L.Trainer | None, rows: list[Any]) -> list[Any]:
    """Every rank's per-item rows of an ``eval_sampler`` loader, in dataset order (the same
    list on every rank); the rows themselves when there is one process."""
    if trainer is None or trainer.world_size == 1 or not dist.is_initialized():
        return rows
    shards: list[list[Any]] = [[] for _ in range(trainer.world_size)]
    dist.all_gather_object(shards, rows)
    return [shard[j] for j in range(len(shards[0])) for shard in shards if j < len(shard)]
