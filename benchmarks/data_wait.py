"""Fraction of a training step spent waiting on data, for real experiments on CPU.

    python benchmarks/data_wait.py [--steps 60 --experiments denoise dehaze]

Runs the real ``train`` entry point (real config, Trainer, DataModule) for ``--steps``
steps with a callback that splits wall time into *waiting* (from the end of one step to
the start of the next: loading, collation, transfer and the batched on-device degradation
in ``on_after_batch_transfer``) and *computing* (forward, backward, optimizer). Prints the
wait fraction per experiment and writes outputs/bench/data_wait.json and .md. Target: < 5%.
On a GPU each boundary waits for the queued GPU work first, so the split is honest but
leaves out any overlap of loading with the previous step's GPU work (an upper bound).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence

import lightning as L
from common import sync, write_report

from regenlab.train import train
from regenlab.utils.config import compose_run_config


class StepTimer(L.Callback):
    """Wall time between steps (waiting on data) and within steps (computing)."""

    def __init__(self, skip: int = 5):
        self.skip, self.wait, self.compute = skip, [], []
        self._end: float | None = None
        self._start = 0.0

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        sync()
        self._start = time.perf_counter()
        if self._end is not None and trainer.global_step >= self.skip:
            self.wait.append(self._start - self._end)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        sync()
        self._end = time.perf_counter()
        if trainer.global_step > self.skip:
            self.compute.append(self._end - self._start)

    def on_validation_start(self, trainer, module):
        self._end = None  # validation time is neither


def measure(experiment: str, steps: int, extra: Sequence[str] = ()) -> dict:
    """The wait fraction of ``experiment`` (with ``extra`` overrides) over ``steps`` steps."""
    timer = StepTimer()
    overrides = [
        f"experiment={experiment}", f"trainer.max_steps={steps}", "logger=csv",
        "trainer.enable_progress_bar=false", "callbacks.progress_bar=null",
        "trainer.limit_val_batches=0", "trainer.limit_test_batches=1", *extra,
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as out:
        train(compose_run_config(overrides, out), extra_callbacks=[timer])
    wait, compute = sum(timer.wait), sum(timer.compute)
    return {
        "experiment": experiment,
        "steps_timed": len(timer.compute),
        "wait_ms_per_step": 1000 * wait / max(len(timer.wait), 1),
        "compute_ms_per_step": 1000 * compute / max(len(timer.compute), 1),
        "wait_fraction": wait / (wait + compute),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--experiments", nargs="+", default=["denoise", "dehaze"])
    args = parser.parse_args()
    rows = [measure(e, args.steps) for e in args.experiments]
    for r in rows:
        r["wait_percent"] = 100 * r["wait_fraction"]
    write_report(
        "data_wait", "Time a training step waits on data (target < 5%)", rows,
        ["experiment", "wait_ms_per_step", "compute_ms_per_step", "wait_percent"],
        steps=args.steps,
    )  # fmt: skip


if __name__ == "__main__":
    main()
