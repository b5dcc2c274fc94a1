"""Fraction of a training step spent waiting on data, for real experiments on CPU.

    python benchmarks/data_wait.py [--steps 60 --experiments denoise dehaze]

Runs the real ``train`` entry point (real config, Trainer, DataModule) for ``--steps``
steps with a callback that splits wall time into *waiting* (from the end of one step to
the start of the next: loading, collation, transfer and the batched on-device degradation
in ``on_after_batch_transfer``) and *computing* (forward, backward, optimizer). Prints the
wait fraction per experiment and writes outputs/bench/data_wait.json. Target: < 5%.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import lightning as L

from regenlab.train import train
from regenlab.utils.config import compose_run_config


class StepTimer(L.Callback):
    """Wall time between steps (waiting on data) and within steps (computing)."""

    def __init__(self, skip: int = 5):
        self.skip, self.wait, self.compute = skip, [], []
        self._end: float | None = None
        self._start = 0.0

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self._start = time.perf_counter()
        if self._end is not None and trainer.global_step >= self.skip:
            self.wait.append(self._start - self._end)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self._end = time.perf_counter()
        if trainer.global_step > self.skip:
            self.compute.append(self._end - self._start)

    def on_validation_start(self, trainer, module):
        self._end = None  # validation time is neither


def measure(experiment: str, steps: int) -> dict:
    timer = StepTimer()
    overrides = [
        f"experiment={experiment}", f"trainer.max_steps={steps}", "logger=csv",
        "trainer.enable_progress_bar=false", "callbacks.progress_bar=null",
        "trainer.limit_val_batches=0", "trainer.limit_test_batches=1",
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
    print(f"{'experiment':<12} {'wait ms':>8} {'step ms':>8} {'wait %':>7}")
    for r in rows:
        print(f"{r['experiment']:<12} {r['wait_ms_per_step']:8.1f} "
              f"{r['compute_ms_per_step']:8.1f} {100 * r['wait_fraction']:6.1f}%")  # fmt: skip
    out = Path(os.environ.get("REGENLAB_ROOT", ".")) / "outputs/bench/data_wait.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"steps": args.steps, "results": rows}, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
