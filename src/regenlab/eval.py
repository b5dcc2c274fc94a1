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

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from regenlab.errors import UserError
from regenlab.utils.config import (
    CONF_DIR,
    check_accelerator,
    check_test_sets,
    check_types,
    closest_key,
    conf_dir,
    instantiate_datamodule,
)
from regenlab.utils.console import first_line, flag, parse_cli, print_metrics, report_user_errors
from regenlab.utils.run import (
    atomic_write,
    load_run_config,
    record_extras,
    save_metrics,
    save_per_image,
)

USAGE = __doc__


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
    if not (run_dir / "config.yaml").is_file():
        raise UserError(
            f"{run_dir} is not a regenlab run (no config.yaml); pass a dir written by "
            "regenlab-train, e.g. run_dir=outputs/train/<date>/<time>"
        )
    cfg = apply_overrides(load_run_config(run_dir), list(overrides))
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


def output_dir(run_dir: Path, out: str | None) -> Path:
    """Where the results go, created now: a read-only run dir must fail in a second, not
    after minutes of testing that are then lost."""
    path = Path(out) if out else run_dir / "eval" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S-%f")
    if out and (path / "metrics.json").exists():
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
    return path


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
    trainer = instantiate(cfg.trainer, logger=False, callbacks=[], enable_checkpointing=False)
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


@report_user_errors
def main(argv: list[str] | None = None) -> None:
    options = {"run_dir": str, "ckpt_path": str, "allow_pickle": flag, "out": str}
    args = parse_cli(sys.argv[1:] if argv is None else argv, USAGE, options)
    if "run_dir" not in args:
        raise UserError("missing run_dir=<dir>; see regenlab-eval --help")
    metrics, out = evaluate(**args)
    print_metrics(metrics, title="eval metrics", footer=f"written to {out}")


if __name__ == "__main__":
    main()
