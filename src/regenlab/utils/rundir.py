"""One run per dir: a new run starts in a new or empty dir, and a lock keeps a second
process (a run started at the same time, a resume of a running run) out of it."""

from __future__ import annotations

import atexit
import os
import socket
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from regenlab.errors import UserError
from regenlab.utils.console import report_user_errors

LOCK = ".regenlab.lock"
RUN_RECORDS = ("config.yaml", "run.json", "metrics.json", "checkpoints")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def lock_run_dir(run_dir: Path) -> Path:
    """Create ``run_dir/.regenlab.lock`` (pid and host) atomically; refuse if another live
    process holds it. A lock left by a dead process on this host is stale and replaced."""
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = run_dir / LOCK
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid, _, host = lock.read_text().partition(" ") if lock.is_file() else ("", "", "")
            if host == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid)):
                lock.unlink(missing_ok=True)  # a crashed or killed run's
                continue
            raise UserError(
                f"{run_dir} is in use by another run (pid {pid or '?'} on {host or '?'}); "
                f"wait for it to end or use another dir (a lock left by a crash on another "
                f"machine: delete {lock})"
            ) from None
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()} {socket.gethostname()}")
        atexit.register(lock.unlink, missing_ok=True)
        return lock
    raise UserError(f"cannot lock {run_dir}: {lock} keeps reappearing")


def check_empty_run_dir(run_dir: Path, keep: set[str]) -> None:
    """A new run must not mix its files with others: only entries in ``keep`` (what Hydra
    writes on start, the lock, the data and log dirs when they lie inside) may be there."""
    others = sorted(p.name for p in run_dir.iterdir() if p.name not in keep)
    if not others:
        return
    shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
    a_run = any(name in others for name in RUN_RECORDS)
    raise UserError(
        f"{run_dir} already holds {'another run' if a_run else 'other files'} ({shown}); a new "
        "run needs a new or empty dir: leave out hydra.run.dir (each run gets a new one) or "
        "give a new one" + (f", or continue that run with resume={run_dir}" if a_run else "")
    )


# where launchers put a process's rank: Lightning's own, torchrun, SLURM (srun), LSF
RANK_VARIABLES = ("LOCAL_RANK", "NODE_RANK", "RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")


def child_process() -> bool:
    """A DDP rank other than 0: it joins rank 0's run dir, which rank 0 has locked."""
    return any(os.environ.get(k, "0") != "0" for k in RANK_VARIABLES)


class RunDirGuard(Callback):
    """Hydra callback, before Hydra writes anything into the run dir (``.hydra/``, the log):
    lock the dir, and for a new run (no ``resume``/``ckpt_path``) require it new or empty,
    so a finished run, a folder of images or a running run is never written into."""

    @report_user_errors
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        if child_process():
            return
        run_dir = Path(str(OmegaConf.select(config, "hydra.run.dir"))).expanduser().resolve()
        lock = lock_run_dir(run_dir)
        if config.get("resume") or config.get("ckpt_path"):
            return
        inside = [
            Path(str(OmegaConf.select(config, f"paths.{k}"))) for k in ("data_dir", "log_dir")
        ]
        keep = {LOCK, ".hydra", f"{config.get('task_name')}.log"}
        keep |= {p.name for p in inside if p.expanduser().resolve().parent == run_dir}
        try:
            check_empty_run_dir(run_dir, keep)
        except UserError:
            lock.unlink(missing_ok=True)
            raise
