"""The benchmark scripts run end to end on tiny settings (so `make bench` never rots) and
write their JSON and markdown reports. No timing is asserted: that is what they report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
TINY = {
    "degradations": ["--batch", "4", "--size", "32", "--repeats", "1"],
    "data_wait": ["--steps", "8", "--experiments", "denoise"],
    "overhead": ["--steps", "2", "--rounds", "1"],
    "inference": ["--sizes", "64", "--tile", "32", "--overlap", "8", "--repeats", "1"],
    "startup": ["--repeats", "1"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_benchmark_writes_its_report(name, tmp_path):
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), *TINY[name]],
        cwd=tmp_path, env={"REGENLAB_ROOT": str(tmp_path), "PATH": ""},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "outputs" / "bench" / f"{name}.json").read_text())
    assert report["results"] and report["machine"]["cpus"]
    assert "| " in (tmp_path / "outputs" / "bench" / f"{name}.md").read_text()
