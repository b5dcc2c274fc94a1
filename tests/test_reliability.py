"""Nothing is lost: non-finite losses stop cleanly (or are skipped), checkpoints survive."""

from __future__ import annotations

import pytest
import torch

from regenlab.callbacks import NonFiniteLossError
from regenlab.train import train

TINY = [
    "debug=limit",
    "model.net.width=8",
    "data.crop_size=32",
    "data.eval_crop=32",
    "data.batch_size=2",
    "data.samples_per_epoch=4",  # 2 steps per epoch: a checkpoint after step 2
    "trainer.max_steps=8",
    "model.loss._target_=tests.helpers.losses.NaNFromCall",
    "+model.loss.start=4",
]


def test_nan_loss_stops_with_step_and_term_and_keeps_last_checkpoint(make_cfg, tmp_path):
    with pytest.raises(NonFiniteLossError, match=r"at step 3 .*train/loss.*last good checkpoint"):
        train(make_cfg(*TINY))
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 2
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values())


def test_nan_batches_can_be_skipped(make_cfg, tmp_path):
    metrics = train(make_cfg(*TINY, "callbacks.finite_loss.skip=true"))
    assert metrics["test/psnr"] > 0  # finished and tested with finite weights
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values())
