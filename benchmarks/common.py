"""What every benchmark shares: timing, the machine it ran on, JSON + markdown reports.

Benchmarks compare two ways of doing the same thing in one process and report ratios:
machines here are shared and noisy, absolute times drift, ratios much less.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch


def bench_dir() -> Path:
    """outputs/bench under $REGENLAB_ROOT when set (like every other output), else here."""
    return Path(os.environ.get("REGENLAB_ROOT", ".")) / "outputs" / "bench"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": cpu_name(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def busy_cpu_seconds() -> float | None:
    """CPU seconds all processes have spent so far (Linux /proc/stat), else None."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system = (int(v) for v in fields[:3])
    return (user + nice + system) / os.sysconf("SC_CLK_TCK")


def error_line(error: BaseException) -> str:
    """One line for a report: the exception's type and the first line of its message (two
    when the first ends in ':', as Hydra's "Error in call to target ...:" does)."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    text = " ".join(lines[:2]) if lines and lines[0].endswith(":") else "".join(lines[:1])
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def sync() -> None:
    """Wait for the GPU's queued work, so a clock read after it counts that work (CUDA runs
    asynchronously); nothing to wait for on the CPU."""
    if torch.cuda.is_initialized():
        torch.cuda.synchronize()


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` timed calls after one warm-up (allocations, lazy init)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def interleaved(
    fns: dict[str, Callable[[], float]], rounds: int, until: float | None = None
) -> dict[str, float]:
    """Median of each ``fn()``'s returned time over ``rounds`` rounds, run A B A B ...:
    drift in machine load then hits every contender alike. With ``until`` (a
    ``time.perf_counter()`` deadline) no round starts after it, the first one excepted."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for done in range(rounds):
        if done and until is not None and time.perf_counter() > until:
            break
        for name, fn in fns.items():
            times[name].append(fn())
    return {name: statistics.median(t) for name, t in times.items()}


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return (
                f"{value:.0f}"
                if abs(value) >= 100
                else f"{value:.2f}"
                if abs(value) >= 1
                else f"{value:.3g}"
            )
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def write_report(
    name: str, title: str, rows: list[dict[str, Any]], columns: Sequence[str], **meta: Any
) -> Path:
    """``<name>.json`` (everything) and ``<name>.md`` (the table and the machine)."""
    out = bench_dir()
    out.mkdir(parents=True, exist_ok=True)
    info = machine()
    payload = {"machine": info, **meta, "results": rows}
    (out / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    where = f"{info['cpu']}, {info['cpus']} CPUs, {info['torch_threads']} torch threads"
    where += f", GPU {info['gpu']}" if info["gpu"] else ", no GPU"
    settings = ", ".join(f"{k}={v}" for k, v in meta.items())
    text = f"## {title}\n\n{markdown_table(rows, columns)}\n\n{where}; torch {info['torch']}"
    (out / f"{name}.md").write_text(text + (f"; {settings}" if settings else "") + "\n")
    print(text)
    print(f"written to {out / name}.json and .md")
    return out / f"{name}.json"
