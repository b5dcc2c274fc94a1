"""resume= and ckpt_path= run what the record says, or refuse in one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from omegaconf import OmegaConf

from regenlab.errors import UserError
from regenlab.train import resumed, train
from tests.conftest import QUICK, compose_config

SHORT = ["debug=limit", "model.net.width=4", "data.crop_size=16", "data.eval_crop=16",
         "data.batch_size=2", "data.samples_per_epoch=4", "trainer.max_steps=2"]  # fmt: skip


def step_of(path: Path) -> int:
    return torch.load(path, weights_only=True)["global_step"]


@pytest.fixture(scope="module")
def finished_once(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("finished")
    train(compose_config("train", run, [*QUICK, *SHORT]))
    GlobalHydra.instance().clear()
    return run


@pytest.fixture
def finished(finished_once, tmp_path) -> Path:
    """A finished 2-step run (best.ckpt and last.ckpt): a copy in tmp_path/run, trained
    once per module (nothing below trains in it)."""
    return Path(shutil.copytree(finished_once, tmp_path / "run"))


def test_resume_trains_on_to_a_raised_max_steps_and_records_it(make_cfg, tmp_path):
    """The override was silently dropped: the run stopped at its old max_steps. (A
    schedule that does not follow max_steps, here a StepLR, may be trained on.)"""
    step_lr = ["model.scheduler._target_=torch.optim.lr_scheduler.StepLR",
               "~model.scheduler.T_max", "+model.scheduler.step_size=3"]  # fmt: skip
    train(make_cfg(*SHORT, *step_lr))
    train(resumed(make_cfg(f"resume={tmp_path}", "trainer.max_steps=4")))
    assert step_of(tmp_path / "checkpoints" / "last.ckpt") == 4
    assert OmegaConf.load(tmp_path / "config.yaml").trainer.max_steps == 4


@pytest.mark.parametrize("max_steps", [4, -1])
def test_resume_refuses_to_run_past_the_end_of_a_cosine_schedule(make_cfg, finished, max_steps):
    """The restored CosineAnnealingLR kept T_max=2 (the old max_steps): steps 3 and 4 ran at
    a learning rate climbing back to the initial one. A new run from the weights is the
    way the message gives, and it loads them."""
    with pytest.raises(UserError, match=r"\(model.scheduler.T_max=2\) ends at step 2 .*"
                       r"trainer.max_steps<=2, or start a new run"):  # fmt: skip
        resumed(make_cfg(f"resume={finished}", f"trainer.max_steps={max_steps}", subdir="run"))
    last = finished / "checkpoints" / "last.ckpt"
    cfg = make_cfg(*SHORT, "trainer.max_steps=4", f"model.weights={last}",
                   "model.weights_entry=state_dict", "model.weights_key_map={net.:''}",
                   subdir="new")  # fmt: skip
    model = instantiate(cfg.model)
    saved = torch.load(last, weights_only=True)["state_dict"]
    assert all(torch.equal(v, saved[f"net.{k}"]) for k, v in model.net.state_dict().items())


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.optimizer.lr=0.5", r"cannot change model.optimizer.lr \(only trainer.max_steps\)"),
        ("model=dncnn", r"cannot change model "),
        ("experiment=denoise_blind", r"cannot change experiment"),
        ("trainer.max_steps=1", r"trainer.max_steps=1, but .*last.ckpt is at step 2 already"),
    ],
)
def test_resume_refuses_what_it_cannot_honour(make_cfg, finished, override, message):
    with pytest.raises(UserError, match=message):
        resumed(make_cfg(f"resume={finished}", override, subdir="run"))


def test_resume_repeating_the_runs_own_settings_is_no_change(make_cfg, finished):
    cfg = resumed(make_cfg(f"resume={finished}", "debug=limit", "model.net.width=4", subdir="run"))
    assert cfg.ckpt_path.endswith("last.ckpt")


def test_resume_passes_over_a_torn_checkpoint_to_the_newest_readable(make_cfg, finished, caplog):
    last = finished / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])  # torn by a kill or a full disk
    cfg = resumed(make_cfg(f"resume={finished}", subdir="run"))
    assert cfg.ckpt_path == str(finished / "checkpoints" / "best.ckpt")
    assert "last.ckpt unreadable" in caplog.text
    best = finished / "checkpoints" / "best.ckpt"
    best.write_bytes(b"\0" * 100)
    with pytest.raises(UserError, match=r"no readable checkpoint .*\(last.ckpt, best.ckpt"):
        resumed(make_cfg(f"resume={finished}", subdir="run"))


def test_ckpt_path_refuses_optimizer_settings_it_would_not_run(make_cfg, finished):
    """Lightning restores the checkpoint's optimizer and scheduler: lr 0.5 was recorded in
    config.yaml while the saved lr ran."""
    ckpt = f"ckpt_path={finished}/checkpoints/last.ckpt"
    with pytest.raises(UserError, match=r"optimizer initial_lr: checkpoint 0.001, config 0.5"):
        train(make_cfg(*SHORT, ckpt, "model.optimizer.lr=0.5", subdir="new"))
    with pytest.raises(UserError, match=r"scheduler T_max: checkpoint 2, config 4"):
        train(make_cfg(*SHORT, ckpt, "trainer.max_steps=4", subdir="new"))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda run: run / "missing.ckpt", r"missing.ckpt does not exist"),
        (lambda run: run / "noise.ckpt", r"noise.ckpt is not a checkpoint, or is truncated"),
        (lambda run: run / "checkpoints" / "last.ckpt", r"for a model of another shape"),
    ],
)
def test_ckpt_path_is_checked_before_training(make_cfg, finished, tmp_path, make, message):
    (finished / "noise.ckpt").write_bytes(torch.randint(256, (4096,), dtype=torch.uint8).numpy())
    with pytest.raises(UserError, match=message):
        train(make_cfg(*SHORT, f"ckpt_path={make(finished)}", "model.net.width=8", subdir="new"))
    assert not (tmp_path / "new" / "checkpoints").exists()
