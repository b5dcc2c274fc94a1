"""``regenlab-train``: fit a model, test its best checkpoint, record the run.

regenlab-train                                   # default: gray denoising, sigma=25
regenlab-train model=dncnn degradation.sigma=50  # any key of conf/ can be overridden
regenlab-train experiment=denoise_blind          # a recipe from conf/experiment/
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from regenlab.errors import UserError
from regenlab.sweeps import in_multirun, sweep_job
from regenlab.utils.config import (
    CONF_DIR,
    check_accelerator,
    check_new_run_dir,
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

    check_accelerator(cfg.trainer)
    check_write_paths(cfg)
    check_new_run_dir(cfg)
    L.seed_everything(cfg.seed, workers=True)
    save_run_info(cfg, cfg.paths.output_dir)
    datamodule = instantiate_datamodule(cfg)
    model = instantiate(cfg.model)
    if cfg.get("channels_last"):
        model = model.to(memory_format=torch.channels_last)
    if cfg.get("compile"):
        model = torch.compile(model)  # Lightning trains the compiled module, saves the plain one
    trainer: L.Trainer = instantiate(
        cfg.trainer,
        callbacks=[*instantiate_all(cfg.get("callbacks")), *extra_callbacks],
        logger=instantiate_all(cfg.get("logger")) or False,
    )
    best, best_score = "", {}
    trainable = any(p.requires_grad for p in model.parameters())  # classical baselines: none
    if cfg.get("train", True) and trainable:
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
        checkpoint = trainer.checkpoint_callback
        if checkpoint is not None:
            best = checkpoint.best_model_path
            if checkpoint.monitor and checkpoint.best_model_score is not None:
                best_score = {f"{checkpoint.monitor}_best": float(checkpoint.best_model_score)}
    results = trainer.test(model, datamodule=datamodule, ckpt_path=best or None, verbose=False)
    metrics = {k: float(v) for k, v in (results[0] if results else {}).items()} | best_score
    log_hparams(trainer, cfg, metrics)
    out = Path(cfg.paths.output_dir).resolve()
    best_rel = str(Path(best).resolve().relative_to(out)) if best else None
    save_metrics(out, metrics, best_checkpoint=best_rel)
    save_per_image(out, model)
    return metrics


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
