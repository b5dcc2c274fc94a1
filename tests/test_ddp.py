"""DDP with two CPU processes (gloo): the multi-GPU code path, through the real CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from regenlab.train import train
from tests.conftest import run_cli
from tests.test_test_sets import write_images

COMMON = ["trainer=ddp_cpu", "debug=limit", "callbacks.progress_bar=null"]
RUNS = {
    "restoration": ["trainer.max_steps=4", "trainer.limit_train_batches=2", "model.net.width=4",
                    "data.crop_size=16", "data.eval_crop=32"],
    # logged once per generator step (the logging axis), i.e. every critic_steps batches
    "wgan_gp": ["experiment=wgan_gp", "trainer.max_steps=3", "model.critic_steps=2",
                "trainer.log_every_n_steps=2",
                "model.metrics=null", "model.generator.width=8", "model.critic.width=8",
                "data.dataset.length=256", "data.val_size=32", "data.dataset.test_length=32",
                "data.batch_size=16"],
    "inpainting": ["experiment=inpaint", "trainer.max_steps=3", "trainer.limit_train_batches=2",
                   "model.generator.width=4", "model.critic.width=4", "data.eval_repeats=2",
                   "data.eval_batch_size=2", "data.crop_size=32", "data.eval_crop=32"],
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("method", list(RUNS))
def test_two_process_ddp_trains_and_logs_once(tmp_path, method):
    result = run_cli("regenlab-train", *COMMON, *RUNS[method], cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = list((tmp_path / "outputs" / "debug").glob("*/*"))
    assert len(runs) == 1  # the second process joins the first one's run dir
    metrics = json.loads((runs[0] / "metrics.json").read_text())
    assert metrics["best_checkpoint"] and (runs[0] / metrics["best_checkpoint"]).is_file()
    events = EventAccumulator(str(runs[0] / "tensorboard")).Reload()
    for tag in set(events.Tags()["scalars"]) - {"epoch"}:  # Lightning logs epoch per call
        steps = [e.step for e in events.Scalars(tag)]
        assert len(steps) == len(set(steps)), f"{tag} logged by more than one process"


def per_image(path: Path) -> list[dict[str, Any]]:
    rows = csv.DictReader(path.read_text().splitlines())
    return [{k: v if k in ("name", "set") else float(v) for k, v in r.items()} for r in rows]


@pytest.mark.slow
@pytest.mark.parametrize("named_sets", [False, True])
def test_ddp_evaluates_every_image_once_as_a_single_process_does(make_cfg, tmp_path, named_sets):
    """3 test and 2 val images on 2 ranks: Lightning's sampler padded rank 1 with a repeat
    of the first image, and per_image.csv held rank 0's share only. With lr=0 both runs
    keep the same initial weights, so every metric must agree. Named test sets (3 and 2
    images) are each evaluated and gathered the same way."""
    args = ["model.net.width=4", "model.optimizer.lr=0", "data.crop_size=16",
            "data.eval_crop=32", "data.batch_size=2", "data.samples_per_epoch=4",
            "trainer.max_steps=2", "trainer.enable_model_summary=false"]  # fmt: skip
    if named_sets:
        write_images(tmp_path / "sets" / "a", 3)
        write_images(tmp_path / "sets" / "b", 2, seed=1)
        args += [f"+test_sets.a={tmp_path}/sets/a", f"+test_sets.b={tmp_path}/sets/b"]
    single = train(make_cfg(*args, subdir="single"))
    (tmp_path / "ddp").mkdir()
    result = run_cli("regenlab-train", "trainer=ddp_cpu", "callbacks.progress_bar=null", *args,
                     cwd=tmp_path / "ddp", timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = (tmp_path / "ddp" / "outputs" / "train").glob("*/*")
    ddp = json.loads((run / "metrics.json").read_text())
    assert "val/psnr_best" in single and ("test/a/loss" if named_sets else "test/loss") in single
    assert {k: ddp[k] for k in single} == pytest.approx(single, abs=1e-5)
    rows = per_image(run / "per_image.csv")
    if named_sets:
        names = [(r["set"], r["name"]) for r in rows]
        assert names == [("a", "im00.png"), ("a", "im01.png"), ("a", "im02.png"),
                         ("b", "im00.png"), ("b", "im01.png")]  # fmt: skip
    else:
        assert [r["name"] for r in rows] == ["camera", "astronaut", "coffee"]
    assert rows == [
        pytest.approx(r, abs=1e-5) for r in per_image(tmp_path / "single" / "per_image.csv")
    ]
