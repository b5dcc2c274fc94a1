"""Nothing is lost: non-finite losses stop cleanly (or are skipped), checkpoints survive."""

from __future__ import annotations

import csv
import errno
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from regenlab.callbacks import NonFiniteLossError
from regenlab.errors import UserError
from regenlab.train import train
from regenlab.utils.config import unique_dir
from regenlab.utils.run import atomic_write

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
    kept = r"at step 3 .*train/loss.*last good checkpoint is kept: .*checkpoints/last.ckpt\."
    with pytest.raises(NonFiniteLossError, match=kept):
        train(make_cfg(*TINY))
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 2
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values())


def test_nan_at_the_first_step_says_no_checkpoint_was_written(make_cfg, tmp_path):
    with pytest.raises(NonFiniteLossError, match=r"at step 0 .*No checkpoint of this run was"):
        train(make_cfg(*TINY, "model.loss.start=1"))
    assert not list(tmp_path.glob("checkpoints/*.ckpt"))


def test_nan_batches_can_be_skipped(make_cfg, tmp_path):
    metrics = train(make_cfg(*TINY, "callbacks.finite_loss.skip=true"))
    assert metrics["test/psnr"] > 0  # finished and tested with finite weights
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values())


def test_a_new_run_never_writes_over_the_checkpoints_of_a_finished_one(make_cfg, tmp_path):
    """``hydra.run.dir`` reused: Lightning silently resumed from the old last.ckpt (and a
    fresh run would overwrite best.ckpt); the second run must refuse and say what to do."""
    short = ["debug=limit", "model.net.width=4", "data.crop_size=16", "data.eval_crop=16",
             "data.batch_size=2", "data.samples_per_epoch=4", "trainer.max_steps=2"]  # fmt: skip
    train(make_cfg(*short))
    best = (tmp_path / "checkpoints" / "best.ckpt").read_bytes()
    with pytest.raises(UserError, match=r"already holds .*checkpoints.*resume="):
        train(make_cfg(*short, "model.net.width=8"))
    assert (tmp_path / "checkpoints" / "best.ckpt").read_bytes() == best
    # continuing it in place from one of its checkpoints is what resume/ckpt_path are for
    train(make_cfg(*short, f"ckpt_path={tmp_path}/checkpoints/last.ckpt"))
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 2


def test_runs_started_in_the_same_second_get_their_own_dirs(tmp_path):
    base = str(tmp_path / "train" / "2026-01-01" / "10-00-00")
    dirs = [unique_dir(base) for _ in range(3)]
    assert dirs == [base, f"{base}-1", f"{base}-2"]
    assert all(Path(d).is_dir() for d in dirs)


