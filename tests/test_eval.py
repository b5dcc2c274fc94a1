"""regenlab-eval on damaged checkpoints, read-only runs and classical runs."""

from __future__ import annotations

import functools
import json
import os

import lightning as L
import pytest
import torch

from regenlab.callbacks import ProgressBar
from regenlab.errors import UserError
from regenlab.eval import (
    check_eval_args,
    eval_trainer,
    evaluate,
    from_hydra,
    hydra_argv,
    read_checkpoint,
)
from regenlab.train import train

DAMAGED = "is not a checkpoint, or is truncated or damaged"


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.ckpt"
    torch.save({"state_dict": {"w": torch.arange(4096.0)}}, path)
    return path


@pytest.mark.parametrize("damage", ["random", "text", "empty", "truncated", "bit_flip", "pickle"])
def test_a_file_that_is_no_checkpoint_is_not_called_pickled(good, tmp_path, damage):
    """Random bytes were diagnosed as 'pickled objects, pass allow_pickle=true': wrong, and
    advice to unpickle a file of unknown origin."""
    data = good.read_bytes()
    bad = tmp_path / "bad.ckpt"
    payloads = {
        "random": os.urandom(5000),
        "text": b"not a checkpoint\n" * 100,
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "bit_flip": data[:64] + bytes(b ^ 0xFF for b in data[64:128]) + data[128:],
        "pickle": b"\x80\x04\x95" + os.urandom(200),  # a pickle header, then garbage
    }
    bad.write_bytes(payloads[damage])
    with pytest.raises(UserError, match=DAMAGED) as info:
        read_checkpoint(bad)
    assert "allow_pickle" not in str(info.value)


def test_a_checkpoint_with_pickled_objects_asks_for_allow_pickle(good, tmp_path):
    path = tmp_path / "objects.ckpt"
    torch.save({"state_dict": {}, "extra": functools.partial(print)}, path)
    with pytest.raises(UserError, match=r"holds pickled objects.*allow_pickle=true"):
        read_checkpoint(path)
    assert "extra" in read_checkpoint(path, allow_pickle=True)
    assert read_checkpoint(good)["state_dict"]["w"].sum() == 4095 * 4096 / 2


CLASSICAL = ["model=classical/identity", "data.eval_crop=32", "trainer.limit_val_batches=0",
             "trainer.limit_test_batches=2"]  # fmt: skip


@pytest.fixture
def classical_run(make_cfg, tmp_path):
    """A finished classical run (train=false, no checkpoints) and its test metrics."""
    metrics = train(make_cfg(*CLASSICAL, subdir="run"))
    return tmp_path / "run", metrics


def test_a_classical_run_is_re_evaluated_without_a_checkpoint(classical_run, tmp_path):
    """It was refused with "no checkpoint (a fast_dev_run saves none)"."""
    run, trained = classical_run
    metrics, out = evaluate(run, out=str(tmp_path / "results"))
    assert metrics["test/psnr"] == pytest.approx(trained["test/psnr"], abs=1e-6)
    saved = json.loads((out / "metrics.json").read_text())
    assert out == tmp_path / "results" and saved["checkpoint"] is None
    assert saved["run_dir"] == str(run) and (out / "config.yaml").is_file()


def blocked_eval_dir(run):
    """A run dir where eval/ cannot be made: read-only for users, a file in the way for root
    (root writes into read-only dirs)."""
    if os.geteuid() == 0:
        (run / "eval").write_text("")
    else:
        run.chmod(0o555)


def test_an_unwritable_run_dir_fails_before_evaluating(classical_run, monkeypatch):
    run, _ = classical_run
    blocked_eval_dir(run)

    def evaluated(*args, **kwargs):
        raise AssertionError("evaluated before finding out the results cannot be written")

    monkeypatch.setattr("regenlab.eval.instantiate_datamodule", evaluated)
    try:
        with pytest.raises(UserError, match=r"cannot write the results into .*; pass out=<dir>"):
            evaluate(run)
    finally:
        run.chmod(0o755)


def test_out_never_overwrites_earlier_results(classical_run, tmp_path):
    run, _ = classical_run
    evaluate(run, out=str(tmp_path / "results"))
    with pytest.raises(UserError, match="already holds the results of an eval"):
        evaluate(run, out=str(tmp_path / "results"))


def test_a_mistyped_override_names_the_key_of_the_run_meant(classical_run):
    run, _ = classical_run
    with pytest.raises(
        UserError, match=r"'degradation.sigm' is not .*did you mean degradation\.sigma\?"
    ):
        evaluate(run, overrides=["degradation.sigm=50"])


def test_the_runs_overrides_travel_through_hydra_as_typed():
    """eval's own keys and Hydra's flags stay; a group swap then a key of that group do not
    collide; `+` survives."""
    argv = ["-m", "run_dir=R", "out=o", "data=paired", "data.images.root=/p",
            "+test_sets.set12=/s", "degradation.sigma=15,25", "--cfg", "job"]  # fmt: skip
    hydra = hydra_argv(argv)
    assert hydra[:3] == ["-m", "run_dir=R", "out=o"] and hydra[-2:] == ["--cfg", "job"]
    assert from_hydra(hydra) == argv[3:7]


def test_a_deleted_key_a_sweep_without_m_or_a_swept_run_dir_is_one_line():
    """Before: `~model.tile` set the key to null without a word."""
    with pytest.raises(UserError, match=r"~model.tile: regenlab-eval cannot delete"):
        check_eval_args(["run_dir=R", "~model.tile"])
    with pytest.raises(UserError, match=r"degradation.sigma=15,50 is a sweep: add -m"):
        check_eval_args(["run_dir=R", "degradation.sigma=15,50"])  # before: a traceback
    with pytest.raises(UserError, match=r"run_dir=R,S: a sweep evaluates one run"):
        check_eval_args(["-m", "run_dir=R,S"])  # before: a traceback


@pytest.mark.parametrize("shown", [True, False])
def test_eval_and_classical_runs_show_the_training_progress_bar(make_cfg, shown):
    """Eval's trainer had Lightning's default bar (another style); a classical run with the
    configured bar and ``trainer.enable_progress_bar=false`` stopped on Lightning's
    MisconfigurationException."""
    flags = [f"trainer.enable_progress_bar={str(shown).lower()}"]
    bars = [
        type(c) for c in eval_trainer(make_cfg(*flags)).callbacks if "Progress" in type(c).__name__
    ]
    assert bars == ([ProgressBar] if shown else [])

    class Seen(L.Callback):
        def on_test_start(self, trainer, module):
            self.bar = trainer.progress_bar_callback

    seen = Seen()
    train(make_cfg("model=classical/identity", "data.eval_crop=32", "trainer.limit_val_batches=0",
                   "trainer.limit_test_batches=1", "trainer.accelerator=cpu",
                   "data.num_workers=0", *flags, quick=False), extra_callbacks=[seen])  # fmt: skip
    assert type(seen.bar) is ProgressBar if shown else seen.bar is None
