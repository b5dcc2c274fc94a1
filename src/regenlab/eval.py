"""``regenlab-eval``: re-evaluate a finished run with the config it was trained with.

    regenlab-eval run_dir=outputs/train/2026-11-24/10-00-00
    regenlab-eval run_dir=<dir> degradation.sigma=50        # same model, another noise level
    regenlab-eval run_dir=<dir> degradation=gaussian_blind  # swap a whole config group
    regenlab-eval run_dir=<dir> ckpt_path=<dir>/checkpoints/last.ckpt
    regenlab-eval run_dir=<dir> ckpt_path=<file> allow_pickle=true   # trusted files only
    regenlab-eval run_dir=<read-only dir> out=results/                # results written there

The run's saved ``config.yaml`` is the starting point (never today's conf/), so the model
is rebuilt exactly as trained; results land in ``<run_dir>/eval/<date>_<time>/``, or in
``out=<dir>`` (a read-only run). A classical run (no trainable weights) needs no checkpoint.

A Hydra app (conf/eval.yaml): ``--help``, ``--cfg job``, and sweeps over a finished run,
``regenlab-eval -m run_dir=<dir> degradation.sigma=15,25,50``: one results dir per job
under ``<run_dir>/eval/<date>_<time>/`` and a summary (as regenlab-train's sweeps).
"""

from __future__ import annotations

import json
import pickle
import sys
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from hydra import compose, initialize_config_dir
from hydra._internal.utils import get_args_parser
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from regenlab.callbacks import with_progress_bar
from regenlab.errors import UserError
from regenlab.sweeps import in_multirun, sweep_job
from regenlab.utils.config import (
    CONF_DIR,
    check_accelerator,
    check_test_sets,
    check_types,
    closest_key,
    conf_dir,
    instantiate_datamodule,
)
from regenlab.utils.console import (
    first_line,
    one_line_per_event,
    print_metrics,
    report_user_errors,
)
from regenlab.utils.run import (
    atomic_write,
    load_run_config,
    record_extras,
    save_metrics,
    save_per_image,
)


def apply_overrides(cfg: DictConfig, overrides: list[str]) -> DictConfig:
    """Apply Hydra-syntax overrides to a saved config: ``group=option`` or ``a.b=value``.

    A group option is composed from conf/ (its defaults list included) and replaces the
    node; a dotted key must already exist in the run's config (``+a.b=v`` adds one).
    """
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as exc:
        raise UserError(f"cannot parse overrides {overrides}: {exc}") from None
    for override, text in zip(parsed, overrides):
        key, value = override.key_or_group, override.value()
        if (conf_dir() / key).is_dir() and "." not in key:
            cfg[key] = compose_group(key, str(value))
            continue
        if not override.is_add() and OmegaConf.select(cfg, key, default=KeyError) is KeyError:
            meant = closest_key(cfg, key)
            hint = f"did you mean {meant}?" if meant else "check the spelling against config.yaml"
            raise UserError(
                f"'{key}' is not in this run's config (from '{text}'); {hint} "
                f"(write '+{text}' to add a new key)"
            )
        OmegaConf.update(cfg, key, value, merge=True, force_add=True)
    return cfg


def compose_group(group: str, option: str) -> DictConfig:
    options = sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))
    if option not in options:
        raise UserError(f"unknown {group}={option}; choose one of: {', '.join(options)}")
    if GlobalHydra.instance().is_initialized():  # inside regenlab-eval's Hydra app
        return compose("train", overrides=[f"{group}={option}"])[group]
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        return compose("train", overrides=[f"{group}={option}"])[group]


def find_checkpoint(run_dir: Path, ckpt_path: str | None) -> Path:
    """The checkpoint to evaluate: the one asked for, else the run's best, else its last."""
    if ckpt_path:
        path = Path(ckpt_path)
        if not path.is_file():
            raise UserError(f"ckpt_path={ckpt_path} does not exist")
        return path
    metrics_file = run_dir / "metrics.json"
    best = (
        json.loads(metrics_file.read_text()).get("best_checkpoint")
        if metrics_file.is_file()
        else None
    )
    for path in (run_dir / best if best else None, run_dir / "checkpoints" / "last.ckpt"):
        if path is not None and path.is_file():
            return path
    raise UserError(
        f"no checkpoint in {run_dir}/checkpoints (a fast_dev_run saves none); "
        "pass ckpt_path=<file.ckpt>"
    )


# torch.save writes a zip archive (since torch 1.6); older versions a pickled magic number
ZIP_MAGIC = b"PK\x03\x04"
LEGACY_MAGIC = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19"


