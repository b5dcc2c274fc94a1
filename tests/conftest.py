"""Fixtures that compose the real conf/ (as the CLI does) with the output dir in tmp_path."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from regenlab.utils.config import compose_run_config

# Small and quick everywhere: tiny nets, few steps, no progress bars in test logs.
QUICK = [
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "callbacks.progress_bar=null",
    "data.num_workers=0",
]


@pytest.fixture(autouse=True)
def isolated_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``paths.root_dir`` (outputs, data, caches such as the FID feature cache) in tmp_path:
    a test never writes into the repository."""
    monkeypatch.setenv("REGENLAB_ROOT", str(tmp_path))


def compose_config(config_name: str, output_dir: Path, overrides: list[str]) -> DictConfig:
    return compose_run_config(overrides, output_dir, config_name)


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """``make_cfg("model=dncnn", ...)``: the train config, quick settings, writing to tmp_path."""

    def make(
        *overrides: str, config_name: str = "train", quick: bool = True, subdir: str = ""
    ) -> DictConfig:
        extra = QUICK if quick and config_name == "train" else []
        return compose_config(config_name, tmp_path / subdir, [*extra, *overrides])

    yield make
    GlobalHydra.instance().clear()


def run_cli(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run a console script of the venv the tests run in, as a user would."""
    exe = Path(sys.executable).parent / args[0]
    env = {**os.environ, "REGENLAB_ROOT": str(cwd)}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [str(exe), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
