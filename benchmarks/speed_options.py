"""Speed options of a training step, each against the plain float32 run in one process.

    python benchmarks/speed_options.py [--steps 40 --rounds 3 --experiment denoise]

Times the real training path (config, Trainer, callbacks, logger; validation off) of one
experiment with: channels_last, bf16 autocast, both, torch.compile, and DataLoader workers.
Ratios > 1 are faster than the float32 baseline. Whatever helps on the machine at hand is a
candidate default; bf16 also changes the numbers, so its quality is checked by full runs
(docs/speed.md). Where bf16 is only emulated, its options run a tenth of the steps.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from common import error_line, interleaved, write_report
from overhead import lightning

from regenlab.utils.config import native_bf16

OPTIONS = {
    "float32 (baseline)": [],
    "channels_last": ["channels_last=true"],
    "bf16-mixed": ["trainer.precision=bf16-mixed"],
    "bf16-mixed + channels_last": ["trainer.precision=bf16-mixed", "channels_last=true"],
    "compile": ["compile=true"],
    "2 DataLoader workers (persistent)": ["data.num_workers=2"],
}


def failing_as_nan(fn: Callable[[], float], errors: dict[str, str], name: str) -> Callable:
    """``fn``, except that once it raised it returns NaN at once and ``errors[name]`` says
    why: one option that fails (compile on a new GPU) costs the others nothing."""

    def run() -> float:
        if name not in errors:
            try:
                return fn()
            except Exception as error:  # reported in its row; the other options go on
                errors[name] = error_line(error)
        return math.nan

    return run


def speedups(
    base: list[str],
    steps: int,
    rounds: int,
    options: dict[str, list[str]] = OPTIONS,
    accelerator: str = "auto",
    until: float | None = None,
) -> list[dict]:
    """ms per step of each option of ``options`` (the first is the baseline) on the real
    training path of ``base`` overrides, interleaved over ``rounds``; a failing option gets
    an ``error`` instead of a time."""
    # emulated bf16 (an AVX2-only CPU) runs 10-26x slower: a tenth of the steps says as much
    slow = 1 if native_bf16(accelerator) else 10
    counts = {
        name: max(2, steps // slow) if any("bf16" in o for o in overrides) else steps
        for name, overrides in options.items()
    }
    errors: dict[str, str] = {}
    contenders = {
        name: failing_as_nan(lambda o=overrides, n=counts[name]: lightning([*base, *o], n) / n,
                             errors, name)
        for name, overrides in options.items()
    }  # fmt: skip
    per_step = interleaved(contenders, rounds, until)
    baseline = next(iter(per_step.values()))
    return [
        {"option": name, "steps": counts[name], "ms_per_step": 1000 * t,
         "speedup": baseline / t, **({"error": errors[name]} if name in errors else {})}
        for name, t in per_step.items()
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--experiment", default="denoise")
    args = parser.parse_args()
    rows = speedups([f"experiment={args.experiment}"], args.steps, args.rounds)
    title = f"Training step speed options ({args.experiment})"
    columns = ["option", "steps", "ms_per_step", "speedup", "error"]
    write_report(
        "speed_options", title, rows, columns, rounds=args.rounds, native_bf16=native_bf16()
    )


if __name__ == "__main__":
    main()
