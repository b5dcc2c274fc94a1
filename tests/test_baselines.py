"""Classical baselines run through the same module, data and metrics as trained models."""

from __future__ import annotations

import json

import pytest

from regenlab.train import train

FAST = ["data.eval_crop=64", "trainer.limit_val_batches=0"]


@pytest.mark.parametrize("method", ["tv", "nlm", "wavelet"])
def test_classical_denoisers_beat_the_noisy_input_without_training(make_cfg, method, tmp_path):
    metrics = train(make_cfg(f"model=classical/{method}", *FAST))
    assert metrics["test/psnr"] > metrics["test/psnr_input"] + 3
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["best_checkpoint"] is None  # nothing was trained
    assert (tmp_path / "config.yaml").is_file() and (tmp_path / "per_image.csv").is_file()


def test_identity_reports_the_input_itself(make_cfg):
    metrics = train(make_cfg("model=classical/identity", *FAST, "degradation=jpeg"))
    assert metrics["test/psnr"] == pytest.approx(metrics["test/psnr_input"], abs=0.05)


def test_bm3d_when_installed(make_cfg):
    pytest.importorskip("bm3d")
    metrics = train(make_cfg("model=classical/bm3d", *FAST))
    assert metrics["test/psnr"] > metrics["test/psnr_input"] + 5
