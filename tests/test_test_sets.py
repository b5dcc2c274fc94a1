"""Benchmark layouts: a plain training folder with a carved-out validation set, and several
named test sets in one run, each reported on its own."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from regenlab.data.images import folder_images
from regenlab.errors import ConfigError, UserError
from regenlab.eval import evaluate
from regenlab.train import train


def write_images(folder: Path, n: int, size: int = 40, seed: int = 0) -> None:
    """``n`` smooth 8-bit gray images (a plain folder, no split subfolders)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        base = rng.integers(0, 255, (size // 8, size // 8)).astype(np.uint8)
        image = Image.fromarray(base).resize((size, size), Image.BICUBIC)
        image.save(folder / f"im{i:02d}.png")


def test_a_plain_folder_carves_a_seeded_validation_set_out_of_training(tmp_path):
    write_images(tmp_path / "train400", 20, size=16)
    train_set = folder_images(tmp_path / "train400", "train", val_fraction=0.1)
    val = folder_images(tmp_path / "train400", "val", val_fraction=0.1)
    assert len(val) == 2 and len(train_set) == 18
    assert not set(val.names) & set(train_set.names)
    assert folder_images(tmp_path / "train400", "val", val_fraction=0.1).names == val.names
    other = folder_images(tmp_path / "train400", "val", val_count=2, split_seed=1)
    assert other.names != val.names
    with pytest.raises(UserError, match=r"no train/val/test subfolders.*\+test_sets\.set12="):
        folder_images(tmp_path / "train400", "test")
    with pytest.raises(ConfigError, match=r"set data\.images\.val_count to 1\.\.19"):
        folder_images(tmp_path / "train400", "val", val_count=20)


@pytest.fixture
def benchmarks(tmp_path: Path) -> Path:
    root = tmp_path / "benchmarks"
    write_images(root / "train400", 8)
    write_images(root / "set12", 3, seed=1)
    write_images(root / "classic5", 2, size=48, seed=2)
    return root


def test_one_run_trains_on_a_plain_folder_and_reports_each_test_set(make_cfg, benchmarks):
    cfg = make_cfg(
        "data=folder", f"data.images.root={benchmarks}/train400", "data.images.val_count=2",
        f"+test_sets.set12={benchmarks}/set12", f"+test_sets.classic5={benchmarks}/classic5",
        "model=dncnn", "model.net.width=8", "model.net.depth=3", "debug=limit",
        "trainer.max_steps=2", "data.crop_size=16", "data.batch_size=2", "data.samples_per_epoch=4",
        "trainer.limit_test_batches=null",
    )  # fmt: skip
    metrics = train(cfg)
    for name in ("set12", "classic5"):
        assert {
            f"test/{name}/psnr",
            f"test/{name}/psnr_input",
            f"test/{name}/ssim",
        } <= metrics.keys()
    assert "test/psnr" not in metrics and "val/psnr_best" in metrics
    assert metrics["test/set12/psnr_input"] != metrics["test/classic5/psnr_input"]
    run_dir = Path(cfg.paths.output_dir)
    rows = list(csv.DictReader((run_dir / "per_image.csv").open()))
    assert [(r["set"], r["name"]) for r in rows] == [
        ("set12", "im00.png"), ("set12", "im01.png"), ("set12", "im02.png"),
        ("classic5", "im00.png"), ("classic5", "im01.png"),
    ]  # fmt: skip
    set12 = [float(r["psnr"]) for r in rows if r["set"] == "set12"]
    assert np.mean(set12) == pytest.approx(metrics["test/set12/psnr"], abs=1e-4)

    # a finished run tested on one more set; the sets it had come out the same
    again, out = evaluate(run_dir, overrides=[f"+test_sets.more={benchmarks}/set12"])
    assert again["test/more/psnr"] == pytest.approx(metrics["test/set12/psnr"], abs=1e-5)
    assert again["test/classic5/psnr"] == pytest.approx(metrics["test/classic5/psnr"], abs=1e-5)
    assert "more" in (out / "per_image.csv").read_text()


def test_without_named_sets_the_default_test_split_keeps_its_names(make_cfg):
    cfg = make_cfg("model=classical/identity", "data.eval_crop=32", "trainer.limit_val_batches=0")
    metrics = train(cfg)
    assert "test/psnr" in metrics and not any(k.count("/") > 1 for k in metrics)
    header = (Path(cfg.paths.output_dir) / "per_image.csv").read_text().splitlines()[0]
    assert header.startswith("name,")


def test_test_set_mistakes_are_user_errors(make_cfg, benchmarks, tmp_path):
    # UserErrors: the entry points print them as one line and exit 2
    cfg = make_cfg("model=classical/identity", f"+test_sets.set.12={benchmarks}/set12")
    with pytest.raises(ConfigError, match=r"test_sets\.set: expected a name of letters"):
        train(cfg)
    cfg = make_cfg("model=classical/identity", f"+test_sets.bsd68={tmp_path}/nowhere")
    with pytest.raises(UserError, match=r"no images in .*nowhere; a test set is a folder"):
        train(cfg)


def test_a_model_that_reports_one_test_set_refuses_named_sets_before_training(make_cfg, benchmarks):
    cfg = make_cfg("experiment=inpaint", f"+test_sets.set12={benchmarks}/set12")
    with pytest.raises(UserError, match=r"test_sets .* work with restoration models"):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "checkpoints").exists()


def test_jpeg_runs_report_psnrb_for_each_test_set(make_cfg, benchmarks):
    """experiment=jpeg turns PSNR-B on; it is lower than PSNR on the blocky JPEG input."""
    cfg = make_cfg(
        "experiment=jpeg", "model=classical/identity", "data=folder", "data.channels=1",
        f"data.images.root={benchmarks}/train400", f"+test_sets.set12={benchmarks}/set12",
        "trainer.limit_val_batches=0", "trainer.limit_test_batches=null",
    )  # fmt: skip
    metrics = train(cfg)
    assert {"test/set12/psnrb", "test/set12/psnrb_input"} <= metrics.keys()
    assert metrics["test/set12/psnrb_input"] < metrics["test/set12/psnr_input"]


def test_lpips_from_a_local_file_is_reported_like_the_other_metrics(make_cfg, tmp_path):
    from torchvision.models import alexnet

    weights = tmp_path / "alexnet.pth"
    torch.save({f"features.{k}": v for k, v in alexnet().features.state_dict().items()}, weights)
    cfg = make_cfg(
        "model=classical/identity", "data.eval_crop=64", "trainer.limit_val_batches=0",
        "model.extra_metrics=[lpips]", f"model.lpips_weights={weights}", "model.y_channel=true",
    )  # fmt: skip
    metrics = train(cfg)
    assert metrics["test/lpips"] > 0 and metrics["test/lpips_input"] > 0
    assert "test/lpips_y" not in metrics and "test/ssim_y" in metrics  # RGB only


def test_training_images_decoded_per_item_in_workers_train_the_same_run(make_cfg, benchmarks):
    """``data.images.cache=none`` (a folder larger than RAM) changes where images are
    decoded, not the numbers: the same crops, so the same validation score."""
    common = (
        "data=folder", f"data.images.root={benchmarks}/train400", "data.images.val_count=2",
        f"+test_sets.set12={benchmarks}/set12", "model=dncnn", "model.net.width=8",
        "model.net.depth=3", "debug=limit", "test=false",
        "trainer.max_steps=2", "data.crop_size=16", "data.batch_size=2", "data.samples_per_epoch=4",
    )  # fmt: skip
    ram = train(make_cfg(*common, "data.images.cache=ram", subdir="ram"))
    lazy = train(make_cfg(*common, "data.images.cache=none", "data.num_workers=2", subdir="lazy"))
    assert lazy["val/psnr_best"] == ram["val/psnr_best"]
