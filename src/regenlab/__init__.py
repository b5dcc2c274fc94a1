"""regenlab: image generation and restoration experiments.

The entry points as plain functions, for notebooks and scripts::

    import regenlab

    cfg = regenlab.compose(["model=dncnn", "trainer.max_steps=100"], "outputs/mine")
    metrics = regenlab.train(cfg)                       # regenlab-train
    metrics, out = regenlab.evaluate("outputs/mine")   # regenlab-eval
    written, failed = regenlab.restore("outputs/mine", "noisy/", "clean/")  # regenlab-predict
    tables = regenlab.compare(["outputs/mine"])       # regenlab-compare
    frame = regenlab.compare.load_runs(["outputs/mine"])  # a pandas DataFrame

``regenlab.train`` and ``regenlab.compare`` are the modules of those commands, callable as
their entry point. Everything is imported on first use: ``import regenlab`` loads no torch
or Lightning.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omegaconf import DictConfig

CALLABLE_MODULES = ("train", "compare")


class EntryModule(types.ModuleType):
    """A command's module that is also its function: ``regenlab.train(cfg)`` calls
    ``regenlab.train.train`` while ``regenlab.train.main`` stays reachable."""

    entry_point: Callable[..., Any]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.entry_point(*args, **kwargs)


def make_callable(module: types.ModuleType, entry_point: Callable[..., Any]) -> None:
    """Let ``module`` be called as ``entry_point``."""
    module.__class__ = EntryModule
    module.entry_point = entry_point


def __getattr__(name: str) -> Any:
    if name in CALLABLE_MODULES:
        return importlib.import_module(f"regenlab.{name}")
    raise AttributeError(f"module 'regenlab' has no attribute {name!r}")


def compose(
    overrides: Sequence[str], output_dir: str | Path, config_name: str = "train"
) -> DictConfig:
    """The config ``regenlab-train <overrides>`` would run with, writing to ``output_dir``."""
    from regenlab.utils.config import compose_run_config

    return compose_run_config(list(overrides), output_dir, config_name)


def evaluate(
    run_dir: str | Path,
    ckpt_path: str | None = None,
    overrides: Sequence[str] = (),
    allow_pickle: bool = False,
    out: str | None = None,
) -> tuple[dict[str, float], Path]:
    """``regenlab-eval``: test a finished run (``overrides`` as on its command line)."""
    from regenlab.eval import evaluate as run_eval

    return run_eval(run_dir, ckpt_path, list(overrides), allow_pickle, out)


def restore(run_dir: str | Path, input: str | Path, output: str | Path, **options: Any) -> Any:
    """``regenlab-predict``: restore the images of ``input`` into ``output`` (files written,
    one line per file that failed); options as ``regenlab.predict.restore_images``."""
    from regenlab.predict import restore_images

    return restore_images(str(run_dir), str(input), str(output), **options)


def load_runs(dirs: Sequence[str | Path], **options: Any) -> Any:
    """The runs under ``dirs`` as a pandas DataFrame (``regenlab.compare.load_runs``)."""
    from regenlab.compare import load_runs as load

    return load(list(dirs), **options)


__all__ = ["compare", "compose", "evaluate", "load_runs", "restore", "train"]
