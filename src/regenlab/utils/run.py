"""What every run leaves in its output dir: resolved config, seed, commit, versions, metrics."""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import yaml
from hydra.core.hydra_config import HydraConfig
from lightning_utilities.core.rank_zero import rank_zero_only  # Lightning's own, without its import
from omegaconf import DictConfig, OmegaConf

from regenlab.errors import UserError
from regenlab.utils.trust import check_trusted

PACKAGES = (
    "regenlab", "torch", "torchvision", "lightning", "hydra-core", "omegaconf",
    "torchmetrics", "scikit-image", "numpy",
)  # fmt: skip


@contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """A file to write ``path`` through: a temp file next to it, fsynced, then renamed over
    it. The rename is atomic on one filesystem, so a crash, a kill or a full disk leaves the
    old file whole (a temp file elsewhere, e.g. in /tmp, would be *copied* over it) and no
    temp file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp's 0600 would hide it from the group
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def atomic_write(path: str | Path, text: str) -> None:
    """Write ``text`` so a crash never leaves half a file (see ``atomic_open``)."""
    with atomic_open(path) as f:
        f.write(text)


def write_json(path: str | Path, obj: Any) -> None:
    atomic_write(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def git_commit() -> str:
    """The commit of the code that ran (``+dirty`` if it had local changes), or 'unknown'."""
    here = Path(__file__).parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=here, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "platform": platform.platform()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def config_choices() -> dict[str, str | None]:
    """The option picked in each config group (``model: unet``): how compare labels runs."""
    if not HydraConfig.initialized():
        return {}
    choices = HydraConfig.get().runtime.choices
    return {k: v for k, v in choices.items() if not k.startswith("hydra")}


@rank_zero_only  # under DDP every rank runs train(); one writes the record
def save_run_info(cfg: DictConfig, output_dir: str | Path) -> None:
    """Record the run before it starts, so even a crashed run says what it was. A resumed
    run keeps its first record and appends when, from where and with what code it went on."""
    out = Path(output_dir)
    atomic_write(out / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    now = {
        "started": datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "git_commit": git_commit(),
    }
    record_path = out / "run.json"
    if cfg.get("resume") and record_path.is_file():
        record = json.loads(record_path.read_text())
        record.setdefault("resumes", []).append({**now, "checkpoint": cfg.get("ckpt_path")})
    else:
        record = {"seed": cfg.get("seed"), "task_name": cfg.get("task_name"), **now,
                  "choices": config_choices(), "versions": package_versions()}  # fmt: skip
    write_json(record_path, record)


@rank_zero_only
def save_metrics(output_dir: str | Path, metrics: dict[str, float], **extra: Any) -> None:
    write_json(Path(output_dir) / "metrics.json", {**metrics, **extra})


def record_extras(datamodule: Any, model: Any, metrics: dict[str, float]) -> dict[str, Any]:
    """What the numbers depend on beyond the config, for metrics.json: the rule that cut the
    data into splits (``data_split``), the protocol of each FID-like number (``protocol``,
    also for its ``*_best`` value) and the feature net a classifier run saved."""
    extras: dict[str, Any] = {}
    if split_rule := getattr(datamodule, "split_record", None):
        extras["data_split"] = split_rule
    protocols = getattr(model, "protocols", {})
    named = {k: p for k, p in protocols.items() if k in metrics}
    named |= {f"{k}_best": p for k, p in protocols.items() if f"{k}_best" in metrics}
    if named:
        extras["protocol"] = named
    if saved := getattr(model, "saved_net", None):
        extras["feature_net"] = saved
    return extras


@rank_zero_only
def save_per_image(output_dir: str | Path, module: Any) -> None:
    """``per_image.csv`` from a module that keeps per-image test rows (rank 0 under DDP)."""
    rows = getattr(module, "per_image", None)
    if not rows:
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(Path(output_dir) / "per_image.csv", buffer.getvalue())


def load_run_config(run_dir: str | Path) -> DictConfig:
    """A run's saved config, refused if it names a target that could run foreign code
    (``utils/trust.py``): eval, predict and resume build objects from it."""
    path = Path(run_dir) / "config.yaml"
    try:
        cfg = OmegaConf.load(path)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise UserError(
            f"cannot read {path} ({type(exc).__name__}): is the run dir damaged?"
        ) from None
    if not isinstance(cfg, DictConfig) or "model" not in cfg:
        raise UserError(f"{path} is not a run config (no model: key); is the run dir damaged?")
    check_trusted(cfg, path)
    return cfg
