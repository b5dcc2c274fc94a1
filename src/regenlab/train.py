"""``regenlab-train``: fit a model, test its best checkpoint, record the run.

regenlab-train                                   # default: gray denoising, sigma=25
regenlab-train model=dncnn degradation.sigma=50  # any key of conf/ can be overridden
regenlab-train experiment=denoise_blind          # a recipe from conf/experiment/
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from hydra.utils import instantiate
from lightning_utilities.core.rank_zero import rank_zero_warn
from omegaconf import DictConfig, OmegaConf

from regenlab import make_callable
from regenlab.errors import UserError
from regenlab.sweeps import in_multirun, sweep_job
from regenlab.utils.config import (
    CONF_DIR,
    check_override_keys,
    check_run_config,
    check_test_sets,
    instantiate_all,
    instantiate_datamodule,
)
from regenlab.utils.console import one_line_per_event, print_metrics, report_user_errors
from regenlab.utils.run import (
    load_run_config,
    record_extras,
    save_metrics,
    save_per_image,
    save_run_info,
)

if TYPE_CHECKING:
    import lightning as L

log = logging.getLogger(__name__)

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


def apply_speed_options(cfg: DictConfig, model: L.LightningModule) -> L.LightningModule:
    """``model`` with the run's ``channels_last`` and ``compile`` options applied: one place
    for ``train`` and the benchmarks that time these options."""
    import torch

    if cfg.get("channels_last"):
        model = model.to(memory_format=torch.channels_last)
    if cfg.get("compile"):
        model = torch.compile(model)  # Lightning trains the compiled module, saves the plain one
    return model


def train(cfg: DictConfig, extra_callbacks: list[L.Callback] = ()) -> dict[str, float]:
    """The recipe: seed, instantiate, fit, test the best checkpoint (``test=false``: the
    best validation score only), save the record.

    ``extra_callbacks`` join the configured ones (for notebooks and benchmarks).
    """
    import lightning as L

    from regenlab.callbacks import with_progress_bar

    check_run_config(cfg)
    L.seed_everything(cfg.seed, workers=True)
    save_run_info(cfg, cfg.paths.output_dir)
    datamodule = instantiate_datamodule(cfg)
    model = instantiate(cfg.model)
    trainable = any(p.requires_grad for p in model.parameters())  # classical baselines: none
    check_model_and_data(cfg, model, datamodule, trainable)
    model = apply_speed_options(cfg, model)
    trainer: L.Trainer = instantiate(
        cfg.trainer,
        callbacks=with_progress_bar(
            [*instantiate_all(cfg.get("callbacks")), *extra_callbacks],
            cfg.trainer.get("enable_progress_bar", True),
        ),
        logger=instantiate_all(cfg.get("logger")) or False,
    )
    best, best_score, training = "", {}, {}
    if cfg.get("train", True) and trainable:
        # tensors only, whatever torch's default: a checkpoint named by a run's config (a
        # resumed run dir) must not run code, the same rule as regenlab-eval's
        ckpt = cfg.get("ckpt_path")
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt, weights_only=True)
        checkpoint = trainer.checkpoint_callback
        if checkpoint is not None:
            best = checkpoint.best_model_path
            if checkpoint.monitor and checkpoint.best_model_score is not None:
                best_score = {f"{checkpoint.monitor}_best": float(checkpoint.best_model_score)}
        training = training_record(trainer)
    skipped = {}
    if cfg.get("test", True):
        results = trainer.test(
            model, datamodule=datamodule, ckpt_path=best or None, verbose=False, weights_only=True
        )
    else:  # the test sets stay unseen while a recipe is tuned on validation scores
        results, skipped = [], {"test": "skipped (test=false)"}
    metrics = {k: float(v) for r in results for k, v in r.items()} | best_score  # all test sets
    log_hparams(trainer, cfg, metrics)
    out = Path(cfg.paths.output_dir).resolve()
    best_rel = str(Path(best).resolve().relative_to(out)) if best else None
    extras = record_extras(datamodule, model, metrics)
    save_metrics(
        out,
        metrics,
        best_checkpoint=best_rel,
        trained_steps=trainer.global_step,
        **skipped,
        **training,
        **extras,
    )
    save_per_image(out, model)
    return metrics


def check_model_and_data(
    cfg: DictConfig, model: L.LightningModule, datamodule: Any, trainable: bool
) -> None:
    """What needs the built model and data, checked before the Trainer runs: an error found
    after the first epoch would lose it."""
    check_test_sets(cfg, model)
    if cfg.get("train", True) and trainable:
        check_training_length(cfg)
        if cfg.get("ckpt_path"):
            check_start_checkpoint(model, cfg.ckpt_path)
    if hasattr(datamodule, "check_eval_sizes"):
        datamodule.check_eval_sizes(max(getattr(m, "min_size", 1) for m in model.modules()))


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
    if trainer.global_step == 0 or (finite is not None and finite.skipped and not finite.applied):
        record["warning"] = (
            f"no training step of this run changed the weights ({trainer.global_step} steps, "
            f"{record.get('skipped_batches', 0)} batches skipped as non-finite): these "
            "metrics are those of the weights it started from"
        )
        rank_zero_warn(record["warning"])
    return record


# what a resumed run may change and still be the same run (recorded in config.yaml and in
# run.json's resumes); anything else would be recorded but not run as asked
RESUMABLE = ("trainer.max_steps",)
# entries of optimizer param groups and scheduler states that are progress, not settings
PROGRESS = {"params", "last_epoch", "base_lrs", "best", "num_bad_epochs", "cooldown_counter"}


def resumed(cfg: DictConfig) -> DictConfig:
    """``resume=<run_dir>``: that run's own config, from its newest readable checkpoint, in
    its dir; ``trainer.max_steps`` may be raised, other changes are refused."""
    run_dir = Path(cfg.resume).expanduser()
    if not (run_dir / "config.yaml").is_file():
        raise UserError(f"resume={run_dir} is not a regenlab run (no config.yaml)")
    run_cfg = load_run_config(run_dir)
    changes = command_line_changes(cfg, run_cfg, run_dir)
    if refused := [k for k in changes if k not in RESUMABLE]:
        raise UserError(
            f"resume={run_dir} continues that run with its own config and cannot change "
            f"{', '.join(refused)} (only {', '.join(RESUMABLE)}); leave them out, or start a "
            "new run"
        )
    checkpoint, step = resume_checkpoint(run_dir)
    max_steps = changes.get("trainer.max_steps")
    if max_steps is not None and max_steps != -1 and max_steps <= step:
        raise UserError(
            f"trainer.max_steps={max_steps}, but {checkpoint} is at step {step} already; "
            "give more steps to train on"
        )
    check_schedule_length(run_cfg, max_steps, run_dir, checkpoint)
    for key, value in changes.items():
        OmegaConf.update(run_cfg, key, value)
    run_cfg.resume, run_cfg.ckpt_path = str(run_dir), str(checkpoint)
    return run_cfg


def check_schedule_length(
    run_cfg: DictConfig, max_steps: int | None, run_dir: Path, checkpoint: Path
) -> None:
    """A raised ``max_steps`` cannot lengthen a schedule that followed the old one (a cosine
    ``T_max: ${trainer.max_steps}``, resolved in config.yaml, and restored from the
    checkpoint): past its end the learning rate would climb back up, silently."""
    old = run_cfg.trainer.get("max_steps")
    if max_steps is None or not isinstance(old, int) or old <= 0:
        return
    if max_steps != -1 and max_steps <= old:
        return
    model = run_cfg.get("model") or {}
    ending = [
        f"model.{name}.{key}={value}"
        for name, node in model.items()
        if "scheduler" in str(name) and isinstance(node, DictConfig)
        for key, value in node.items()
        if type(value) is int and value == old
    ]
    if ending:
        raise UserError(
            f"resume={run_dir} cannot train on to trainer.max_steps={max_steps}: its learning "
            f"rate schedule ({ending[0]}) ends at step {old} and would rise again past it; "
            f"resume with trainer.max_steps<={old}, or start a new run with the run's settings "
            f"from its weights: regenlab-train <its overrides> trainer.max_steps={max_steps} "
            f"model.weights={checkpoint} model.weights_entry=state_dict "
            "model.weights_key_map='{net.:\"\"}'"
        )


def command_line_changes(cfg: DictConfig, run_cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """The command line's overrides (but ``resume``) whose value differs from the run's
    saved config, by key: repeating the run's own settings is no change. A group that sets
    keys all over the config (``experiment=``, ``debug=``) is compared by the option chosen
    (run.json's ``choices``)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.override_parser.overrides_parser import OverridesParser

    if not HydraConfig.initialized():
        return {}
    hydra = HydraConfig.get()
    overrides = OverridesParser.create().parse_overrides(list(hydra.overrides.task))
    changes = {}
    for key in [o.key_or_group for o in overrides if o.key_or_group != "resume"]:
        if key in hydra.runtime.choices and OmegaConf.select(cfg, key, default=None) is None:
            if hydra.runtime.choices[key] != run_choices(run_dir).get(key):
                changes[key] = hydra.runtime.choices[key]
        elif value_of(cfg, key) != value_of(run_cfg, key):
            changes[key] = value_of(cfg, key)
    return changes


def run_choices(run_dir: Path) -> dict[str, Any]:
    """The config group options a run was started with (its run.json), {} if unreadable."""
    try:
        return dict(json.loads((run_dir / "run.json").read_text()).get("choices") or {})
    except (OSError, ValueError, AttributeError):
        return {}


def value_of(cfg: DictConfig, key: str) -> Any:
    node = OmegaConf.select(cfg, key, default=None)
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def resume_checkpoint(run_dir: Path) -> tuple[Path, int]:
    """The newest checkpoint that reads (best.ckpt last: it may lie far back), and its step.
    A file torn by a crash or a full disk is passed over, with one line that says so."""
    from regenlab.eval import read_checkpoint

    files = sorted(
        (run_dir / "checkpoints").glob("*.ckpt"),
        key=lambda p: (p.stem != "best", p.stat().st_mtime),
        reverse=True,
    )
    if not files:
        raise UserError(f"resume={run_dir}: no checkpoint to resume from in {run_dir}/checkpoints")
    unreadable = []
    for path in files:
        try:
            checkpoint = read_checkpoint(path)
        except UserError:
            checkpoint = None
        if not isinstance(checkpoint, dict) or "optimizer_states" not in checkpoint:
            unreadable.append(path.name)
            continue
        step = int(checkpoint.get("global_step", 0))
        skipped = (
            f" ({', '.join(unreadable)} unreadable: truncated or damaged)" if unreadable else ""
        )
        (log.warning if unreadable else log.info)(
            "resuming from %s at step %d%s", path, step, skipped
        )
        return path, step
    raise UserError(
        f"resume={run_dir}: no readable checkpoint in {run_dir}/checkpoints "
        f"({', '.join(unreadable)}: truncated, damaged or without training state)"
    )


def check_start_checkpoint(model: L.LightningModule, ckpt_path: str) -> None:
    """``ckpt_path=`` must be a readable training checkpoint of this model whose optimizer
    and scheduler settings are the config's: Lightning restores them from the checkpoint,
    so others in the config would be recorded in config.yaml but not run."""
    from regenlab.eval import load_weights

    path = Path(ckpt_path).expanduser()
    if not path.is_file():
        raise UserError(
            f"ckpt_path={ckpt_path} does not exist; pass a .ckpt file written by "
            "regenlab-train (e.g. <run_dir>/checkpoints/last.ckpt)"
        )
    checkpoint = load_weights(model, path)
    if "optimizer_states" not in checkpoint:
        raise UserError(
            f"ckpt_path={ckpt_path} holds weights only, no optimizer state to continue from"
        )
    if differences := optimizer_differences(model, checkpoint):
        raise UserError(
            f"ckpt_path={ckpt_path} continues with the optimizer and scheduler saved in it, "
            f"whose settings differ from this config ({'; '.join(differences)}); leave those "
            "overrides out or set the checkpoint's values"
        )


def optimizer_differences(model: L.LightningModule, checkpoint: dict) -> list[str]:
    """Settings of the optimizers and schedulers the config builds that differ from the
    checkpoint's (lr, betas, weight_decay, T_max...), as 'what: checkpoint x, config y'."""
    from lightning.pytorch.core.optimizer import _configure_optimizers

    optimizers, schedulers, _ = _configure_optimizers(model.configure_optimizers())
    schedulers = [s["scheduler"] if isinstance(s, dict) else s for s in schedulers]
    configured = [("optimizer", g) for o in optimizers for g in o.state_dict()["param_groups"]]
    configured += [("scheduler", s.state_dict()) for s in schedulers]
    saved = [("optimizer", g) for o in checkpoint["optimizer_states"] for g in o["param_groups"]]
    saved += [("scheduler", s) for s in checkpoint.get("lr_schedulers", [])]
    if len(saved) != len(configured):
        return [f"{len(saved)} optimizer groups and schedulers saved, {len(configured)} configured"]
    differences = []
    for (what, new), (_, old) in zip(configured, saved, strict=True):
        new, old = settings(new), settings(old)
        differences += [
            f"{what} {k}: checkpoint {old[k]}, config {new[k]}"
            for k in sorted(new.keys() & old.keys())
            if new[k] != old[k]
        ]
    return differences


def settings(state: dict[str, Any]) -> dict[str, Any]:
    """An optimizer param group's or a scheduler's settings, without its progress (under a
    scheduler a group's ``lr`` is the current one, ``initial_lr`` the setting)."""
    return {
        k: v
        for k, v in state.items()
        if not k.startswith("_") and k not in PROGRESS and not (k == "lr" and "initial_lr" in state)
    }


@report_user_errors
def train_and_report(cfg: DictConfig) -> float | None:
    if cfg.get("resume"):
        cfg = resumed(cfg)
    metrics = train(cfg)
    title = "test metrics" if cfg.get("test", True) else "validation metrics (test=false)"
    print_metrics(metrics, title=title, footer=f"run dir: {cfg.paths.output_dir}")
    return metrics.get(cfg.get("optimized_metric"))


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
def run(cfg: DictConfig) -> float | None:
    """The value returned is what a Hydra sweeper (e.g. Optuna) optimises."""
    one_line_per_event()
    return sweep_job(train, cfg) if in_multirun() else train_and_report(cfg)


def main() -> None:
    """``regenlab-train``: a mistyped key is one line naming the key meant, then Hydra."""
    report_user_errors(check_override_keys)(sys.argv[1:])
    run()


make_callable(sys.modules[__name__], train)  # regenlab.train(cfg)

if __name__ == "__main__":
    main()
