"""+callbacks@callbacks.ema=ema: validation, best.ckpt, the test after fit and a resumed run
all see the same average of the weights."""

from __future__ import annotations

from typing import Any

import lightning as L
import pytest
import torch

from regenlab.callbacks import EMA as EMACallback
from regenlab.eval import evaluate
from regenlab.train import resumed, train
from tests.test_resume import SHORT

# 2 steps per epoch, validation after each; max_steps=5 stops mid-epoch, where Checkpoint
# saves once more at the end of training. A constant learning rate: the cosine schedule
# lasts max_steps, so a run raised from 2 to 5 steps would follow another one.
EMA = [*SHORT, "model.scheduler=null", "+callbacks@callbacks.ema=ema", "callbacks.ema.decay=0.5"]


class WeightsAtValidation(L.Callback):
    """The model's weights while each validation runs, by global step."""

    def __init__(self):
        self.seen: dict[int, dict[str, torch.Tensor]] = {}

    def on_validation_batch_end(self, trainer: L.Trainer, module: Any, *args: Any) -> None:
        self.seen[trainer.global_step] = {k: v.clone() for k, v in module.state_dict().items()}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_ema_is_validated_checkpointed_tested_and_resumed(make_cfg, tmp_path):
    weights = WeightsAtValidation()
    metrics = train(make_cfg(*EMA, "trainer.max_steps=5", subdir="whole"), [weights])
    whole = tmp_path / "whole" / "checkpoints"
    best, last = (torch.load(whole / f, weights_only=True) for f in ("best.ckpt", "last.ckpt"))
    # best.ckpt holds what validation ranked: the average, not the raw weights
    assert same(best["state_dict"], weights.seen[best["global_step"]])
    assert not same(best["state_dict"], best["current_model_state"])
    # the test after fit reports best.ckpt's average, as regenlab-eval does (it reported the
    # raw weights)
    again, _ = evaluate(tmp_path / "whole")
    assert metrics["test/psnr"] == pytest.approx(again["test/psnr"], abs=1e-6)
    # the save at the end of training keeps the raw weights to resume from (they were the
    # average, copied over them at on_train_end)
    assert last["global_step"] == 5
    assert not same(last["state_dict"], last["current_model_state"])

    train(make_cfg(*EMA, subdir="resumed"))  # 2 steps, then on to 5
    train(resumed(make_cfg(f"resume={tmp_path / 'resumed'}", "trainer.max_steps=5")))
    again = torch.load(tmp_path / "resumed" / "checkpoints" / "last.ckpt", weights_only=True)
    for key in ("state_dict", "current_model_state", "averaging_state"):
        assert same(again[key], last[key]), key


@pytest.mark.parametrize(("warmup", "expected"), [(True, 0.1 + 0.9 * 9 / 11), (False, 0.1009)])
def test_warmup_lets_early_averages_follow_the_weights(warmup, expected):
    net = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.constant_(net.weight, 0.1)
    ema = EMACallback(decay=0.999, warmup=warmup)
    averaged = torch.optim.swa_utils.AveragedModel(net, **ema._kwargs)
    averaged.update_parameters(net)  # the first update copies: 0.1
    torch.nn.init.constant_(net.weight, 1.0)
    averaged.update_parameters(net)  # decay min(0.999, (1 + 1) / (10 + 1)) with warmup
    assert averaged.module.weight.item() == pytest.approx(expected)
