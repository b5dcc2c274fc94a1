"""The console scripts as a user runs them: help, and one clear line for each mistake."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import torch
import yaml

from tests.conftest import run_cli

# (arguments, expected exit code, text the message must contain); each a user mistake
BAD_TRAIN = [
    (["model=foo"], 1, "Could not find 'model/foo'\n\nAvailable options in 'model':"),
    (["foo.bar=1"], 2, "error: foo.bar is not in the config (from 'foo.bar=1')"),
    (["trainer.max_step=5"], 2, "error: trainer.max_step is not in the config (from "
     "'trainer.max_step=5'); did you mean trainer.max_steps?"),
    (["degradation.sigma=-5"], 2, "error: degradation: sigma must be >= 0, got -5"),
    (["degradation=jpeg", "degradation.quality=[0,50]"], 2, "quality must be in [1, 100], got 0"),
    (["degradation=downsample_x4", "degradation.scale=2.5"], 2,
     "error: degradation.scale=2.5: expected an integer"),
    (["data.crop_size=400"], 2, "error: data.crop_size=400 is larger than the smallest"),
    (["data.batch_size=abc"], 2, "error: data.batch_size='abc': expected an integer"),
    (["data.batch_size=0"], 2, "error: data.batch_size must be >= 1, got 0"),
    (["trainer=gpu"], 2, "no GPU is available here; run on the CPU with trainer=cpu"),
    (["trainer=ddp"], 2, "no GPU is available here"),
    (["data=folder", "data.images.root={tmp}/missing"], 2, "image folder {tmp}/missing does not"),
    (["experiment=dcgan", "model.metrics=null", "data=mnist", "data.dataset.root={tmp}/missing"], 2,
     "MNIST not found in {tmp}/missing: torchvision expects MNIST/raw/"),
    (["experiment=dcgan", "model.metrics.features.path={tmp}/nope.pt"], 2,
     "feature extractor {tmp}/nope.pt not found; train it first"),
    (["model.extra_metrics=[lpips]", "model.lpips_weights={tmp}/alex.pth"], 2,
     "LPIPS weights {tmp}/alex.pth not found; download alexnet-owt-7be5be79.pth"),
    (["resume={tmp}/missing"], 2, "error: resume={tmp}/missing is not a regenlab run"),
    (["+trainer.max_step=5"], 2,
     "error: trainer.max_step is not an argument of Lightning's Trainer; did you mean "
     "trainer.max_steps?"),
    (["callbacks.model_checkpoint.dirpath=/tmp/elsewhere"], 2,
     "callbacks.model_checkpoint.dirpath=/tmp/elsewhere is outside the run dir"),
    # values of the wrong type or size: tracebacks before
    (["trainer.max_epochs=abc"], 2, "error: trainer.max_epochs='abc': expected an integer or null"),
    (["model.optimizer.lr=abc"], 2, "error: model.optimizer.lr='abc': expected a number"),
    (["seed=x"], 2, "error: seed='x' must be an integer"),
    (["model.net.width=-3"], 2, "error: model.net: width must be an integer >= 1, got -3"),
    (["trainer.max_epochs=-5"], 2, "error: trainer: `max_epochs` must be a non-negative integer"),
    (["+model.net.foo=1"], 2, "model.net: UNet.__init__() got an unexpected keyword argument"),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "code", "message"), BAD_TRAIN, ids=[" ".join(a) for a, *_ in BAD_TRAIN]
)
def test_bad_train_input_gives_one_clear_message(tmp_path, args, code, message):
    args, message = [a.format(tmp=tmp_path) for a in args], message.format(tmp=tmp_path)
    result = run_cli("regenlab-train", *args, "trainer.max_steps=1", cwd=tmp_path)
    assert result.returncode == code, result.stderr[-2000:]
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "missing").exists()  # a mistake creates nothing in its place
    if code == 2:  # ours: exactly one line
        assert len([line for line in result.stderr.splitlines() if "error:" in line]) == 1


@pytest.mark.slow
def test_train_console_has_one_line_per_event_and_no_adverts(tmp_path):
    """Lightning's handler and Hydra's each printed its INFO lines (hydra#2898), with the
    litlogger advert and torch's LeafSpec deprecation; the run's .log keeps every line."""
    args = ["debug=limit", "trainer.max_steps=2", "trainer.limit_train_batches=2",
            "model.net.width=4", "data.crop_size=16", "data.eval_crop=16",
            f"hydra.run.dir={tmp_path}/run"]  # fmt: skip
    result = run_cli("regenlab-train", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    console = result.stdout + result.stderr
    log = next((tmp_path / "run").glob("*.log")).read_text()
    events = [line.split("] - ", 1)[1] for line in log.splitlines() if "][lightning." in line]
    assert any("`Trainer.fit` stopped" in event for event in events)
    assert any("litlogger" in event for event in events) and "LeafSpec" in log
    for event in events:
        assert console.count(event) == (0 if "litlogger" in event else 1), event
    assert "litlogger" not in console and "LeafSpec" not in console


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A real short run, trained through the CLI."""
    root = tmp_path_factory.mktemp("run")
    args = ["debug=limit", "trainer.max_steps=2", "trainer.limit_train_batches=2",
            "model.net.width=4", "data.crop_size=16", "data.eval_crop=16",
            f"hydra.run.dir={root}/run"]  # fmt: skip
    assert run_cli("regenlab-train", *args, cwd=root).returncode == 0
    return root / "run"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("damage", "message"),
    [("truncate", "is not a checkpoint, or is truncated or damaged"),
     ("other_shape", "was written for a model of another shape"),
     ("pickled", "holds pickled objects, which can run code when loaded; if you trust")],
)  # fmt: skip
def test_eval_rejects_bad_checkpoints_with_one_line(finished_run, tmp_path, damage, message):
    good = finished_run / "checkpoints" / "last.ckpt"
    bad = tmp_path / "bad.ckpt"
    if damage == "truncate":
        bad.write_bytes(good.read_bytes()[:1000])
    else:
        ckpt = torch.load(good, weights_only=True)
        if damage == "other_shape":
            ckpt["state_dict"] = {
                k: torch.zeros(3, *v.shape) for k, v in ckpt["state_dict"].items()
            }
        else:
            ckpt["extra"] = functools.partial(print)
        torch.save(ckpt, bad)
    result = run_cli("regenlab-eval", f"run_dir={finished_run}", f"ckpt_path={bad}", cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [(["degradation.sigma=abc"], "error: degradation.sigma='abc': expected a number or a list"),
     (["model.net.width=x"], "error: model.net.width='x': expected an integer"),
     (["model.tile=0"], "error: model: tile=0 must be an integer >= 1")],
)  # fmt: skip
def test_eval_wrong_values_are_one_line(finished_run, tmp_path, args, message):
    """Before: tracebacks from inside the targets (GaussianNoise, UNet, tiled)."""
    result = run_cli("regenlab-eval", f"run_dir={finished_run}", *args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_eval_on_a_dir_that_is_not_a_run(tmp_path):
    result = run_cli("regenlab-eval", f"run_dir={tmp_path}", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: {tmp_path} is not a regenlab run")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.slow
def test_train_help_lists_groups_and_examples(tmp_path):
    result = run_cli("regenlab-train", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for text in ("Examples:", "degradation: blur", "regenlab-eval"):
        assert text in result.stdout
    models = next(line for line in result.stdout.splitlines() if line.startswith("model: "))
    assert {"dncnn", "unet", "dcgan", "wgan_gp", "vae", "inpaint"} <= set(models[7:].split(", "))


def test_eval_help(tmp_path):
    result = run_cli("regenlab-eval", "--help", cwd=tmp_path)
    assert result.returncode == 0 and "run_dir=" in result.stdout


@pytest.mark.slow
def test_eval_sweeps_over_a_finished_run(finished_run, tmp_path):
    """Before: `-m` and `degradation.sigma=15,50` were handed to the run's config as keys."""
    result = run_cli("regenlab-eval", "-m", f"run_dir={finished_run}",
                     "degradation.sigma=15,50", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert not list(tmp_path.iterdir())  # nothing of Hydra's in the cwd
    sweep = next(p for p in (finished_run / "eval").iterdir() if (p / "summary.json").is_file())
    rows = json.loads((sweep / "summary.json").read_text())
    assert [r["overrides"] for r in rows] == [["degradation.sigma=15"], ["degradation.sigma=50"]]
    assert all(r["status"] == "ok" for r in rows)
    assert rows[0]["metrics"]["test/psnr_input"] > rows[1]["metrics"]["test/psnr_input"] + 5
    for job in ("0", "1"):
        saved = json.loads((sweep / job / "metrics.json").read_text())
        assert saved["run_dir"] == str(finished_run) and (sweep / job / ".hydra").is_dir()


@pytest.mark.slow
def test_eval_of_a_read_only_run_writes_everything_to_out(finished_run, tmp_path):
    before = sorted(p.name for p in finished_run.iterdir())
    finished_run.chmod(0o555)
    try:
        result = run_cli("regenlab-eval", f"run_dir={finished_run}", "out=results",
                         "data=natural", "data.eval_crop=24", cwd=tmp_path)  # fmt: skip
    finally:
        finished_run.chmod(0o755)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in finished_run.iterdir()) == before
    out = tmp_path / "results"
    assert {".hydra", "eval.log", "metrics.json", "config.yaml"} <= {p.name for p in out.iterdir()}
    assert "data.eval_crop=24" in json.loads((out / "metrics.json").read_text())["overrides"]
    again = run_cli("regenlab-eval", f"run_dir={finished_run}", "out=results", cwd=tmp_path)
    assert again.returncode == 2 and "already holds the results" in again.stderr


def test_eval_cfg_job_prints_its_config_and_the_runs_overrides(tmp_path):
    result = run_cli("regenlab-eval", "run_dir=R", "degradation.sigma=50", "--cfg", "job",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    printed = yaml.safe_load(result.stdout)
    assert printed["run_dir"] == "R" and printed["run_overrides"] == {"degradation__sigma": 50}
    assert not list(tmp_path.iterdir())


def own_config_dir(root: Path) -> Path:
    """A user's config dir: this machine's settings (local/) and an experiment of their own."""
    (root / "mine" / "local").mkdir(parents=True)
    (root / "mine" / "experiment").mkdir()
    (root / "mine" / "local" / "default.yaml").write_text(
        "# @package _global_\npaths:\n  mnist_root: /data/mnist\nslurm_partition: gpu\n"
    )
    (root / "mine" / "experiment" / "mine.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /model: dncnn\ndegradation:\n  sigma: 42\n"
    )
    return root / "mine"


def test_config_dir_adds_local_settings_and_own_experiments(tmp_path):
    """Before: no local group; an experiment outside the package's conf/ was not found."""
    mine = own_config_dir(tmp_path)
    result = run_cli("regenlab-train", "--config-dir", str(mine), "experiment=mine",
                     "hydra/launcher=slurm", "--cfg", "all", "--resolve", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    cfg = yaml.safe_load(result.stdout)
    assert cfg["paths"]["mnist_root"] == "/data/mnist" and cfg["degradation"]["sigma"] == 42
    assert cfg["model"]["net"]["_target_"].endswith("DnCNN")
    assert cfg["hydra"]["launcher"]["partition"] == "gpu"
    result = run_cli("regenlab-eval", "--config-dir", str(mine), "run_dir=R", "--cfg", "job",
                     cwd=tmp_path)  # fmt: skip
    assert yaml.safe_load(result.stdout)["paths"]["mnist_root"] == "/data/mnist"


def test_eval_tab_completion(tmp_path, monkeypatch):
    """Hydra's shell completion (`regenlab-eval -sc install=bash`); before: no completion."""
    monkeypatch.setenv("COMP_LINE", "regenlab-eval ckpt")
    result = run_cli("regenlab-eval", "-sc", "query=bash", cwd=tmp_path)
    assert result.returncode == 0 and "ckpt_path=" in result.stdout, result.stderr[-2000:]
