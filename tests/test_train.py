"""The real training entry point on tiny settings: Hydra config, Trainer, files on disk."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from regenlab.callbacks import ProgressBar
from regenlab.errors import ConfigError, UserError
from regenlab.eval import evaluate
from regenlab.train import train
from regenlab.utils.config import check_override_keys

TINY = [
    "debug=limit",
    "model.net.width=8",
    "data.crop_size=32",
    "data.eval_crop=64",
    "trainer.max_steps=6",
    "data.samples_per_epoch=12",
    "data.batch_size=2",
]


@pytest.mark.parametrize("model", ["dncnn", "unet"])
def test_fast_dev_run(make_cfg, model, tmp_path):
    extra = ["model.net.depth=3"] if model == "dncnn" else []
    metrics = train(make_cfg(f"model={model}", "debug=fast_dev_run", "model.net.width=8", *extra))
    assert {"test/psnr", "test/ssim", "test/psnr_input", "test/ssim_input"} <= metrics.keys()
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["seed"] == 12345 and run["versions"]["torch"] and run["git_commit"]
    assert (tmp_path / "config.yaml").is_file()


@pytest.fixture
def short_run(make_cfg, tmp_path) -> tuple[dict[str, float], Path]:
    return train(make_cfg(*TINY)), tmp_path


def test_short_run_writes_record_checkpoints_and_tensorboard(short_run):
    metrics, run_dir = short_run
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["test/psnr"] == pytest.approx(metrics["test/psnr"])
    assert (run_dir / saved["best_checkpoint"]).is_file()
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    rows = list(csv.DictReader((run_dir / "per_image.csv").read_text().splitlines()))
    assert [r["name"] for r in rows] == ["camera"]  # limit_test_batches=1
    assert float(rows[0]["psnr"]) == pytest.approx(metrics["test/psnr"], abs=1e-4)
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0}).Reload()
    tags = events.Tags()
    assert {"train/loss", "val/psnr", "lr-Adam"} <= set(tags["scalars"])
    assert any(t.startswith("val/degraded_restored_clean/") for t in tags["images"])
    assert "_hparams_/session_start_info" in events.PluginTagToContent("hparams")  # hparams tab


def test_eval_reproduces_the_runs_test_metrics(short_run):
    metrics, run_dir = short_run
    again, out = evaluate(run_dir)
    for key in ("test/psnr", "test/ssim", "test/psnr_input"):
        assert again[key] == pytest.approx(metrics[key], abs=1e-5)
    assert (out / "metrics.json").is_file() and out.parent == run_dir / "eval"
    harder, _ = evaluate(run_dir, overrides=["degradation.sigma=50"])
    assert harder["test/psnr_input"] < metrics["test/psnr_input"] - 4


def test_same_seed_gives_identical_metrics(make_cfg, tmp_path):
    first = train(make_cfg(*TINY, subdir="first"))
    second = train(make_cfg(*TINY, subdir="second"))
    assert first == second


TASKS = ["denoise", "denoise_blind", "deblur", "jpeg", "sr_x4", "dehaze", "derust"]


@pytest.mark.parametrize("task", TASKS)
def test_every_restoration_task_trains_and_tests(make_cfg, task):
    metrics = train(make_cfg(f"experiment={task}", "debug=fast_dev_run", "model.net.width=8"))
    assert metrics["test/psnr"] > 5 and metrics["test/psnr_input"] > 5
    if task == "sr_x4":  # RGB and Y-channel metrics, as in SR papers
        assert {"test/psnr_y", "test/ssim_y", "test/psnr_y_input"} <= metrics.keys()


def test_real_pairs_train_and_evaluate_through_the_same_metrics(make_cfg, tmp_path):
    from tests.test_data import write_pairs

    write_pairs(tmp_path / "pairs")
    cfg = make_cfg("data=paired", "degradation=paired", f"data.images.root={tmp_path}/pairs",
                   "data.crop_size=32", "debug=fast_dev_run", "model.net.width=8")  # fmt: skip
    metrics = train(cfg)
    assert 10 < metrics["test/psnr_input"] < 30  # the JPEG'd noisy pairs, measured as given


def test_official_sr_pairs_train_an_upsampling_net_decoded_per_item(make_cfg, tmp_path):
    """DIV2K-style LR/X4/0001x4.png + HR/0001.png of 4x the size, per split's folders."""
    from tests.test_data import write_sr_pairs

    write_sr_pairs(tmp_path / "sr")
    dirs = [f"data.images.{split}=[LR/X4,HR]" for split in ("train", "val", "test")]
    cfg = make_cfg("data=paired", "degradation=paired", "model=unet_sr", "degradation.scale=4",
                   "data.channels=3", f"data.images.root={tmp_path}/sr", *dirs,
                   "data.images.cache=none", "data.crop_size=16", "debug=fast_dev_run",
                   "model.net.width=8")  # fmt: skip
    metrics = train(cfg)
    assert metrics["test/psnr_y_input"] > 10 and metrics["test/psnr_y"] > 5  # on 48x64 HR


