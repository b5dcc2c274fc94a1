"""Multirun through the real CLI: launchers, Optuna, failure isolation, the sweep summary."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from regenlab.utils.config import CONF_DIR
from tests.conftest import run_cli

TINY = [
    "debug=limit", "trainer.max_steps=2", "trainer.limit_train_batches=2",
    "model.net.width=4", "data.crop_size=16", "data.eval_crop=16", "data.batch_size=2",
    "callbacks.progress_bar=null", "logger=csv",
]  # fmt: skip


def sweep(tmp_path: Path, *args: str) -> tuple[list[dict], Path]:
    result = run_cli("regenlab-train", "-m", *TINY, *args, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    roots = list((tmp_path / "outputs" / "debug" / "multiruns").glob("*/*"))
    assert len(roots) == 1, roots
    rows = json.loads((roots[0] / "summary.json").read_text())
    with open(roots[0] / "summary.csv") as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    return rows, roots[0]


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["basic", "parallel"])
def test_grid_sweep_summary_lists_every_job(tmp_path, launcher):
    rows, _ = sweep(tmp_path, f"hydra/launcher={launcher}", "seed=1,2", "model.net.levels=1,2")
    assert [r["job"] for r in rows] == [0, 1, 2, 3]
    assert all(r["status"] == "ok" and "test/psnr" in r["metrics"] for r in rows)
    assert len({r["dir"] for r in rows}) == 4  # never the same output dir
    assert rows[0]["overrides"][-2:] == ["seed=1", "model.net.levels=1"]


@pytest.mark.slow
def test_a_failing_job_is_recorded_and_the_others_finish(tmp_path):
    rows, _ = sweep(tmp_path, "data.crop_size=16,400")
    assert [r["status"] for r in rows] == ["ok", "failed"]
    assert "data.crop_size=400 is larger than the smallest" in rows[1]["error"]


@pytest.mark.slow
def test_submitit_local_runs_two_jobs_with_their_own_logs(tmp_path):
    rows, root = sweep(tmp_path, "hydra/launcher=local", "seed=1,2")
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert len(list((root / ".submitit").rglob("*_log.out"))) == 2  # a log dir per job


@pytest.mark.slow
def test_optuna_search_of_three_trials(tmp_path):
    rows, root = sweep(
        tmp_path, "hparams_search=restoration_optuna", "hydra.sweeper.n_trials=3",
        "hydra.sweeper.sampler.n_startup_trials=3",
    )  # fmt: skip
    assert len(rows) == 3 and all(r["status"] == "ok" for r in rows)
    assert all("val/psnr_best" in r["metrics"] for r in rows)
    assert (root / "optimization_results.yaml").is_file()


def test_slurm_launcher_renders_the_submission(tmp_path):
    slurm = pytest.importorskip("submitit.slurm.slurm")
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        cfg = compose("train", overrides=["hydra/launcher=slurm", "trainer=ddp",
                                          "hydra.launcher.partition=gpu"],
                      return_hydra_config=True)  # fmt: skip
    launcher = cfg.hydra.launcher
    assert (launcher.partition, launcher.gpus_per_node, launcher.tasks_per_node) == ("gpu", 2, 2)
    script = slurm._make_sbatch_string(  # what submitit writes for sbatch (no cluster here)
        command="python -m train", folder=tmp_path, partition=launcher.partition,
        gpus_per_node=launcher.gpus_per_node, ntasks_per_node=launcher.tasks_per_node,
        cpus_per_task=launcher.cpus_per_task, mem=f"{launcher.mem_gb}GB",
        time=launcher.timeout_min, array_parallelism=launcher.array_parallelism,
    )  # fmt: skip
    for line in ("#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=2",
                 "#SBATCH --ntasks-per-node=2", "#SBATCH --mem=64GB"):  # fmt: skip
        assert line in script