@pytest.mark.slow
def test_concurrent_cli_runs_never_share_an_output_dir(tmp_path):
    args = ["debug=fast_dev_run", "model.net.width=4", "callbacks.progress_bar=null"]
    exe = Path(sys.executable).parent / "regenlab-train"
    env = {**os.environ, "REGENLAB_ROOT": str(tmp_path)}
    procs = [
        subprocess.Popen([exe, *args], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
        for _ in range(2)
    ]  # fmt: skip
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    runs = sorted((tmp_path / "outputs" / "debug").glob("*/*"))
    assert len(runs) == 2 and all((r / "metrics.json").is_file() for r in runs)


def default_sigint() -> None:
    """Children of a background shell inherit an ignored SIGINT; a terminal user's don't."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 1), (signal.SIGTERM, 143)])
def test_interrupt_saves_a_resumable_checkpoint(tmp_path, sig, code):
    args = ["model.net.width=4", "data.crop_size=16", "data.batch_size=2",
            "data.samples_per_epoch=4", "data.eval_crop=16", "trainer.max_steps=100000",
            "callbacks.progress_bar=null", "trainer.limit_val_batches=1",
            "hydra.run.dir=" + str(tmp_path / "run")]  # fmt: skip
    exe = Path(sys.executable).parent / "regenlab-train"
    env = {**os.environ, "REGENLAB_ROOT": str(tmp_path)}
    proc = subprocess.Popen(
        [exe, *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, preexec_fn=default_sigint,
    )  # fmt: skip
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    deadline = time.time() + 120
    while not last.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(sig)
    output = proc.communicate(timeout=120)[0]
    assert proc.returncode == code, output[-2000:]
    saved = tmp_path / "run" / "checkpoints" / "interrupted.ckpt"
    step = torch.load(saved, weights_only=True)["global_step"]
    assert step >= 2 and "resume with" in output
    resumed = subprocess.run(  # from the newest checkpoint, interrupted.ckpt
        [exe, f"resume={tmp_path / 'run'}", "trainer.max_steps=" + str(step + 2)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert torch.load(last, weights_only=True)["global_step"] == step + 2


def train_losses(run: Path) -> dict[int, str]:
    with open(run / "csv" / "metrics.csv") as f:
        return {int(r["step"]): r["train/loss"] for r in csv.DictReader(f) if r["train/loss"]}


@pytest.mark.slow
def test_killed_run_resumes_in_place_and_reproduces_the_uninterrupted_run(tmp_path):
    """SIGKILL after the first checkpoint, resume: every later step logs the same loss at
    the same step, and the final metrics are bit-identical (same seed, CPU)."""
    args = ["model.net.width=4", "data.crop_size=16", "data.batch_size=2",
            "data.samples_per_epoch=8", "data.eval_crop=16", "trainer.max_steps=60",
            "callbacks.progress_bar=null", "trainer.limit_val_batches=1", "logger=csv",
            "trainer.log_every_n_steps=1"]  # fmt: skip
    exe = Path(sys.executable).parent / "regenlab-train"
    env = {**os.environ, "REGENLAB_ROOT": str(tmp_path)}
    whole = subprocess.run([exe, *args, f"hydra.run.dir={tmp_path}/whole"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert whole.returncode == 0, whole.stderr[-2000:]
    run = tmp_path / "killed"
    proc = subprocess.Popen([exe, *args, f"hydra.run.dir={run}"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    last = run / "checkpoints" / "last.ckpt"
    deadline = time.time() + 300
    while not last.exists() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # mid-epoch, no chance to save anything
    assert proc.wait(timeout=60) == -signal.SIGKILL
    assert not (run / "metrics.json").exists()
    resumed = subprocess.run([exe, f"resume={run}"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=600)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert list(tmp_path.glob("outputs/*")) == []  # no new run dir
    first, second = (
        json.loads((d / "metrics.json").read_text()) for d in (tmp_path / "whole", run)
    )
    for key in ("test/psnr", "val/psnr_best"):
        assert second[key] == first[key], key
    whole_losses, resumed_losses = train_losses(tmp_path / "whole"), train_losses(run)
    assert min(resumed_losses) > 0 and max(resumed_losses) == 59  # logged after the resume
    assert all(whole_losses[step] == loss for step, loss in resumed_losses.items())
    assert json.loads((run / "run.json").read_text())["resumes"][0]["checkpoint"].endswith(".ckpt")


def test_a_crash_mid_write_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    atomic_write(path, '{"test/psnr": 29.3}\n')

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # e.g. Ctrl-C between writing and renaming

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, '{"test/psnr": 0.0, "half": ')
    assert path.read_text() == '{"test/psnr": 29.3}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temp file left


def test_a_failed_checkpoint_save_keeps_the_last_good_one(make_cfg, tmp_path, monkeypatch):
    train(make_cfg(*TINY[:-2], "trainer.max_steps=2"))
    last = tmp_path / "checkpoints" / "last.ckpt"
    before = last.read_bytes()
    real_save = torch.save

    def failing_save(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        raise OSError("disk full")  # after the bytes are produced, before the file is moved

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        # the checkpoint's scheduler settings, as ckpt_path= requires
        train(make_cfg(*TINY[:-2], "trainer.max_steps=4", "model.scheduler.T_max=2",
                       f"ckpt_path={last}"))  # fmt: skip
    assert last.read_bytes() == before
    assert sorted(p.name for p in last.parent.iterdir()) == ["best.ckpt", "last.ckpt"]
    monkeypatch.undo()
    assert "state_dict" in torch.load(last, weights_only=True)


@pytest.fixture
def checkpoint_io(make_cfg, monkeypatch):
    """The checkpoint IO of the configured trainer, its temp dir (``/tmp``) watched: on
    another filesystem than the run dir where one exists (tmpfs), as on many clusters."""
    shm = Path("/dev/shm")
    other_fs = shm.is_dir() and os.access(shm, os.W_OK)
    scratch = Path(tempfile.mkdtemp(dir=shm if other_fs else None))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield instantiate(make_cfg().trainer).strategy.checkpoint_io, scratch
    scratch.rmdir()  # fails if a temp file leaked there


def test_a_checkpoint_save_replaces_the_old_file_never_rewrites_it(checkpoint_io, tmp_path):
    """Lightning's own IO moved a temp file from /tmp over last.ckpt: across filesystems a
    copy in place, which a kill mid-save left at 0 bytes. A reader of the old file (a hard
    link here) must keep it whole."""
    io, scratch = checkpoint_io
    last = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"state_dict": {"w": torch.ones(3)}}, last)
    os.link(last, tmp_path / "old.ckpt")
    io.save_checkpoint({"state_dict": {"w": torch.zeros(3)}}, last)
    assert torch.load(tmp_path / "old.ckpt", weights_only=True)["state_dict"]["w"].sum() == 3
    assert torch.load(last, weights_only=True)["state_dict"]["w"].sum() == 0
    assert [p.name for p in last.parent.iterdir()] == ["last.ckpt"]
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("fault", [OSError(errno.ENOSPC, "No space left"), KeyboardInterrupt()])
def test_a_checkpoint_save_that_fails_midway_keeps_the_old_one(checkpoint_io, tmp_path, fault,
                                                               monkeypatch):  # fmt: skip
    io, scratch = checkpoint_io
    last = tmp_path / "last.ckpt"
    io.save_checkpoint({"state_dict": {"w": torch.ones(3)}}, last)
    before = last.read_bytes()

    def fails_midway(obj, f, *args, **kwargs):
        f.write(before[: len(before) // 2])  # half a checkpoint, then the disk is full
        raise fault

    monkeypatch.setattr(torch, "save", fails_midway)
    with pytest.raises(type(fault)):
        io.save_checkpoint({"state_dict": {"w": torch.zeros(3)}}, last)
    assert last.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".ckpt" or p.name[0] == "."] == [
        "last.ckpt"
    ]
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["trainer.max_steps=0"], r"trainer.max_steps=0 trains nothing"),
        (["data.samples_per_epoch=1"], r"data.samples_per_epoch \(1\) is fewer than data.batch_"),
    ],
)
def test_a_run_that_cannot_train_a_step_is_refused(make_cfg, tmp_path, overrides, message):
    with pytest.raises(UserError, match=message):
        train(make_cfg(*TINY, *overrides))
    assert not (tmp_path / "metrics.json").exists()


def test_a_run_whose_every_batch_was_skipped_is_marked_untrained(make_cfg, tmp_path):
    train(make_cfg(*TINY, "model.loss.start=1", "callbacks.finite_loss.skip=true"))
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["trained_steps"] == 8 and record["skipped_batches"] == 8
    assert "no training step of this run changed the weights" in record["warning"]
