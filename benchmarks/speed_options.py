"""Speed options of a training step, each against the plain float32 run in one process.

    python benchmarks/speed_options.py [--steps 40 --rounds 3 --experiment denoise]

Times the real training path (config, Trainer, callbacks, logger; validation off) of one
experiment with: channels_last, bf16 autocast, both, torch.compile, and DataLoader workers.
Ratios > 1 are faster than the float32 baseline. Whatever helps on the machine at hand is a
candidate default; bf16 also changes the numbers, so its quality is checked by full runs
(README, "Speed"). Where bf16 is only emulated, its options run a tenth of the steps.
"""

from __future__ import annotations

import argparse

from common import interleaved, write_report
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--experiment", default="denoise")
    args = parser.parse_args()
    base = [f"experiment={args.experiment}"]
    # emulated bf16 (an AVX2-only CPU) runs 10-26x slower: a tenth of the steps says as much
    slow = 1 if native_bf16() else 10
    steps = {
        name: max(2, args.steps // slow) if any("bf16" in o for o in overrides) else args.steps
        for name, overrides in OPTIONS.items()
    }
    contenders = {
        name: lambda o=overrides, n=steps[name]: lightning([*base, *o], n) / n
        for name, overrides in OPTIONS.items()
    }
    per_step = interleaved(contenders, args.rounds)
    baseline = per_step["float32 (baseline)"]
    rows = [
        {"option": name, "steps": steps[name], "ms_per_step": 1000 * t, "speedup": baseline / t}
        for name, t in per_step.items()
    ]
    title = f"Training step speed options ({args.experiment})"
    columns = ["option", "steps", "ms_per_step", "speedup"]
    write_report(
        "speed_options", title, rows, columns, rounds=args.rounds, native_bf16=native_bf16()
    )


if __name__ == "__main__":
    main()
