"""Labelled images for generative models: train / val / test splits of one image set."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler, Subset, default_collate

from regenlab.data.loaders import check_train_batches, eval_sampler, make_loader
from regenlab.degradations.params import check_ints
from regenlab.errors import ConfigError, UserError


def check_split_rule(split_from: str | None, split_sizes: list[int] | None) -> None:
    """``split_from`` names a split and ``split_sizes`` gives [train, val, test] counts."""
    if split_from is None:
        return
    if split_from not in ("train", "test"):
        raise ConfigError(f"data.split_from must be train, test or null, got {split_from!r}")
    sizes = list(split_sizes or [])
    if len(sizes) != 3 or not all(isinstance(n, int) and n >= 0 for n in sizes) or 0 in sizes[::2]:
        raise ConfigError(
            f"data.split_sizes={split_sizes} with data.split_from={split_from}: give "
            "[train, val, test] image counts, e.g. data.split_sizes=[8000,1000,1000] (val may be 0)"
        )


def split_indices(n: int, sizes: list[int], seed: int, source: str) -> dict[str, list[int]]:
    """Disjoint train / val / test indices into ``n`` items: one permutation seeded with
    ``seed``, cut into ``sizes`` (which may leave the rest unused)."""
    if sum(sizes) > n:
        raise ConfigError(
            f"data.split_sizes={list(sizes)} asks for {sum(sizes)} images but the {source} "
            f"split has {n}; lower them to sum to at most {n}"
        )
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    train, val, _ = sizes
    cuts = {"train": (0, train), "val": (train, train + val), "test": (train + val, sum(sizes))}
    return {name: order[a:b] for name, (a, b) in cuts.items()}


def digest(parts: dict[str, list[int]]) -> str:
    """sha256 of the chosen indices: two runs with the same hash saw the same images."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def to_batch(items: list[tuple[Tensor, int]]) -> dict[str, Tensor]:
    """``(image, label)`` items -> ``{"image": (B, C, H, W), "label": (B,) int64}``."""
    images, labels = default_collate(items)
    return {"image": images, "label": labels}


class ImageDataModule(L.LightningDataModule):
    """Images of ``dataset(split=..., size=..., channels=...)`` ('train' or 'test'), batched.

    The val split is ``val_size`` images held out of 'train' by a permutation seeded with
    ``seed``, so it is the same on every rank and in every run with that seed; 'test' is the
    set's own test split. With ``split_from`` ('train' or 'test') all three come out of that
    one split instead, ``split_sizes`` = [train, val, test] images of one permutation seeded
    with ``split_seed`` (fixed, so every run and seed tests on the same images): for sets of
    which only one split is on disk, such as the MNIST test set. ``split_record`` says which
    rule made the splits (with a hash of the chosen indices) for the run record.
    ``num_classes`` says how many labels there are (None: unlabelled, every label is 0).
    """

    def __init__(
        self,
        dataset: Callable[..., Dataset],
        size: int = 32,
        channels: int = 3,
        num_classes: int | None = None,
        val_size: int = 1000,
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool | None = None,
        download: bool = False,
        seed: int = 0,
        split_from: str | None = None,
        split_sizes: list[int] | None = None,
        split_seed: int = 0,
    ):
        super().__init__()
        check_ints("data", batch_size=(batch_size, 1), num_workers=(num_workers, 0))
        check_split_rule(split_from, split_sizes)
        split_sizes = None if split_sizes is None else [int(n) for n in split_sizes]  # not a
        # ListConfig: hparams go into checkpoints, which load with weights_only=True
        if channels not in (1, 3):
            raise ConfigError(f"data.channels must be 1 (gray) or 3 (RGB), got {channels}")
        if size < 8:
            raise ConfigError(f"data.size must be >= 8, got {size}")
        if val_size < 0:
            raise ConfigError(f"data.val_size must be >= 0, got {val_size}")
        self.save_hyperparameters(ignore=["dataset"], logger=False)
        self.dataset = dataset
        self.datasets: dict[str, Dataset] = {}
        self.split_record: dict[str, Any] = {}

    @property
    def num_classes(self) -> int | None:
        return self.hparams.num_classes

    def _build(self, split: str, **kwargs: Any) -> Dataset:
        hp = self.hparams
        return self.dataset(split=split, size=hp.size, channels=hp.channels, **kwargs)

    def prepare_data(self) -> None:
        """Download once per node (Lightning calls this on one process only)."""
        if self.hparams.download:
            splits = [self.hparams.split_from] if self.hparams.split_from else ["train", "test"]
            for split in splits:
                self._build(split, download=True)

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        hp = self.hparams
        if hp.split_from:
            source = self._build(hp.split_from)
            parts = split_indices(len(source), hp.split_sizes, hp.split_seed, hp.split_from)
            self.datasets = {name: Subset(source, part) for name, part in parts.items()}
            self.split_record = {
                "rule": "split_from", "source": hp.split_from, "source_size": len(source),
                "sizes": list(hp.split_sizes), "seed": hp.split_seed,
                "indices_sha256": digest(parts),
            }  # fmt: skip
            return
        train, val_size = self._build("train"), hp.val_size
        if val_size >= len(train):
            raise ConfigError(
                f"data.val_size={val_size} leaves no training images: the train split has "
                f"{len(train)}; use data.val_size<{len(train)}"
            )
        g = torch.Generator().manual_seed(hp.seed)
        order = torch.randperm(len(train), generator=g).tolist()
        parts = {"train": order[val_size:], "val": order[:val_size]}
        self.datasets = {name: Subset(train, part) for name, part in parts.items()}
        self.datasets["test"] = self._build("test")
        self.split_record = {
            "rule": "val_held_out_of_train", "source_size": len(train), "val_size": val_size,
            "seed": hp.seed, "indices_sha256": digest(parts),
        }  # fmt: skip

    def _loader(
        self, dataset: Dataset, shuffle: bool, sampler: Sampler | None = None
    ) -> DataLoader:
        hp = self.hparams
        return make_loader(
            self, dataset, hp.batch_size, hp.num_workers, hp.pin_memory,
            shuffle=shuffle, drop_last=shuffle, collate_fn=to_batch, sampler=sampler,
        )  # fmt: skip

    def train_dataloader(self) -> DataLoader:
        train, hp = self.datasets["train"], self.hparams
        check_train_batches(self, len(train), hp.batch_size, "the train split less data.val_size")
        return self._loader(train, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader(self.datasets["val"])

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader(self.datasets["test"])

    def _eval_loader(self, dataset: Dataset) -> DataLoader:
        return self._loader(dataset, shuffle=False, sampler=eval_sampler(self, dataset))

    def real_images(self, split: str, n: int) -> Tensor:
        """The first ``n`` images of split 'train', 'val' or 'test' as one (n, C, H, W) tensor.

        For reference statistics (FID): the same images every call, run and rank.
        """
        self.setup()
        data = self.datasets[split]
        if n > len(data):
            raise UserError(
                f"{n} real images were asked of the {split} split, which has {len(data)}; "
                "ask for fewer (or raise data.val_size for val)"
            )
        batches = self._loader(Subset(data, range(n)), shuffle=False)
        return torch.cat([batch["image"] for batch in batches])
