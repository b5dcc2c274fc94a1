"""Classical baselines run through the same module, data and metrics as trained models."""

from __future__ import annotations

import json

import pytest

from regenlab.errors import ConfigError
from regenlab.train import train

FAST = ["data.eval_crop=64", "trainer.limit_val_batches=0"]


@pytest.mark.parametrize("method", ["tv", "nlm", "wavelet"])
def test_classical_denoisers_beat_the_noisy_input_without_training(make_cfg, method, tmp_path):
    metrics = train(make_cfg(f"model=classical/{method}", "trainer.max_steps=0", *FAST))
    assert metrics["test/psnr"] > metrics["test/psnr_input"] + 3
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["best_checkpoint"] is None and saved["trained_steps"] == 0  # nothing to train
    assert "warning" not in saved  # legitimately untrained
    assert (tmp_path / "config.yaml").is_file() and (tmp_path / "per_image.csv").is_file()


def test_identity_reports_the_input_itself(make_cfg):
    metrics = train(make_cfg("model=classical/identity", *FAST, "degradation=jpeg"))
    assert metrics["test/psnr"] == pytest.approx(metrics["test/psnr_input"], abs=0.05)


def test_bm3d_when_installed(make_cfg):
    pytest.importorskip("bm3d")
    metrics = train(make_cfg("model=classical/bm3d", *FAST))
    assert metrics["test/psnr"] > metrics["test/psnr_input"] + 5


SR = ["data.channels=3", "data.multiple_of=4", "degradation=downsample_x4",
      "degradation.quantize=true", *FAST]  # fmt: skip


def test_bicubic_row_is_the_sr_input_row_and_the_preupsampled_identity(make_cfg, tmp_path):
    bicubic = train(make_cfg("model=classical/bicubic", *SR, subdir="bicubic"))
    assert {"test/psnr_y", "test/psnr_y_input"} <= bicubic.keys()
    for key in ("test/psnr", "test/psnr_y"):  # the module's "input" row is the same bicubic
        assert bicubic[key] == pytest.approx(bicubic[f"{key}_input"])
    identity = train(make_cfg("model=classical/identity", *SR, "degradation.upsample=true",
                              "model.crop_border=4", "model.y_channel=true",
                              subdir="identity"))  # fmt: skip
    assert identity["test/psnr_y"] == pytest.approx(bicubic["test/psnr_y"], abs=1e-4)
    rows = (tmp_path / "bicubic" / "per_image.csv").read_text().splitlines()
    assert "psnr_y" in rows[0] and len(rows) == 4


def test_a_net_whose_output_does_not_match_the_clean_size_is_one_clear_error(make_cfg):
    with pytest.raises(ConfigError, match=r"bicubic only with degradation\.upsample=false"):
        train(make_cfg("model=classical/bicubic", *SR, "degradation.upsample=true"))