def intact_archive(path: Path) -> bool:
    """Whether ``path`` is a zip archive whose every member passes its CRC check."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


def read_checkpoint(path: Path, allow_pickle: bool = False) -> Any:
    """The checkpoint's content, tensors only (``weights_only=True``) unless ``allow_pickle``.

    Tells a file that is no checkpoint, or a truncated or damaged one, from a genuine one
    that holds pickled objects: only the latter may deserve ``allow_pickle=true``."""
    damaged = (
        f"{path} is not a checkpoint, or is truncated or damaged; pass a .ckpt file written "
        "by regenlab-train (e.g. <run_dir>/checkpoints/last.ckpt)"
    )
    with open(path, "rb") as f:
        head = f.read(len(LEGACY_MAGIC))
    if not head.startswith(ZIP_MAGIC) and head != LEGACY_MAGIC:
        raise UserError(damaged)
    try:
        return torch.load(path, map_location="cpu", weights_only=not allow_pickle)
    except pickle.UnpicklingError as exc:
        if head.startswith(ZIP_MAGIC) and not intact_archive(path):
            raise UserError(damaged) from None
        raise UserError(
            f"checkpoint {path} holds pickled objects, which can run code when loaded; if you "
            f"trust the file, pass allow_pickle=true ({first_line(exc)})"
        ) from None
    except Exception as exc:  # torch's reader: RuntimeError, EOFError, KeyError, ValueError...
        raise UserError(f"{damaged} ({type(exc).__name__}: {first_line(exc)})") from None


def load_weights(model: torch.nn.Module, path: Path, allow_pickle: bool = False) -> dict:
    """Load only tensors (``weights_only=True``): a checkpoint cannot run code on load.
    A checkpoint that holds other objects needs ``allow_pickle=true`` (trusted files only).
    Returns the checkpoint read."""
    checkpoint = read_checkpoint(path, allow_pickle)
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise UserError(f"{path} is not a Lightning checkpoint (no state_dict)")
    state = checkpoint["state_dict"]
    own = model.state_dict()
    shapes = [
        f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in state.items() if k in own and own[k].shape != v.shape
    ]  # fmt: skip
    if shapes:
        raise UserError(
            f"checkpoint {path} was written for a model of another shape ({len(shapes)} "
            f"tensors differ, e.g. {shapes[0]}); was it written by another run?"
        )
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.startswith("metrics.")]  # not weights
    problems = [*missing, *result.unexpected_keys]
    if problems:
        raise UserError(
            f"checkpoint {path} is for another model ({len(problems)} keys differ, "
            f"e.g. '{problems[0]}'); was it written by another run?"
        )
    return checkpoint


def load_run(
    run_dir: str | Path,
    ckpt_path: str | None = None,
    overrides: list[str] = (),
    allow_pickle: bool = False,
) -> tuple[DictConfig, L.LightningModule, Path | None]:
    """A finished run's (overridden) config and its model with the checkpoint's weights
    (no checkpoint: a classical method, which has no weights to learn)."""
    run_dir = Path(run_dir)
    cfg = apply_overrides(check_run_dir(run_dir), list(overrides))
    check_types(cfg)
    model = instantiate(cfg.model)
    if not ckpt_path and not has_checkpoint(run_dir):
        published = cfg.model.get("weights")
        if published:  # published weights tested as they are (train=false): the model
            return cfg, model, Path(published)  # config loaded the same file again
        if not any(p.requires_grad for p in model.parameters()):
            return cfg, model, None  # a classical method: nothing was learned, nothing to load
    checkpoint = find_checkpoint(run_dir, ckpt_path)
    load_weights(model, checkpoint, allow_pickle)
    return cfg, model, checkpoint


def has_checkpoint(run_dir: Path) -> bool:
    return any((run_dir / "checkpoints").glob("*.ckpt"))


def results_dir(run_dir: str | Path, out: str | None) -> Path:
    """``out``, else a new ``<run_dir>/eval/<date>_<time>``: an eval's results dir, or a
    sweep's root (conf/eval.yaml's ``hydra.run.dir`` and ``hydra.sweep.dir``)."""
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S-%f")
    return Path(out) if out else Path(run_dir) / "eval" / stamp


# cached like Hydra's own ${now:}: the dir is resolved once per command
OmegaConf.register_new_resolver(
    "eval_results_dir", lambda run_dir, out: str(results_dir(run_dir, out)), use_cache=True,
    replace=True,
)  # fmt: skip


def output_dir(run_dir: Path, out: str | None) -> Path:
    """Where the results go, created now: a read-only run dir must fail in a second, not
    after minutes of testing that are then lost."""
    path = results_dir(run_dir, out)
    check_writable(run_dir, out, path)
    return path


def check_writable(run_dir: Path, out: str | None, path: Path) -> None:
    """``path`` (made now) takes files; else one line: ``out=`` elsewhere, or another out."""
    if out and any((path / name).exists() for name in ("metrics.json", "summary.json")):
        raise UserError(f"out={out} already holds the results of an eval; choose another dir")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if out:
            raise UserError(
                f"cannot write to out={out} ({reason}); choose a writable dir"
            ) from None
        raise UserError(
            f"cannot write the results into {run_dir}/eval ({reason}); pass out=<dir> to "
            "write them elsewhere"
        ) from None


def eval_trainer(cfg: DictConfig) -> L.Trainer:
    """The run's trainer settings for testing only: no logger, no checkpoints, and the
    progress bar of training (Lightning's default bar is another style)."""
    bars = with_progress_bar([], cfg.trainer.get("enable_progress_bar", True))
    return instantiate(cfg.trainer, logger=False, callbacks=bars, enable_checkpointing=False)


def evaluate(
    run_dir: str | Path,
    ckpt_path: str | None = None,
    overrides: list[str] = (),
    allow_pickle: bool = False,
    out: str | None = None,
) -> tuple[dict[str, float], Path]:
    """Test a run's checkpoint on its (possibly overridden) data; returns metrics, out dir."""
    run_dir = Path(run_dir)
    cfg, model, checkpoint = load_run(run_dir, ckpt_path, overrides, allow_pickle)
    out_dir = output_dir(run_dir, out)
    check_accelerator(cfg.trainer)
    L.seed_everything(cfg.seed, workers=True)
    check_test_sets(cfg, model)
    datamodule = instantiate_datamodule(cfg)
    trainer = eval_trainer(cfg)
    results = trainer.test(model, datamodule=datamodule, verbose=False)
    metrics = {k: float(v) for r in results for k, v in r.items()}  # one dict per test set
    atomic_write(out_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    checkpoint = str(checkpoint) if checkpoint else None
    extras = record_extras(datamodule, model, metrics)
    save_metrics(
        out_dir,
        metrics,
        checkpoint=checkpoint,
        run_dir=str(run_dir),
        overrides=list(overrides),
        **extras,
    )
    save_per_image(out_dir, model)
    return metrics, out_dir


# eval's own keys (conf/eval.yaml); every other override on the command line is for the run's
# config, and travels through Hydra under RUN_OVERRIDES: Hydra could not compose it into
# eval.yaml (``degradation=blind`` is no group of eval, ``degradation.sigma`` no key of it)
EVAL_KEYS = {"run_dir", "ckpt_path", "allow_pickle", "out", "task_name", "optimized_metric",
             "paths", "local", "hydra"}  # fmt: skip
RUN_OVERRIDES, ADD, DOT = "run_overrides", "add__", "__"


def is_eval_key(override: Override) -> bool:
    key = override.key_or_group
    return key.split(".")[0].split("/")[0] in EVAL_KEYS or override.is_delete()


def to_hydra(override: Override) -> str:
    """``degradation.sigma=15,25`` -> ``++run_overrides.degradation__sigma=15,25``: a flat
    key of eval's config (so ``data=paired data.images.root=<dir>`` do not collide), the
    value text, sweeps included, as typed."""
    if is_eval_key(override):
        return override.input_line
    head = ADD if override.is_add() or override.is_force_add() else ""
    value = override.input_line.partition("=")[2]
    return f"++{RUN_OVERRIDES}.{head}{override.key_or_group.replace('.', DOT)}={value}"


def from_hydra(lines: list[str]) -> list[str]:
    """This job's overrides of the run's config, as typed (one value of each sweep)."""
    prefix, overrides = f"++{RUN_OVERRIDES}.", []
    for line in lines:
        if not line.startswith(prefix):
            continue
        slot, _, value = line.removeprefix(prefix).partition("=")
        added = slot.startswith(ADD)
        key = slot.removeprefix(ADD).replace(DOT, ".")
        overrides.append(f"{'+' if added else ''}{key}={value}")
    return overrides


def hydra_argv(argv: list[str]) -> list[str]:
    """``argv`` with the run's overrides moved under ``run_overrides`` (``to_hydra``);
    Hydra's flags (``-m``, ``--cfg job``, ``--config-dir``...) as they are."""
    lines = get_args_parser().parse_known_args(argv)[0].overrides
    parsed = dict(zip(lines, OverridesParser.create().parse_overrides(lines)))
    return [to_hydra(parsed[arg]) if arg in parsed else arg for arg in argv]


def check_eval_args(argv: list[str]) -> list[str]:
    """Before Hydra starts, in one line each: a missing or foreign run dir, an untrusted or
    damaged config, a mistyped key or group option of the run's config (every sweep value
    tried), a results dir that cannot be written, a sweep without ``-m``, a swept run dir, a
    deleted key. Returns Hydra's argv (``hydra_argv``)."""
    if {"--shell-completion", "-sc"} & set(argv):  # install=bash, query=bash: Hydra's own
        return argv
    if {"-h", "--help", "--hydra-help", "--info", "-i", "--version", "--cfg", "-c"} & set(argv):
        return hydra_argv(argv)
    try:
        lines = get_args_parser().parse_known_args(argv)[0].overrides
        overrides = OverridesParser.create().parse_overrides(lines)
    except (HydraException, SystemExit):
        return argv  # Hydra reports what it cannot parse
    if deleted := next((o for o in overrides if o.is_delete()), None):
        raise UserError(
            f"{deleted.input_line}: regenlab-eval cannot delete a key of the run's config; "
            f"set it instead ({deleted.key_or_group}=null)"
        )
    sweep = next((o for o in overrides if o.is_sweep_override()), None)
    if sweep and not {"-m", "--multirun"} & set(argv):
        raise UserError(
            f"{sweep.input_line} is a sweep: add -m to evaluate each value "
            f"({sweep.key_or_group}=[a,b] is a list)"
        )
    own = {o.key_or_group: o for o in overrides if is_eval_key(o)}
    if "run_dir" not in own:
        raise UserError("missing run_dir=<dir>; see regenlab-eval --help")
    if own["run_dir"].is_sweep_override():
        raise UserError(
            f"{own['run_dir'].input_line}: a sweep evaluates one run (its results go into that "
            "run's dir); run regenlab-eval once per run"
        )
    out = own["out"].value() if "out" in own else None
    out = None if out is None else str(out)
    run_dir = str(own["run_dir"].value())
    run_cfg = check_run_dir(Path(run_dir))
    run_lines = [values_of(o) for o in overrides if not is_eval_key(o)]
    for i in range(max((len(v) for v in run_lines), default=0)):
        apply_overrides(run_cfg.copy(), [v[min(i, len(v) - 1)] for v in run_lines])
    check_writable(Path(run_dir), out, Path(out) if out else Path(run_dir) / "eval")
    return hydra_argv(argv)


def values(override: Override) -> list[str]:
    if override.is_sweep_override():
        return list(override.sweep_string_iterator())
    return [override.get_value_element_as_str()]


def values_of(override: Override) -> list[str]:
    """One override line per value of ``override`` (one for a plain override)."""
    head = override.input_line.partition("=")[0]
    return [f"{head}={v}" for v in values(override)]


def check_run_dir(run_dir: Path) -> DictConfig:
    if not (run_dir / "config.yaml").is_file():
        raise UserError(
            f"{run_dir} is not a regenlab run (no config.yaml); pass a dir written by "
            "regenlab-train, e.g. run_dir=outputs/train/<date>/<time>"
        )
    return load_run_config(run_dir)


def evaluate_job(cfg: DictConfig) -> dict[str, float]:
    """One eval (a single run or a sweep's job) in Hydra's output dir."""
    overrides = from_hydra(list(HydraConfig.get().overrides.task))
    args = (cfg.run_dir, cfg.ckpt_path, overrides, cfg.allow_pickle)
    return evaluate(*args, out=str(cfg.paths.output_dir))[0]


@report_user_errors
def evaluate_and_report(cfg: DictConfig) -> None:
    metrics = evaluate_job(cfg)
    print_metrics(metrics, title="eval metrics", footer=f"written to {cfg.paths.output_dir}")


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="eval")
def run(cfg: DictConfig) -> float | None:
    one_line_per_event()
    if in_multirun():
        return sweep_job(evaluate_job, cfg, overrides=from_hydra)
    evaluate_and_report(cfg)
    return None


def main() -> None:
    """``regenlab-eval``: the checks that need the run's config (one line each), then Hydra."""
    sys.argv[1:] = report_user_errors(check_eval_args)(sys.argv[1:])
    run()


if __name__ == "__main__":
    main()
