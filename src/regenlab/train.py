"""``regenlab-train``: fit a model, test its best checkpoint, record the run.

regenlab-train                                   # default: gray denoising, sigma=25
regenlab-train model=dncnn degradation.sigma=50  # any key of conf/ can be overridden
regenlab-train experiment=denoise_blind          # a recipe from conf/experiment/
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from hydra.utils import instantiate
from lightning_utilities.core.rank_zero import rank_zero_warn
from omegaconf import DictConfig, OmegaConf

from regenlab.errors import UserError
from regenlab.sweeps import in_multirun, sweep_job
from regenlab.utils.config import (
    CONF_DIR,
    check_accelerator,
    check_new_run_dir,
    check_trainer_keys,
    check_write_paths,
    instantiate_all,
    instantiate_datamodule,
)
from regenlab.utils.console import one_line_per_event, print_metrics, report_user_errors
from regenlab.utils.run import load_run_config, save_metrics, save_per_image, save_run_info

if TYPE_CHECKING:
    import lightning as L

# torch and Lightning are imported where they are used: `regenlab-train --help` and config
# mistakes then answer in a fraction of a second instead of after seconds of imports.


def log_hparams(trainer: L.Trainer, cfg: DictConfig, metrics: dict[str, float]) -> None:
    """The run's config next to its final metrics: TensorBoard's hparams tab (the loggers
    flatten and sanitise nested configs themselves)."""
    from lightning.pytorch.loggers import TensorBoardLogger

    params = OmegaConf.to_container(cfg, resolve=True)
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(params, metrics)
        else:
            logger.log_hyperparams(params)


def train(cfg: DictConfig, extra_callbacks: list[L.Callback] = ()) -> dict[str, float]:
    """The recipe: seed, instantiate, fit, test the best checkpoint, save the record.

    ``extra_callbacks`` join the configured ones (for notebooks and benchmarks).
    """
    import lightning as L
    import torch

    check_trainer_keys(cfg.trainer)
    check_accelerator(cfg.trainer)
    check_write_paths(cfg)
    check_new_run_dir(cfg)
    L.seed_everything(cfg.seed, workers=True)
    save_run_info(cfg, cfg.paths.output_dir)
    datamodule = instantiate_datamodule(cfg)
    model = instantiate(cfg.model)
    trainable = any(p.requires_grad for p in model.parameters())  # classical baselines: none
    if cfg.get("train", True) and trainable:
        check_training_length(cfg)
    if cfg.get("channels_last"):
        model = model.to(memory_format=torch.channels_last)
    if cfg.get("compile"):
        model = torch.compile(model)  # Lightning trains the compiled module, saves the plain one
    trainer: L.Trainer = instantiate(
        cfg.trainer,
        callbacks=[*instantiate_all(cfg.get("callbacks")), *extra_callbacks],
        logger=instantiate_all(cfg.get("logger")) or False,
    )
    best, best_score, training = "", {}, {}
    if cfg.get("train", True) and trainable:
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
        checkpoint = trainer.checkpoint_callback
        if checkpoint is not None:
            best = checkpoint.best_model_path
            if checkpoint.monitor and checkpoint.best_model_score is not None:
                best_score = {f"{checkpoint.monitor}_best": float(checkpoint.best_model_score)}
        training = training_record(trainer)
    results = trainer.test(model, datamodule=datamodule, ckpt_path=best or None, verbose=False)
    metrics = {k: float(v) for k, v in (results[0] if results else {}).items()} | best_score
    log_hparams(trainer, cfg, metrics)
    out = Path(cfg.paths.output_dir).resolve()
    best_rel = str(Path(best).resolve().relative_to(out)) if best else None
    save_metrics(
        out, metrics, best_checkpoint=best_rel, trained_steps=trainer.global_step, **training
    )
    save_per_image(out, model)
    return metrics


def check_training_length(cfg: DictConfig) -> None:
    """A run that is to train must be able to take a step (``max_steps: -1`` = no limit)."""
    if cfg.trainer.get("max_steps") == 0 and not cfg.trainer.get("fast_dev_run"):
        raise UserError(
            "trainer.max_steps=0 trains nothing, yet the run would be tested and recorded as "
            "trained; give trainer.max_steps>0, or train=false to test the model untrained"
        )


def training_record(trainer: L.Trainer) -> dict[str, Any]:
    """How much this fit changed the weights: batches skipped as non-finite, and a warning
    (in metrics.json and on the console) when no step at all did."""
    from regenlab.callbacks import FiniteLoss

    finite = next((c for c in trainer.callbacks if isinstance(c, FiniteLoss)), None)
    record: dict[str, Any] = {"skipped_batches": finite.skipped} if finite else {}
    if trainer.global_step == 0 or (finite is not None and finite.applied == 0):
        record["warning"] = (
            f"no training step changed the weights ({trainer.global_step} steps, "
            f"{record.get('skipped_batches', 0)} batches skipped as non-finite): these "
            "metrics are those of the untrained model"
        )
        rank_zero_warn(record["warning"])
    return record


def resumed(cfg: DictConfig) -> DictConfig:
    """``resume=<run_dir>``: that run's own config, from its newest checkpoint, in its dir."""
    run_dir = Path(cfg.resume).expanduser()
    if not (run_dir / "config.yaml").is_file():
        raise UserError(f"resume={run_dir} is not a regenlab run (no config.yaml)")
    checkpoints = [p for p in (run_dir / "checkpoints").glob("*.ckpt") if p.stem != "best"]
    if not checkpoints:
        raise UserError(f"resume={run_dir}: no checkpoint to resume from in {run_dir}/checkpoints")
    run_cfg = load_run_config(run_dir)
    run_cfg.resume = str(run_dir)
    run_cfg.ckpt_path = str(max(checkpoints, key=lambda p: p.stat().st_mtime))
    return run_cfg


@report_user_errors
def train_and_report(cfg: DictConfig) -> float | None:
    if cfg.get("resume"):
        cfg = resumed(cfg)
    metrics = train(cfg)
    print_metrics(metrics, title="test metrics", footer=f"run dir: {cfg.paths.output_dir}")
    return metrics.get(cfg.get("optimized_metric"))


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
def main(cfg: DictConfig) -> float | None:
    """The value returned is what a Hydra sweeper (e.g. Optuna) optimises."""
    one_line_per_event()
    return sweep_job(train, cfg) if in_multirun() else train_and_report(cfg)


if __name__ == "__main__":
    main()
