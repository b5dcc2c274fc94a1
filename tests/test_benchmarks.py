"""The benchmark scripts run end to end on tiny settings (so `make bench` never rots) and
write their JSON and markdown reports. No timing is asserted: that is what they report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
TINY = {
    "degradations": ["--batch", "4", "--size", "32", "--repeats", "1"],
    "data_wait": ["--steps", "8", "--experiments", "denoise"],
    "overhead": ["--steps", "2", "--rounds", "1"],
    "inference": ["--sizes", "64", "--tile", "32", "--overlap", "8", "--repeats", "1"],
    "startup": ["--repeats", "1"],
    "recipe_nets": ["--repeats", "1", "--rounds", "1", "--batch", "2", "--crop", "16"],
    "large_folder": [
        "--n",
        "3",
        "--size",
        "160",
        "120",
        "--workers",
        "2",
        "--steps",
        "4",
        "--crop",
        "32",
        "--batch",
        "2",
    ],
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


@pytest.fixture
def gpu_check(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import gpu_check

    return gpu_check


@pytest.mark.slow
def test_gpu_check_dry_run_reports_every_section_and_experiment(tmp_path, gpu_check):
    """The GPU session's one command, on the CPU at tiny sizes (~35 CPU seconds): every
    section reported, every experiment trained, validated and tested in float32 and bf16."""
    out = tmp_path / "report"
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "gpu_check.py"), "--device", "cpu", "--tiny",
         "--budget", "3000", "--out", str(out)],
        cwd=tmp_path, env={**os.environ, "REGENLAB_ROOT": str(tmp_path)},
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "gpu_check.json").read_text())
    sections = report["sections"]
    assert list(sections) == list(gpu_check.SECTIONS)
    failed = {name: s.get("error") for name, s in sections.items() if s["status"] != "ok"}
    assert not failed, (failed, (out / "gpu_check.md").read_text())
    runs = {(r["experiment"], r["precision"]): r for r in sections["experiments"]["runs"]}
    assert set(runs) == {(e, p) for e in gpu_check.EXPERIMENTS for p in gpu_check.PRECISIONS}
    for experiment in gpu_check.EXPERIMENTS:
        for precision in ("32-true", "bf16-mixed"):
            run = runs[experiment, precision]
            assert (run["status"], run["ran_on"]) == ("ok", "cpu"), run
            assert any(k.startswith("test/") for k in run["metrics"]), run
    assert sections["overhead"]["rows"][0]["ratio"] > 0
    assert [r["tiles_per_call"] for r in sections["tiled"]["rows"]] == ["-", 1, 4]
    assert sections["tiled"]["rows"][2]["psnr_vs_one_per_call_db"] == pytest.approx(0, abs=1e-3)
    text = (out / "gpu_check.md").read_text()
    assert report["versions"]["lightning"] in text and report["date"] in text
    assert all(s["title"] in text for s in sections.values())


def test_sync_counter_names_the_line_that_synced(gpu_check):
    """Each sync warning is counted by the source line that asked for it, per step; other
    warnings pass through as usual."""
    from types import SimpleNamespace

    def item() -> None:
        warnings.warn("called a synchronizing CUDA operation", stacklevel=1)

    counter, step = gpu_check.SyncCounter(steps=2), gpu_check.WARMUP
    with pytest.warns(UserWarning) as passed_on:
        for global_step in (step, step + 1, step + 2, step + 3):  # the window: 2 whole steps
            counter.on_train_batch_start(SimpleNamespace(global_step=global_step), None, None, 0)
            item()
            warnings.warn("an unrelated warning", stacklevel=1)
    ((line, code, via), n), *rest = counter.found.most_common()
    assert not rest and n == 2 and counter.steps == 2
    assert sorted(str(w.message)[:6] for w in passed_on) == ["an unr"] * 4 + ["called"] * 2
    assert line.endswith(f"test_benchmarks.py:{item.__code__.co_firstlineno + 1}")
    assert code.startswith("warnings.warn(") and via == ""


def test_timed_runs_apply_the_speed_options_they_are_named_for(tmp_path, gpu_check):
    """speed_options.py times channels_last and compile through overhead.lightning(): its
    model must be the one train() would run, not the plain float32 one."""
    import torch
    from overhead import compose

    tiny = ["model.net.width=4", "trainer.accelerator=cpu"]
    _, plain, _ = compose(tiny, str(tmp_path))
    _, nhwc, _ = compose([*tiny, "channels_last=true"], str(tmp_path))
    _, compiled, _ = compose([*tiny, "compile=true"], str(tmp_path))
    weight = next(p for p in nhwc.parameters() if p.dim() == 4 and p.shape[1] > 1)
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert not next(p for p in plain.parameters() if p.shape == weight.shape).is_contiguous(
        memory_format=torch.channels_last
    )
    assert isinstance(compiled, torch._dynamo.eval_frame.OptimizedModule)


def test_gpu_sizes_compose(tmp_path, gpu_check):
    """What only a GPU run uses (its sizes, 16-mixed, the speed options) composes: a typo
    there would otherwise first show on the GPU, whose minutes are few."""
    from regenlab.utils.config import compose_run_config

    check = gpu_check.Check("cuda", False, gpu_check.GPU, tmp_path)
    gpu = gpu_check.GPU
    for name in gpu_check.EXPERIMENTS:
        cfg = compose_run_config(gpu_check.experiment_overrides(check, name, "16-mixed"), tmp_path)
        assert (cfg.trainer.accelerator, cfg.trainer.precision) == ("cuda", "16-mixed")
    for options in gpu_check.SPEED_OPTIONS.values():
        cfg = compose_run_config([*gpu.restoration, *check.on_device, *options], tmp_path)
        assert (cfg.data.batch_size, cfg.data.crop_size) == (64, 128)
    assert compose_run_config(list(gpu.wgan_gp), tmp_path).model.metrics is None


def test_a_failure_is_reported_in_one_line_that_names_its_cause(gpu_check):
    from common import error_line

    hydra_style = RuntimeError("Error in call to target 'UNet':\nValueError('levels')\nfull_key: x")
    assert (
        error_line(hydra_style)
        == "RuntimeError: Error in call to target 'UNet': ValueError('levels')"
    )
    assert error_line(MemoryError("CUDA out of memory.\nTried 2 GiB")) == (
        "MemoryError: CUDA out of memory."
    )
    assert error_line(KeyError()) == "KeyError"


@pytest.mark.slow  # imports Lightning and regenlab first: ~5 CPU seconds
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_gpu_check_without_a_gpu_says_so_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "gpu_check.py"), "--device", "cuda"],
        cwd=tmp_path, env={**os.environ, "REGENLAB_ROOT": str(tmp_path)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "gpu_check: --device cuda, but torch sees no CUDA device; on a CPU run the dry run: "
        "--device cpu --tiny"
    ]
    assert not (tmp_path / "outputs").exists()
