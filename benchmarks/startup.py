"""Startup: ``regenlab-train --help`` and ``import regenlab`` against ``import torch`` alone.

    python benchmarks/startup.py [--repeats 5]

Each command runs in a fresh interpreter ``--repeats`` times, alternating, and the medians
are reported; the ratio to ``import torch`` shows what regenlab adds on top of the one
import every deep-learning tool pays.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from common import interleaved, write_report

BIN = Path(sys.executable).parent
COMMANDS = {
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    "python -c 'import regenlab.train'": [sys.executable, "-c", "import regenlab.train"],
    "regenlab-train --help": [str(BIN / "regenlab-train"), "--help"],
    "regenlab-compare --help": [str(BIN / "regenlab-compare"), "--help"],
}


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for command in COMMANDS.values():
        timed(command)  # warm the file cache
    times = interleaved({k: lambda c=c: timed(c) for k, c in COMMANDS.items()}, args.repeats)
    torch_alone = times["python -c 'import torch'"]
    rows = [
        {"command": k, "seconds": t, "vs_import_torch": t / torch_alone} for k, t in times.items()
    ]
    write_report("startup", "Startup time (median of fresh processes)", rows,
                 ["command", "seconds", "vs_import_torch"], repeats=args.repeats)  # fmt: skip


if __name__ == "__main__":
    main()
