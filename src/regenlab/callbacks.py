"""Callbacks that log what a researcher looks at: image grids, final hparams."""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import EMAWeightAveraging, ModelCheckpoint, RichProgressBar
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from lightning.pytorch.utilities.exceptions import SIGTERMException
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel
from torchvision.utils import make_grid, save_image

from regenlab.errors import UserError
from regenlab.utils.run import atomic_open


class NonFiniteLossError(UserError):
    """The loss became NaN or Inf; training stops (its checkpoints are left as they were)."""


ImageWriter = Callable[[str, Tensor, int], None]  # (tag, CHW grid in [0, 1], step)


def _tensorboard_writer(logger: Any) -> ImageWriter:
    return logger.experiment.add_image


def _wandb_writer(logger: Any) -> ImageWriter:
    return lambda tag, grid, step: logger.log_image(key=tag, images=[grid], step=step)


def _mlflow_writer(logger: Any) -> ImageWriter:
    def write(tag: str, grid: Tensor, step: int) -> None:
        image = grid.permute(1, 2, 0).mul(255).round().byte().cpu().numpy()  # HWC uint8
        logger.experiment.log_image(logger.run_id, image, artifact_file=f"{tag}/{step:08d}.png")

    return write


def image_writer(logger: Any) -> ImageWriter | None:
    """How ``logger`` takes an image grid, or None when it cannot (CSV): TensorBoard's
    ``add_image``, W&B's ``log_image``, MLflow's artifact PNGs."""
    from lightning.pytorch.loggers import MLFlowLogger, WandbLogger

    if isinstance(logger, WandbLogger):
        return _wandb_writer(logger)
    if isinstance(logger, MLFlowLogger):
        return _mlflow_writer(logger)
    if hasattr(logger.experiment, "add_image"):
        return _tensorboard_writer(logger)
    return None


def image_loggers(trainer: L.Trainer) -> list[ImageWriter]:
    """A writer for each logger that takes images, rank zero only."""
    if not trainer.is_global_zero:
        return []
    return [w for w in map(image_writer, trainer.loggers) if w is not None]


class Checkpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint, plus one save when training stops between two
    validations (``max_steps`` reached mid-epoch), so the final weights are never lost.

    Configured to save after validation rather than at the train epoch end: Lightning
    restores an epoch-end checkpoint of a ``max_steps`` run by replaying an empty epoch, and
    the resumed data stream would jump one epoch ahead (conf/callbacks/model_checkpoint.yaml).
    """

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self._should_skip_saving_checkpoint(trainer):
            return
        candidates = self._monitor_candidates(trainer)
        if self.monitor is None:  # no metric to rank by: the newest is the one to keep
            self._save_topk_checkpoint(trainer, candidates)
        self._save_last_checkpoint(trainer, candidates)


class ProgressBar(RichProgressBar):
    """Lightning's Rich bar; a run sized in steps (``max_epochs: -1``, as every run here) gets
    one training bar for the whole run: optimizer steps against ``max_steps``, so its time
    column is the ETA of the run, where Lightning restarts a bar (and its ETA) every epoch."""

    @property
    def step_sized(self) -> bool:
        return self.trainer.max_epochs == -1 and self.trainer.max_steps > 0

    @property
    def total_train_batches(self) -> int | float:
        return self.trainer.max_steps if self.step_sized else super().total_train_batches

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self.step_sized and self.train_progress_bar_id is not None:
            return  # Lightning would reset the bar, and its ETA, every epoch
        super().on_train_epoch_start(trainer, module)
        if self.step_sized and self.progress is not None:  # a resumed run: where it stopped
            self.progress.reset(self.train_progress_bar_id, completed=trainer.global_step)

    def on_train_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any,
        batch_idx: int,
    ) -> None:  # fmt: skip
        # Lightning moves the bar to batch_idx + 1; a step-sized bar is at global_step
        position = trainer.global_step - 1 if self.step_sized else batch_idx
        super().on_train_batch_end(trainer, module, outputs, batch, position)

    def _get_train_description(self, current_epoch: int) -> str:
        if not self.step_sized:
            return super()._get_train_description(current_epoch)
        return "Steps".ljust(len(self.validation_description))


def with_progress_bar(callbacks: list[L.Callback], enabled: bool) -> list[L.Callback]:
    """``callbacks`` with this module's ProgressBar for every stage (fit, test: trained and
    classical runs, regenlab-eval) when the trainer shows progress, where Lightning would
    add its own bar in another style; without any when ``trainer.enable_progress_bar=false``,
    where Lightning refuses a configured bar."""
    from lightning.pytorch.callbacks import ProgressBar as AnyProgressBar

    bars = [c for c in callbacks if isinstance(c, AnyProgressBar)]
    others = [c for c in callbacks if not isinstance(c, AnyProgressBar)]
    return [*others, *(bars or [ProgressBar()])] if enabled else others


class RestorationGrid(L.Callback):
    """Every validation, a grid of degraded / restored / clean for the first ``num_images``."""

    def __init__(self, num_images: int = 2, max_size: int = 256):
        self.num_images, self.max_size = num_images, max_size

    def on_validation_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any,
        batch_idx: int, dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        writers = image_loggers(trainer)
        if batch_idx >= self.num_images or not writers or trainer.sanity_checking:
            return
        s = self.max_size  # top-left crop keeps big images readable and the event file small
        rows = [outputs["degraded"][:1], outputs["restored"][:1], batch["clean"][:1]]
        grid = make_grid(torch.cat([r[..., :s, :s] for r in rows]).clamp(0, 1), nrow=3, padding=2)
        name = batch.get("name", [str(batch_idx)])[0]
        for w in writers:
            w(f"val/degraded_restored_clean/{name}", grid, trainer.global_step)


class SampleGrid(L.Callback):
    """Every validation, the grids a module shows (``module.image_grids(batch)``): GAN
    fixed-noise samples, VAE reconstructions and interpolations, inpainting rows. The test
    also writes them as ``<run>/images/<name>.png``: the tested weights' pictures, ready for
    a paper or README (the last validation's may come from a later, worse step)."""

    def __init__(self, nrow: int = 8):
        self.nrow = nrow

    def grids(self, module: L.LightningModule, batch: Any) -> dict[str, Tensor]:
        return {
            name: make_grid(images.clamp(0, 1), nrow=self.nrow, padding=2)
            for name, images in module.image_grids(batch).items()
        }

    def on_validation_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any,
        batch_idx: int, dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        writers = image_loggers(trainer)
        if batch_idx != 0 or not writers or trainer.sanity_checking:
            return
        for name, grid in self.grids(module, batch).items():
            for w in writers:
                w(f"images/{name}", grid, trainer.global_step)

    def on_test_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any,
        batch_idx: int, dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        if batch_idx != 0 or dataloader_idx != 0 or not trainer.is_global_zero:
            return
        for name, grid in self.grids(module, batch).items():
            with atomic_open(Path(trainer.default_root_dir) / "images" / f"{name}.png", "wb") as f:
                save_image(grid, f, format="png")


def last_checkpoint(trainer: L.Trainer) -> str:
    """What a run that stops now leaves to resume from, in words."""
    callback = trainer.checkpoint_callback
    paths = [callback.last_model_path, callback.best_model_path] if callback else []
    saved = next((p for p in paths if p and Path(p).is_file()), None)
    if saved is None:
        return "No checkpoint of this run was written yet."
    return f"The last good checkpoint is kept: {saved}."


class FiniteLoss(L.Callback):
    """Stop with a clear message when a loss is NaN/Inf, or skip that batch (``skip=True``).

    Runs before every backward, automatic or manual (GAN critic and generator alike); a
    skipped batch has its gradients dropped after backward, so the optimizer step that
    follows leaves the weights untouched. An exception never writes a checkpoint, so the
    last good one stays as it was.
    """

    def __init__(self, skip: bool = False):
        self.skip, self.skipped, self.applied, self._drop_grads = skip, 0, 0, False

    def on_before_backward(self, trainer: L.Trainer, module: L.LightningModule, loss: Any) -> None:
        self._drop_grads = not bool(torch.isfinite(loss).all())
        if not self._drop_grads:
            self.applied += 1
            return
        bad = [
            k for k, v in trainer.callback_metrics.items()
            if k.startswith("train/") and not bool(torch.isfinite(v).all())
        ] or ["train/loss"]  # fmt: skip
        where = f"at step {trainer.global_step} (epoch {trainer.current_epoch})"
        if not self.skip:
            raise NonFiniteLossError(
                f"loss became {loss.detach().float().item()} {where}; non-finite: "
                f"{', '.join(bad)}. {last_checkpoint(trainer)} Lower the learning "
                "rate, or set callbacks.finite_loss.skip=true to skip such batches"
            )
        self.skipped += 1
        rank_zero_warn(f"skipped a batch with non-finite loss {where} ({self.skipped} so far)")

    def on_after_backward(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self._drop_grads:
            for p in module.parameters():
                p.grad = None


class InterruptCheckpoint(L.Callback):
    """Ctrl-C (SIGINT) or SIGTERM (SLURM preemption): save a resumable checkpoint first.

    Lightning stops after the current batch and calls this hook; other errors (a NaN loss,
    a bug) save nothing, so the last good checkpoint is what remains. Not Lightning's
    ``OnExceptionCheckpoint``: with one of those, ``fit(ckpt_path=None)`` means "the newest
    checkpoint in the dir", so a new run in a reused ``hydra.run.dir`` silently continued
    the old one. Resuming is explicit here (``resume=<dir>`` or ``ckpt_path=``).
    """

    def __init__(self, dirpath: str | Path, filename: str = "interrupted"):
        self.ckpt_path = str(Path(dirpath) / f"{filename}.ckpt")

    def on_exception(self, trainer: L.Trainer, module: L.LightningModule, exc: BaseException):
        if isinstance(exc, (KeyboardInterrupt, SIGTERMException)):
            trainer.save_checkpoint(self.ckpt_path)
            rank_zero_info(
                f"interrupted at step {trainer.global_step}; resumable checkpoint: "
                f"{self.ckpt_path}\nresume with: regenlab-train <same overrides> "
                f"ckpt_path={self.ckpt_path}"
            )

    def teardown(self, trainer: L.Trainer, module: L.LightningModule, stage: str) -> None:
        """A fit that ran to its end leaves its last.ckpt: the interrupted one is stale."""
        if stage == "fit":
            trainer.strategy.remove_checkpoint(self.ckpt_path)


class RNGState(L.Callback):
    """Keeps the global torch / numpy / python RNG states in every checkpoint.

    Lightning restores weights, optimizers and loops, not the global generators that draw
    crops, flips and shuffles; with them restored, a run resumed from its last checkpoint
    continues exactly as the uninterrupted run would (same seed, CPU). Tensors and plain
    numbers only, so checkpoints still load with ``weights_only=True``.
    """

    def state_dict(self) -> dict[str, Any]:
        kind, keys, pos, has_gauss, cached = np.random.get_state()
        return {
            "torch": torch.get_rng_state(),
            "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
            "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        torch.set_rng_state(state["torch"])
        kind, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
        if state["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])


def warmup_ema(average: Tensor, current: Tensor, num_averaged: Tensor, decay: float) -> Tensor:
    """One EMA update whose decay grows with the number of updates (``EMA``'s warmup)."""
    d = ((1 + num_averaged) / (10 + num_averaged)).clamp(max=decay)  # on device: no sync
    return average + (1 - d) * (current - average)


class EMA(EMAWeightAveraging):
    """Lightning's EMA of the weights (validation and checkpoints' ``state_dict`` hold the
    average; ``current_model_state`` the raw weights to resume from), made to hold for a
    whole run here:

    - the test after fit loads best.ckpt and tests its ``state_dict``, the average, as
      regenlab-eval does (Lightning's hook put the raw weights back: the test reported the
      raw model while validation had ranked the average);
    - the average replaces the model's weights at the end of fit (teardown), not at
      ``on_train_end``, where ``Checkpoint`` may still save: that last.ckpt would hold the
      average as its raw weights, and a resumed run would continue from the average;
    - a model whose ``ema_part`` names a submodule averages that one only: the GANs'
      generator (G-EMA), while the critic trains and is saved as it is;
    - ``warmup``: the decay ramps as min(decay, (1 + n) / (10 + n)) over the n updates so
      far (TensorFlow's ExponentialMovingAverage with num_updates): a fixed 0.999 keeps
      ~37% of the first 1000 steps' weights at step 1000, and an early validation of a GAN
      ranks a blur of its untrained generator (a DCGAN on digits: FID 1009, 1 class of 10,
      at step 1000).
    """

    def __init__(self, decay: float = 0.999, warmup: bool = True, **kwargs: Any):
        super().__init__(decay=decay, **kwargs)
        if warmup:
            self._kwargs["avg_fn"] = partial(warmup_ema, decay=decay)

    def part(self, module: L.LightningModule) -> tuple[nn.Module, str]:
        """The averaged submodule and the prefix of its names in the model's state_dict."""
        name = getattr(module, "ema_part", None)
        return (getattr(module, name), f"{name}.") if name else (module, "")

    def setup(self, trainer: L.Trainer, module: L.LightningModule, stage: str) -> None:
        if stage == "fit":
            device = self._device or module.device
            averaged = self.part(module)[0]
            self._average_model = AveragedModel(
                averaged, device=device, use_buffers=self._use_buffers, **self._kwargs
            )

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, *args) -> None:
        super().on_train_batch_end(trainer, self.part(module)[0], *args)

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, self.part(module)[0])

    def _swap_models(self, module: L.LightningModule) -> None:
        super()._swap_models(self.part(module)[0])

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        """Nothing yet: a checkpoint saved after this hook must hold the raw weights."""

    def teardown(self, trainer: L.Trainer, module: L.LightningModule, stage: str) -> None:
        if stage == "fit" and self._average_model is not None:
            self._copy_average_to_current(self.part(module)[0])

    def on_save_checkpoint(
        self, trainer: L.Trainer, module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if self._average_model is None:
            return
        prefix = self.part(module)[1]
        average = self._average_model.state_dict()
        checkpoint["current_model_state"] = checkpoint["state_dict"]
        checkpoint["state_dict"] = checkpoint["state_dict"] | {
            prefix + k.removeprefix("module."): v
            for k, v in average.items()
            if k.startswith("module.")
        }
        checkpoint["averaging_state"] = {
            k: v for k, v in average.items() if not k.startswith("module.")
        }

    def on_load_checkpoint(
        self, trainer: L.Trainer, module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """Resuming a fit restores both models; testing a checkpoint keeps its state_dict."""
        if trainer.state.fn != "fit" or self._average_model is None:
            return
        prefix = self.part(module)[1]
        average = {
            f"module.{k.removeprefix(prefix)}": v
            for k, v in checkpoint["state_dict"].items()
            if k.startswith(prefix)
        }
        if "averaging_state" not in checkpoint:  # not written with EMA: start from its weights
            self._average_model.load_state_dict(average, strict=False)
            return
        self._average_model.load_state_dict(average | checkpoint["averaging_state"])
        module.load_state_dict(checkpoint["current_model_state"])