def test_real_pairs_refuse_a_synthetic_degradation(make_cfg, tmp_path):
    from tests.test_data import write_pairs

    write_pairs(tmp_path / "pairs")
    cfg = make_cfg("data=paired", f"data.images.root={tmp_path}/pairs", "debug=fast_dev_run")
    with pytest.raises(ConfigError, match=r"real pairs .* degradation is GaussianNoise; data="
                       "paired goes with degradation=paired"):  # fmt: skip
        train(cfg)


@pytest.mark.slow
def test_compiled_model_trains_and_saves_a_plain_checkpoint(make_cfg, tmp_path):
    cfg = make_cfg("debug=limit", "compile=true", "trainer.max_steps=2",
                   "trainer.limit_train_batches=2", "model.net.width=4", "model.net.levels=1",
                   "data.crop_size=16", "data.eval_crop=16", "data.batch_size=2")  # fmt: skip
    metrics = train(cfg)
    assert metrics["test/psnr"] > 0
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert all(not k.startswith("_orig_mod") for k in state)  # loads into an uncompiled model


def test_tiled_evaluation_matches_whole_images(short_run):
    metrics, run_dir = short_run
    tiled_metrics, _ = evaluate(run_dir, overrides=["+model.tile=32", "+model.tile_overlap=8"])
    assert tiled_metrics["test/psnr"] == pytest.approx(metrics["test/psnr"], abs=0.05)


def test_a_bf16_run_is_evaluated_in_float32(make_cfg, tmp_path):
    """The speed options of the BM3D recipe: NHWC weights and bf16 autocast train, save a
    checkpoint that loads into a plain model, and val/test run the net in float32."""
    metrics = train(make_cfg(*TINY, "channels_last=true", "trainer.precision=bf16-mixed"))
    fp32, _ = evaluate(tmp_path, overrides=["trainer.precision=32"])
    assert fp32["test/psnr"] == pytest.approx(metrics["test/psnr"], abs=1e-4)
    assert fp32["test/ssim"] == pytest.approx(metrics["test/ssim"], abs=1e-5)


def test_self_ensemble_evaluation_is_at_least_as_good_on_a_trained_net(short_run):
    metrics, run_dir = short_run
    ensembled, _ = evaluate(run_dir, overrides=["model.ensemble=true"])
    assert ensembled["test/psnr"] != metrics["test/psnr"]
    assert ensembled["test/psnr"] > metrics["test/psnr"] - 0.05


def test_a_run_that_stops_mid_epoch_still_saves_its_final_weights(make_cfg, tmp_path):
    """Checkpoints are written after validation; when max_steps ends an epoch early the
    final weights get one more save, so they are never lost."""
    train(make_cfg(*TINY, "trainer.max_steps=9"))  # epochs of 6 steps: stops mid-epoch 2
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 9
    assert torch.load(tmp_path / "checkpoints" / "best.ckpt", weights_only=True)["global_step"] == 6


@pytest.mark.parametrize("max_epochs, description", [(-1, "Steps"), (5, "Epoch 3/4")])
def test_progress_bar_describes_step_sized_runs(max_epochs, description):
    """Runs here are sized in steps (``max_epochs: -1``): Lightning's bar read 'Epoch 3/-2'."""
    bar = ProgressBar()
    bar._trainer = L.Trainer(max_epochs=max_epochs, max_steps=10, logger=False)
    assert bar._get_train_description(3).strip() == description


class BarPositions(L.Callback):
    """(completed, total) of the training bar before the first batch and after each."""

    def __init__(self, bar: ProgressBar):
        self.bar, self.seen = bar, []

    def record(self) -> None:
        task = self.bar.train_progress_bar
        self.seen.append((int(task.completed), task.total))

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        if not self.seen:
            self.record()

    def on_train_batch_end(self, trainer, *args) -> None:
        self.record()


def fit_with_bar(
    max_epochs: int, max_steps: int, ckpt_path: Path | None = None
) -> tuple[L.Trainer, list]:
    """A tiny fit, 3 batches an epoch, with the bar; the bar's positions."""
    from lightning.pytorch.demos.boring_classes import BoringModel

    bar = ProgressBar()
    positions = BarPositions(bar)
    trainer = L.Trainer(
        max_epochs=max_epochs, max_steps=max_steps, limit_train_batches=3, limit_val_batches=0,
        callbacks=[bar, positions], logger=False, enable_checkpointing=False,
        enable_model_summary=False, accelerator="cpu",
    )  # fmt: skip
    trainer.fit(BoringModel(), ckpt_path=ckpt_path)
    return trainer, positions.seen


