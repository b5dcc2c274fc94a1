"""Multirun through the real CLI: launchers, Optuna, failure isolation, the sweep summary."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir

from regenlab.sweeps import sweep_job
from regenlab.utils.config import CONF_DIR
from tests.conftest import run_cli

TINY = [
    "debug=limit", "trainer.max_steps=2", "trainer.limit_train_batches=2",
    "model.net.width=4", "data.crop_size=16", "data.eval_crop=16", "data.batch_size=2",
    "callbacks.progress_bar=null", "logger=csv",
]  # fmt: skip


def sweep(tmp_path: Path, *args: str, failed: bool = False) -> tuple[list[dict], Path]:
    result = run_cli("regenlab-train", "-m", *TINY, *args, cwd=tmp_path, timeout=600)
    assert result.returncode == (1 if failed else 0), result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr  # they are in each job's log
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
@pytest.mark.parametrize("launcher", ["basic", "parallel"])
def test_a_failing_job_is_recorded_and_the_others_finish(tmp_path, launcher):
    """The sweep exits 1 (it exited 0), the failure is one line on the console (it was a
    traceback) and the traceback is in the job's log."""
    rows, _ = sweep(tmp_path, f"hydra/launcher={launcher}", "data.crop_size=16,400", failed=True)
    assert [r["status"] for r in rows] == ["ok", "failed"]
    assert "data.crop_size=400 is larger than the smallest" in rows[1]["error"]
    assert "Traceback" in Path(rows[1]["log"]).read_text()


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


@pytest.mark.slow
def test_an_optuna_trial_that_raises_or_diverges_fails_and_the_search_goes_on(tmp_path):
    """A NaN returned for a failed trial made optuna 2.10 raise "Values cannot be specified
    when state is FAIL": the search ended at the first failure, with no summary."""
    rows, root = sweep(
        tmp_path, "hparams_search=restoration_optuna", "hydra.sweeper.n_trials=3",
        "hydra.sweeper.sampler.n_startup_trials=3", "hydra.sweeper.params=null",
        "hydra.sweeper.sampler.seed=1",  # draws each of the three once
        "model.optimizer.lr=choice(0.001,1e12,-1)", failed=True,
    )  # fmt: skip
    status = {r["overrides"][0]: (r["status"], r["error"]) for r in rows}
    assert status["model.optimizer.lr=0.001"] == ("ok", None)
    assert "loss became nan" in status["model.optimizer.lr=1000000000000.0"][1]  # diverged
    assert status["model.optimizer.lr=-1"] == ("failed", "ValueError: Invalid learning rate: -1")
    results = yaml.safe_load((root / "optimization_results.yaml").read_text())
    assert results["best_params"] == {"model.optimizer.lr": 0.001}


def test_a_job_whose_metric_is_not_finite_is_failed_not_nan(make_cfg):
    """NaN is what crashed Optuna; a diverged run that still finished returns None."""
    cfg = make_cfg()
    assert sweep_job(lambda cfg: {"val/psnr_best": math.nan}, cfg) is None
    record = json.loads((Path(cfg.paths.output_dir) / "job.json").read_text())
    assert record["status"] == "failed" and "val/psnr_best is nan" in record["error"]
    assert sweep_job(lambda cfg: {"val/psnr_best": 30.5}, cfg) == 30.5


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
