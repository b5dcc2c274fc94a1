"""Supervised restoration: a network maps a degraded image to its clean version."""

from __future__ import annotations

from typing import Any

import lightning as L
from torch import Tensor, nn
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from regenlab.data.loaders import gather_in_order
from regenlab.degradations.resize import resize
from regenlab.errors import ConfigError
from regenlab.inference import check_tiling, self_ensemble, tiled
from regenlab.metrics import eval_means, full_precision, log_means
from regenlab.metrics.image import (
    MS_SSIM_MIN_SIZE,
    SSIM_MIN_SIZE,
    check_extra_metrics,
    crop_border,
    image_metrics,
    lpips_net,
    rgb_to_y,
    to_8bit,
)
from regenlab.models.optimization import OptimizerFactory, SchedulerFactory, optimizers
from regenlab.nets.weights import load_weights_file


def per_image_rows(
    names: list[str] | None, pairs: dict[str, Tensor], views: list[str] = ("",)
) -> list[dict[str, Any]]:
    """PSNR/SSIM of output and input for each image of a batch, for per-image tables;
    ``views`` "_y" adds the Y-channel columns (``psnr_y``, ``psnr_y_input``, ...)."""
    values = {}
    for view in views:
        for which, suffix in (("output", ""), ("input", "_input")):
            x, y = pairs[which], pairs["clean"]
            if view == "_y":
                x, y = rgb_to_y(x), rgb_to_y(y)
            values[f"psnr{view}{suffix}"] = peak_signal_noise_ratio(
                x, y, data_range=1.0, dim=(1, 2, 3), reduction="none"
            )
            values[f"ssim{view}{suffix}"] = structural_similarity_index_measure(
                x, y, data_range=1.0, reduction="none"
            )
    names = names or [str(i) for i in range(len(pairs["clean"]))]
    return [{"name": n, **{k: float(v[i]) for k, v in values.items()}} for i, n in enumerate(names)]


