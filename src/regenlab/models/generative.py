"""What every generative method shares: sample-based metrics and sample grids."""

from __future__ import annotations

from torch import Tensor

from regenlab.metrics.generative import GenerativeMetrics


class SampleEvaluation:
    """Mixin for LightningModules with ``sample(n) -> (n, C, H, W) in [0, 1]``: each val/test
    batch of real images is matched by as many samples; FID/KID are logged per epoch."""

    metrics: GenerativeMetrics | None

    def sample(self, n: int) -> Tensor:
        raise NotImplementedError

    def update_sample_metrics(self, real: Tensor) -> None:
        if self.metrics is not None:
            self.metrics.update(real, self.sample(len(real)).clamp(0, 1))

    def _log_sample_metrics(self, stage: str) -> None:
        if self.metrics is not None:
            self.log_dict({f"{stage}/{k}": v for k, v in self.metrics.compute().items()})
            self.metrics.reset()

    def on_validation_epoch_end(self) -> None:
        self._log_sample_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_sample_metrics("test")
