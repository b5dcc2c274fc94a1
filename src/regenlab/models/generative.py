"""What every generative method shares: sample-based metrics and sample grids."""

from __future__ import annotations

import copy
import functools
from typing import Any

from torch import Tensor, nn

from regenlab.metrics import full_precision
from regenlab.metrics.generative import FID_LIKE, GenerativeMetrics


def per_split(metrics: GenerativeMetrics | None) -> nn.ModuleDict | None:
    """One metrics object per split, since each caches the features of its real images."""
    return (
        None if metrics is None else nn.ModuleDict({"val": metrics, "test": copy.deepcopy(metrics)})
    )


class SampleEvaluation:
    """Mixin for LightningModules with ``sample(n) -> (n, C, H, W) in [0, 1]`` and
    ``self.metrics = per_split(metrics)``: each val/test batch of real images is matched
    by as many samples; FID/KID are logged per epoch, and ``protocols`` keeps what each
    logged FID-like number was measured over (for the run record)."""

    metrics: nn.ModuleDict | None
    strict_loading = False  # checkpoints leave out the metrics' frozen feature extractor
    protocols: dict[str, dict[str, Any]]

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """The extractor is loaded from its own file: no copy of it in every checkpoint."""
        state = checkpoint["state_dict"]
        for key in [k for k in state if k.startswith("metrics.")]:
            del state[key]

    def sample(self, n: int) -> Tensor:
        raise NotImplementedError

    def setup(self, stage: str) -> None:
        """Real-image features come from the on-disk cache when this data was seen before
        (single process only: under DDP each rank holds a shard of them)."""
        trainer = self.trainer
        datamodule = getattr(trainer, "datamodule", None)
        self.protocols = getattr(self, "protocols", {})  # fit's val entries stay for test
        if self.metrics is None or datamodule is None:
            return
        for split, metric in self.metrics.items():
            limit = trainer.limit_val_batches if split == "val" else trainer.limit_test_batches
            metric.reference = reference(datamodule, split, limit)
            if trainer.world_size == 1:
                metric.use_cache({**data_identity(datamodule), "split": split, "limit": limit})

    def update_sample_metrics(self, real: Tensor, stage: str) -> None:
        """Not in Lightning's sanity check: its batch would become the split's cached real
        images (val FID, precision/recall... against 64 digits, on disk for later runs)."""
        if self.metrics is not None and not self.trainer.sanity_checking:
            fake = self.sample(len(real)).float().clamp(0, 1)
            with full_precision(fake):
                self.metrics[stage].update(real, fake)

    def _log_sample_metrics(self, stage: str) -> None:
        if self.metrics is not None and not self.trainer.sanity_checking:
            values = self.metrics[stage].compute()
            self.log_dict({f"{stage}/{k}": v for k, v in values.items()})
            protocol = self.metrics[stage].protocol()
            self.protocols |= {f"{stage}/{k}": protocol for k in FID_LIKE if k in values}
            self.metrics[stage].reset()

    def on_validation_epoch_end(self) -> None:
        self._log_sample_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_sample_metrics("test")


def reference(datamodule: Any, split: str, limit: Any) -> dict[str, Any]:
    """Which real images a split's FID-like numbers compare against, for the protocol."""
    dataset = getattr(datamodule, "dataset", None)
    name = getattr(getattr(dataset, "func", dataset), "__qualname__", type(datamodule).__name__)
    split_rule = getattr(datamodule, "split_record", {})
    return {"split": split, "dataset": name, "limit_batches": limit,
            "split_indices_sha256": split_rule.get("indices_sha256")}  # fmt: skip


def data_identity(datamodule: Any) -> dict[str, Any]:
    """What decides a datamodule's real images (not how they are batched or loaded)."""
    loading = {"batch_size", "num_workers", "pin_memory", "download", "eval_batch_size"}
    hparams = {k: v for k, v in dict(datamodule.hparams).items() if k not in loading}
    dataset = getattr(datamodule, "dataset", None)
    if isinstance(dataset, functools.partial):
        dataset = {"fn": f"{dataset.func.__module__}.{dataset.func.__qualname__}",
                   "args": dataset.args, "kwargs": dataset.keywords}  # fmt: skip
    return {"datamodule": type(datamodule).__qualname__, "hparams": hparams, "dataset": dataset}