class RestorationModule(L.LightningModule):
    """Trains ``net`` with a pixel loss; reports PSNR/SSIM of the output and of the input.

    Batches are dicts with ``degraded`` and ``clean`` (B, C, H, W) in [0, 1]. The input's
    metrics are the "do nothing" reference every table needs. When the degraded image is
    smaller (super-resolution) it is upsampled first for its metrics, as the papers' "Bicubic"
    row: MATLAB's bicubic kernel, rounded to 8 bits.
    ``crop_border`` pixels are ignored on each side (SR convention); ``y_channel`` adds
    ``psnr_y``/``ssim_y`` on the luma of RGB images; ``tile`` evaluates large images in
    overlapping tiles, e.g. ``regenlab-eval run_dir=<run> model.tile=256``; ``ensemble``
    averages the 8 flips/rotations of each input at val/test time (8x slower, ~+0.1 dB).
    ``weights`` loads a published ``state_dict`` into the net (``weights_key_map`` renames
    key prefixes, e.g. ``{dncnn.: body.}``): with ``train=false`` such a net is tested like a
    classical baseline, on the same data, noise and metrics.
    ``extra_metrics`` adds ``ms_ssim`` (val/test images of 176 px or more, checked before
    training), ``psnrb`` (JPEG; on the luma, so no ``psnrb_y``) and ``lpips`` (its AlexNet
    from the local file ``lpips_weights``; on RGB, so no ``lpips_y``).
    """

    def __init__(
        self,
        net: nn.Module,
        optimizer: OptimizerFactory,
        loss: nn.Module | None = None,
        scheduler: SchedulerFactory | None = None,
        crop_border: int = 0,
        y_channel: bool = False,
        tile: int | None = None,
        tile_overlap: int = 16,
        ensemble: bool = False,
        weights: str | None = None,
        weights_key_map: dict[str, str] | None = None,
        weights_strict: bool = True,
        weights_entry: str | None = None,
        extra_metrics: list[str] = (),
        lpips_weights: str | None = None,
    ):
        super().__init__()
        self.net = net
        if weights:
            load_weights_file(net, weights, weights_key_map, weights_strict, weights_entry)
        # factories stay attributes, not hparams: checkpoints must load with weights_only=True
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.loss = loss if loss is not None else nn.L1Loss()
        self.crop_border, self.y_channel = crop_border, y_channel
        check_tiling(tile, tile_overlap)
        self.tile, self.tile_overlap, self.ensemble = tile, tile_overlap, ensemble
        self.means = eval_means("loss")
        check_extra_metrics(extra_metrics)
        self.extra_metrics = list(extra_metrics)
        lpips = lpips_net(lpips_weights) if "lpips" in self.extra_metrics else None
        self.__dict__["lpips_net"] = lpips  # shared by the metrics, not in checkpoints
        smallest = MS_SSIM_MIN_SIZE if "ms_ssim" in self.extra_metrics else SSIM_MIN_SIZE
        self.min_size = smallest + 2 * crop_border  # of val/test images (nets add theirs)
        self.per_image: list[dict[str, Any]] = []  # test rows: name, psnr, ssim (per_image.csv)
        self.test_rows: dict[str, list[dict[str, Any]]] = {}  # the same, per test set
        self.views = ["", "_y"] if y_channel else [""]
        self.metrics = nn.ModuleDict(
            {stage: self._stage_metrics(stage) for stage in ("val", "test")}
        )
        self.test_stages = ["test"]

    def _stage_metrics(self, stage: str) -> nn.ModuleDict:
        return nn.ModuleDict(
            {
                f"{which}{view}": image_metrics(
                    f"{stage}/",
                    postfix=f"{view}{suffix}",
                    extra=[m for m in self.extra_metrics if not view or m == "ms_ssim"],
                    lpips=self.lpips_net,
                )
                for view in self.views
                for which, suffix in (("output", ""), ("input", "_input"))
            }
        )

    def setup(self, stage: str) -> None:
        """Metrics for each named test set of the datamodule (``test/<name>/psnr``), made here
        so that they move to the device and sync across processes like the others."""
        self.test_stages = list(getattr(self.trainer.datamodule, "test_splits", ["test"]))
        for name in self.test_stages:
            if name not in self.metrics:
                self.metrics[name] = self._stage_metrics(name)
                self.means.update(eval_means("loss", stages=(name,)))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def restore(self, x: Tensor) -> Tensor:
        """Evaluation-time restoration: the net, optionally self-ensembled."""
        return self_ensemble(self, x) if self.ensemble else self(x)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        loss = self.loss(self(batch["degraded"]), batch["clean"])
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def _evaluate(self, batch: dict[str, Any], stage: str) -> dict[str, Tensor]:
        degraded, clean = batch["degraded"], batch["clean"]
        # the net too runs in float32 here: autocast is for training speed (bf16 evaluation
        # cost the BM3D recipe 0.01 dB)
        with full_precision(degraded):
            restored = tiled(self.restore, degraded, self.tile, self.tile_overlap).float()
            return self._measure(restored, degraded, clean, batch.get("name"), stage)

    def _measure(
        self, restored: Tensor, degraded: Tensor, clean: Tensor, names: Any, stage: str
    ) -> dict[str, Tensor]:
        if restored.shape != clean.shape:
            raise ConfigError(
                f"the model's output {tuple(restored.shape)} differs from the clean images "
                f"{tuple(clean.shape)}: does the model match the degradation (e.g. an "
                "upsampling net or classical/bicubic only with degradation.upsample=false)?"
            )
        log_means(self, self.means, stage, {"loss": self.loss(restored, clean)}, len(clean))
        if degraded.shape[-2:] != clean.shape[-2:]:
            degraded = to_8bit(resize(degraded, clean.shape[-2:], "matlab"))
        pairs = {"output": to_8bit(restored), "input": degraded, "clean": clean}
        pairs = {k: crop_border(v, self.crop_border) for k, v in pairs.items()}
        for name, metric in self.metrics[stage].items():
            which = pairs[name.removesuffix("_y")]
            target = pairs["clean"]
            if name.endswith("_y"):
                which, target = rgb_to_y(which), rgb_to_y(target)
            metric.update(which, target)
            self.log_dict(
                metric, batch_size=len(clean), prog_bar=name == "output", add_dataloader_idx=False
            )
        if stage.startswith("test"):
            named = {"set": stage.removeprefix("test/")} if stage != "test" else {}
            rows = [named | row for row in per_image_rows(names, pairs, self.views)]
            self.test_rows.setdefault(stage, []).extend(rows)
        return {"restored": restored, "degraded": degraded}

    def on_test_epoch_start(self) -> None:
        self.per_image, self.test_rows = [], {}

    def on_test_epoch_end(self) -> None:
        # DDP: every rank's rows, gathered set by set so each set keeps its image order
        self.per_image = [
            row
            for stage in self.test_stages
            for row in gather_in_order(self.trainer, self.test_rows.get(stage, []))
        ]

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Tensor]:
        return self._evaluate(batch, "val")

    def test_step(
        self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0
    ) -> dict[str, Tensor]:
        return self._evaluate(batch, self.test_stages[dataloader_idx])

    def configure_optimizers(self) -> dict[str, Any]:
        return optimizers(self.parameters(), self.optimizer_factory, self.scheduler_factory)
