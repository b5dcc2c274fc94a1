"""What every generative method shares: sample-based metrics and sample grids."""

from __future__ import annotations

import copy

from torch import Tensor, nn

from regenlab.metrics.generative import GenerativeMetrics


def per_split(metrics: GenerativeMetrics | None) -> nn.ModuleDict | None:
    """One metrics object per split, since each caches the features of its real images."""
    return (
        None if metrics is None else nn.ModuleDict({"val": metrics, "test": copy.deepcopy(metrics)})
    )


class SampleEvaluation:
    """Mixin for LightningModules with ``sample(n) -> (n, C, H, W) in [0, 1]`` and
    ``self.metrics = per_split(metrics)``: each val/test batch of real images is matched
    by as many samples; FID/KID are logged per epoch."""

    metrics: nn.ModuleDict | None
    strict_loading = False  # checkpoints leave out the metrics' frozen feature extractor

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """The extractor is loaded from its own file: no copy of it in every checkpoint."""
        state = checkpoint["state_dict"]
        for key in [k for k in state if k.startswith("metrics.")]:
            del state[key]

    def sample(self, n: int) -> Tensor:
        raise NotImplementedError

    def update_sample_metrics(self, real: Tensor, stage: str) -> None:
        if self.metrics is not None:
            self.metrics[stage].update(real, self.sample(len(real)).clamp(0, 1))

    def _log_sample_metrics(self, stage: str) -> None:
        if self.metrics is not None:
            values = self.metrics[stage].compute()
            self.log_dict({f"{stage}/{k}": v for k, v in values.items()})
            self.metrics[stage].reset()

    def on_validation_epoch_end(self) -> None:
        self._log_sample_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_sample_metrics("test")