@pytest.mark.parametrize(
    ("max_epochs", "max_steps", "expected"),
    [(-1, 7, [(0, 7)] + [(step, 7) for step in range(1, 8)]),  # one bar: the run, so its ETA
     (3, -1, [(0, 3)] + [(i, 3) for _ in range(3) for i in (1, 2, 3)])],  # Lightning's, per epoch
)  # fmt: skip
def test_a_step_sized_run_has_one_bar_against_max_steps(max_epochs, max_steps, expected):
    assert fit_with_bar(max_epochs, max_steps)[1] == expected


def test_a_resumed_step_sized_run_starts_its_bar_where_it_stopped(tmp_path):
    fit_with_bar(-1, 4)[0].save_checkpoint(tmp_path / "step4.ckpt")
    seen = fit_with_bar(-1, 7, ckpt_path=tmp_path / "step4.ckpt")[1]
    assert seen == [(4, 7), (5, 7), (6, 7), (7, 7)]


@pytest.mark.parametrize(
    ("key", "hint"),
    [("max_step", "did you mean trainer.max_steps?"),
     ("gradient_clip", "did you mean trainer.gradient_clip_val?"), ("zzqq", "check its spelling")],
)  # fmt: skip
def test_a_key_the_trainer_does_not_take_is_one_line_before_anything_runs(make_cfg, key, hint):
    """``+trainer.max_step=5`` was a TypeError traceback from inside instantiate."""
    cfg = make_cfg(f"+trainer.{key}=5")
    with pytest.raises(UserError, match=f"trainer.{key} is not an argument of .*; {hint}"):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "config.yaml").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["trainer.max_step=5"], "did you mean trainer.max_steps?"),
     (["trainr.max_steps=5"], "did you mean trainer.max_steps?"),
     (["model=dncnn", "model.net.dept=3"], "did you mean model.net.depth?"),  # in the group chosen
     (["-m", "seed=1,2", "data.crop_sise=8"], "did you mean data.crop_size?"),
     (["foo=1"], "foo is not in the config (from 'foo=1'); check its spelling")],
)  # fmt: skip
def test_a_mistyped_override_names_the_key_meant(args, message):
    """Hydra said "To append to your config use +trainer.max_step=5": a typo kept as a new
    key that nothing reads."""
    with pytest.raises(UserError, match=re.escape(message)):
        check_override_keys(args)


def test_overrides_that_hydra_accepts_pass_the_key_check():
    args = ["experiment=denoise", "data.crop_size=32", "seed=3", "+trainer.foo=1", "~tags",
            "hydra.run.dir=x", "model.net.width=8", "--cfg", "job"]  # fmt: skip
    check_override_keys(args)


@pytest.mark.parametrize(
    ("overrides", "size", "need"),
    [([], 5, 6), (["model.net.levels=4"], 8, 9), (["model.extra_metrics=[ms_ssim]"], 100, 176)],
)
def test_an_eval_image_too_small_for_the_model_is_refused_before_training(
    make_cfg, tmp_path, overrides, size, need
):
    """It failed in the first validation (SSIM's window, the U-Net's padding): a lost epoch."""
    rng = np.random.default_rng(0)
    for split, shape in (("train", 32), ("val", max(32, 2 * size)), ("test", size)):
        (tmp_path / "images" / split).mkdir(parents=True)
        pixels = rng.integers(0, 256, (shape, shape), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / "images" / split / "tiny.png")
    folder = ["data=folder", f"data.images.root={tmp_path}/images", "data.eval_crop=null"]
    cfg = make_cfg(*TINY, *folder, *overrides, subdir="run")
    with pytest.raises(
        UserError, match=rf"test image 'tiny.png' is {size}x{size}, smaller than the {need}x{need}"
    ):
        train(cfg)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_test_false_fits_only_and_records_the_best_validation_score(make_cfg, tmp_path):
    """``test=false`` (as in lightning-hydra-template): the test sets stay unseen."""
    metrics = train(make_cfg(*TINY, "test=false"))
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert not any(k.startswith("test/") for k in saved)
    assert saved["val/psnr_best"] == pytest.approx(metrics["val/psnr_best"])
    assert saved["test"] == "skipped (test=false)" and saved["best_checkpoint"]
    with pytest.raises(UserError, match="does nothing"):
        train(make_cfg(*TINY, "test=false", "train=false", subdir="nothing"))
