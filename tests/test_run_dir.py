"""One run per dir: a new run refuses a dir that holds anything; a lock keeps two out."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from regenlab.errors import UserError
from regenlab.utils.rundir import LOCK, lock_run_dir
from tests.conftest import run_cli

QUICK_RUN = ["debug=fast_dev_run", "model.net.width=4", "callbacks.progress_bar=null"]


def listing(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"metrics.json": "{}", "config.yaml": "seed: 1\n"},
            r"already holds another run .*resume=",
        ),
        (
            {"photo.png": "not really", "notes.txt": "mine"},
            r"already holds other files \(notes.txt",
        ),
    ],
    ids=["finished-classical-run", "folder-of-images"],
)
def test_a_new_run_refuses_a_dir_that_holds_anything(tmp_path, files, message):
    """Both were written into: the classical run's metrics.json overwritten, the folder
    filled with run files. Refused before Hydra writes its own .hydra/ and log there."""
    target = tmp_path / "target"
    target.mkdir()
    for name, text in files.items():
        (target / name).write_text(text)
    before = listing(target)
    result = run_cli("regenlab-train", *QUICK_RUN, f"hydra.run.dir={target}", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(result.stderr.strip().splitlines()) == 1
    assert re.search(message, result.stderr)
    assert listing(target) == before


def test_a_lock_of_a_live_run_refuses_and_a_stale_one_is_replaced(tmp_path):
    (tmp_path / LOCK).write_text(f"{os.getppid()} {socket.gethostname()}")  # alive
    with pytest.raises(UserError, match=rf"in use by another run \(pid {os.getppid()} "):
        lock_run_dir(tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / LOCK).write_text(f"{dead.pid} {socket.gethostname()}")  # a killed run's
    lock = lock_run_dir(tmp_path)
    assert lock.read_text() == f"{os.getpid()} {socket.gethostname()}"
    lock.unlink()


@pytest.mark.slow
def test_two_runs_started_at_once_into_one_dir_do_not_share_it(tmp_path):
    """Both ran and interleaved their records."""
    exe = Path(sys.executable).parent / "regenlab-train"
    env = {**os.environ, "REGENLAB_ROOT": str(tmp_path)}
    procs = [
        subprocess.Popen([exe, *QUICK_RUN, f"hydra.run.dir={tmp_path}/same"], cwd=tmp_path,
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    results = sorted((p.wait(timeout=300), p.stderr.read()) for p in procs)
    assert [code for code, _ in results] == [0, 2]
    assert "in use by another run" in results[1][1] or "already holds" in results[1][1]
    assert (tmp_path / "same" / "metrics.json").is_file()
    assert not (tmp_path / "same" / LOCK).exists()  # released at the end


@pytest.mark.slow
def test_run_records_and_compare_outputs_are_readable_by_the_group(make_cfg, tmp_path):
    """Atomic writes go through mkstemp, whose files are 0600: the run's record, checkpoints
    and compare's tables must follow the umask like the logs (0644 under umask 022)."""
    from regenlab.compare import run_compare
    from regenlab.train import train

    previous = os.umask(0o022)
    try:
        cfg = make_cfg(
            "model=unet", "model.net.width=4", "debug=limit", "trainer.max_steps=2",
            "data.crop_size=16", "data.eval_crop=16", "data.batch_size=2", "logger=csv",
        )  # fmt: skip
        train(cfg)
        run, out = Path(cfg.paths.output_dir), tmp_path / "compare"
        run_compare([run], ["model"], [], ["test/psnr"], out)
    finally:
        os.umask(previous)
    files = [run / "metrics.json", run / "config.yaml", run / "run.json", *run.rglob("*.ckpt")]
    files += [p for p in out.iterdir() if p.is_file()]
    assert len(files) > 5 and any(p.suffix == ".ckpt" for p in files)
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == {
        p.name: "0o644" for p in files
    }
