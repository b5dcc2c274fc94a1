"""The GPU check: every experiment on the device in three precisions, and the speed figures
GPU users will judge regenlab by, in one command and one JSON + markdown report.

    python benchmarks/gpu_check.py --device cuda          # make gpu-check; < 8 min on one GPU
    python benchmarks/gpu_check.py --device cpu --tiny    # the dry run the test suite makes

Sections (docs/gpu_check.md says what each measures, its target and how to read it):
  experiments  every experiment: a few real steps, validation and test, in float32,
               bf16-mixed and 16-mixed; each ok / failed with its error line
  overhead     plain PyTorch loop time / regenlab time, paired batch by batch (>= 0.95)
  data_wait    share of a step spent waiting on data, degradations on the device (< 5%)
  speed        channels_last, bf16-mixed, torch.compile against float32, per step
  tiled        a large image in tiles, several per forward call against one; peak memory
  syncs        host-device syncs per training step, each by the source line asking for it

Each section gets its share of the time left of ``--budget`` and starts nothing new past
it; each catches its own errors, and the report is rewritten after every section, so a
failing or killed part never loses the others. Written to ``--out`` (outputs/bench):
gpu_check.json (everything, tracebacks included) and gpu_check.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import torch
from common import bench_dir, error_line, machine, markdown_table
from data_wait import measure as data_wait
from inference import case as inference_case
from overhead import WARMUP, lightning, paired
from speed_options import OPTIONS, speedups

import regenlab
from regenlab.train import train
from regenlab.utils.config import compose_run_config

PRECISIONS = ["32-true", "bf16-mixed", "16-mixed"]  # float32 first
STEPS = 2  # optimizer steps per experiment run: enough to reach validation and test

RESTORATION_TINY = ["model.net.width=8", "data.crop_size=32", "data.eval_crop=64",
                    "data.batch_size=2"]  # fmt: skip
SHAPES_TINY = ["data.dataset.length=256", "data.dataset.test_length=32", "data.val_size=32",
               "data.batch_size=16"]  # fmt: skip
GAN_TINY = [*SHAPES_TINY, "model.generator.width=8", "model.critic.width=8"]
# name: (overrides, tiny overrides, batches per optimizer step). The classifier goes first:
# it writes the feature net the generative runs measure FID/KID with.
EXPERIMENTS = {
    "classifier (feature net)": (["experiment=feature_net_shapes"],
                                 [*SHAPES_TINY, "model.net.width=8"], 1),
    "denoise": (["experiment=denoise"], RESTORATION_TINY, 1),
    "deblur": (["experiment=deblur"], RESTORATION_TINY, 1),
    "jpeg": (["experiment=jpeg"], RESTORATION_TINY, 1),
    "sr_x4": (["experiment=sr_x4"], RESTORATION_TINY, 1),
    "dehaze": (["experiment=dehaze"], RESTORATION_TINY, 1),
    "derust": (["experiment=derust"], RESTORATION_TINY, 1),
    "dcgan": (["experiment=dcgan"], GAN_TINY, 1),
    "wgan_gp": (["experiment=wgan_gp"], GAN_TINY, 5),
    "vae": (["experiment=vae"], [*SHAPES_TINY, "model.net.width=8"], 1),
    "inpaint (cGAN)": (["experiment=inpaint"],
                       ["model.generator.width=4", "model.critic.width=4", "data.crop_size=32",
                        "data.eval_crop=32", "data.eval_repeats=2", "data.eval_batch_size=2",
                        "data.batch_size=2"], 1),
}  # fmt: skip
QUIET = ["trainer.enable_progress_bar=false", "callbacks.progress_bar=null",
         "trainer.enable_model_summary=false", "data.num_workers=0"]  # fmt: skip
# speed_options.py's, and what a GPU adds: all three together, cuDNN's algorithm search for
# the fixed crop size (Lightning turns it off by default), and the workers a GPU host has
SPEED_OPTIONS = OPTIONS | {
    "bf16-mixed + channels_last + compile": [
        "trainer.precision=bf16-mixed", "channels_last=true", "compile=true"],
    "cudnn.benchmark": ["+trainer.benchmark=true"],
    "8 DataLoader workers (persistent)": ["data.num_workers=8"],
}  # fmt: skip
SYNC_WARNING = "synchronizing CUDA operation"
HERE = Path(__file__).resolve().parent  # benchmarks/: their own clocks' syncs are left out
TORCH, REGENLAB = (Path(m.__file__).resolve().parent for m in (torch, regenlab))


@dataclass(frozen=True)
class Settings:
    """Sizes and step counts: a GPU's, or tiny ones for the CPU dry run."""

    restoration: tuple[str, ...]  # the U-Net runs of overhead, data wait, speed and syncs
    wgan_gp: tuple[str, ...]
    overhead_steps: int
    overhead_rounds: int
    wait_steps: int
    workers: tuple[int, ...]
    speed_steps: int
    speed_rounds: int
    image: int  # tiled inference: image size, tile, overlap, tiles per call, repeats
    tile: int
    overlap: int
    tiles_per_batch: int
    repeats: int
    sync_steps: int


GPU = Settings(
    restoration=("experiment=denoise", "data.batch_size=64", "data.crop_size=128"),
    wgan_gp=("experiment=wgan_gp", "model.metrics=null"),
    overhead_steps=30, overhead_rounds=3, wait_steps=40, workers=(0, 8), speed_steps=30,
    speed_rounds=2, image=4096, tile=256, overlap=16, tiles_per_batch=16, repeats=2,
    sync_steps=10,
)  # fmt: skip
TINY = Settings(
    restoration=("experiment=denoise", *RESTORATION_TINY),
    wgan_gp=("experiment=wgan_gp", "model.metrics=null", *GAN_TINY),
    overhead_steps=2, overhead_rounds=1, wait_steps=8, workers=(0, 2), speed_steps=2,
    speed_rounds=1, image=256, tile=64, overlap=8, tiles_per_batch=4, repeats=1, sync_steps=2,
)  # fmt: skip


@dataclass
class Check:
    """What every section is given: the device, the settings, a scratch dir and its deadline."""

    device: str
    tiny: bool
    settings: Settings
    scratch: Path
    deadline: float = 0.0

    def out_of_time(self) -> bool:
        return time.perf_counter() > self.deadline

    @property
    def on_device(self) -> list[str]:
        return [f"trainer.accelerator={self.device}", "trainer.devices=1"]


def attempt(row: dict[str, Any], fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``row`` with ``fn()``'s results and status ok, or status failed and the error line
    (the traceback's tail goes to the JSON only). Frees the device's cached memory after."""
    start = time.perf_counter()
    try:
        row |= {"status": "ok", **fn()}
    except Exception as error:  # reported in its row; the check goes on
        row |= {"status": "failed", "error": error_line(error),
                "traceback": traceback.format_exc(limit=-6)}  # fmt: skip
    row["seconds"] = time.perf_counter() - start
    gc.collect()
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()
    return row


def skipped(row: dict[str, Any], why: str = "time budget spent") -> dict[str, Any]:
    return row | {"status": "skipped", "error": why}


class RunProbe(L.Callback):
    """Where a run really trained and in which precision (Lightning may substitute one)."""

    device = precision = ""

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.device, self.precision = str(module.device), str(trainer.precision)


def run_experiment(check: Check, overrides: list[str], precision: str, out: Path) -> dict:
    """One short real run (fit, validation, test of the best checkpoint) on the device."""
    probe = RunProbe()
    cfg = compose_run_config(overrides, out)
    features = cfg.model.get("metrics") and cfg.model.metrics.get("features")
    note = ""
    if features and not Path(features.path).is_file():  # the classifier run failed
        cfg = compose_run_config([*overrides, "model.metrics=null"], out)
        note = "without FID/KID: no feature net (see the classifier's row)"
    metrics = train(cfg, extra_callbacks=[probe])
    if probe.device.split(":")[0] != check.device:
        raise RuntimeError(f"trained on {probe.device}, not on {check.device}")
    if probe.precision != precision:
        raise RuntimeError(f"Lightning ran precision {probe.precision}, not {precision}")
    bad = [k for k, v in metrics.items() if not math.isfinite(v)]
    if bad:
        raise FloatingPointError(f"non-finite metrics: {', '.join(bad)}")
    return {"ran_on": probe.device, "metrics": metrics, **({"note": note} if note else {})}


def experiment_overrides(check: Check, name: str, precision: str) -> list[str]:
    """A few steps of experiment ``name`` on the device, one val and one test batch."""
    overrides, tiny, batches = EXPERIMENTS[name]
    return [*overrides, *QUIET, *check.on_device, f"trainer.precision={precision}",
            f"trainer.max_steps={STEPS}", f"trainer.limit_train_batches={STEPS * batches}",
            "trainer.limit_val_batches=1", "trainer.limit_test_batches=1",
            "trainer.log_every_n_steps=1", f"paths.data_dir={check.scratch}/data",
            *(tiny if check.tiny else [])]  # fmt: skip


def experiments(check: Check) -> dict[str, Any]:
    """Every experiment x precision, precision by precision (float32 first)."""
    runs = []
    for precision in PRECISIONS:
        for name in EXPERIMENTS:
            row = {"experiment": name, "precision": precision}
            if precision == "16-mixed" and check.device == "cpu":
                runs.append(skipped(row, "fp16 AMP needs a GPU (Lightning runs bf16 instead)"))
                continue
            if check.out_of_time():
                runs.append(skipped(row))
                continue
            out = check.scratch / "runs" / precision / name.split()[0]
            overrides = experiment_overrides(check, name, precision)
            runs.append(attempt(row, partial(run_experiment, check, overrides, precision, out)))
    matrix = {}
    for run in runs:
        cell = run["status"] + (f" {run['seconds']:.1f} s" if run["status"] == "ok" else "")
        matrix.setdefault(run["experiment"], {"experiment": run["experiment"]})[
            run["precision"]
        ] = cell
    counts = Counter(run["status"] for run in runs)
    return {
        "rows": list(matrix.values()),
        "columns": ["experiment", *PRECISIONS],
        "runs": runs,
        "notes": [f"{r['experiment']} / {r['precision']}: {r['status']}: {why}"
                  for r in runs if (why := r.get("error") or r.get("note"))],
        "summary": ", ".join(f"{n} {status}" for status, n in sorted(counts.items())),
    }  # fmt: skip


def overhead(check: Check) -> dict[str, Any]:
    """overhead.py's paired plain-loop / regenlab runs, on the device at a GPU-sized batch."""
    s, rows = check.settings, []
    for name, overrides in {"U-Net (denoise)": s.restoration, "WGAN-GP step": s.wgan_gp}.items():
        row = {"experiment": name}
        if check.out_of_time():
            rows.append(skipped(row))
            continue

        def pairs(overrides: tuple[str, ...] = overrides) -> dict[str, Any]:
            runs = []
            for done in range(s.overhead_rounds):
                if done and check.out_of_time():
                    break
                runs.append(paired(list(overrides), s.overhead_steps, check.device))
            plain, regenlab = (sorted(side)[len(side) // 2] for side in zip(*runs))
            return {"rounds": len(runs),
                    "plain_ms_per_step": 1000 * plain / s.overhead_steps,
                    "regenlab_ms_per_step": 1000 * regenlab / s.overhead_steps,
                    "ratio": plain / regenlab, "target_met": plain / regenlab >= 0.95}  # fmt: skip

        rows.append(attempt(row, pairs))
    met = [r.get("target_met") for r in rows]
    return {
        "rows": rows,
        "columns": ["experiment", "status", "plain_ms_per_step", "regenlab_ms_per_step", "ratio",
                    "target_met", "error"],
        "summary": "target >= 0.95 " + ("met" if all(met) else "NOT met (or not measured)"),
    }  # fmt: skip


def data_waits(check: Check) -> dict[str, Any]:
    """data_wait.py's split of each step into waiting on data and computing, by workers."""
    s, rows = check.settings, []
    sizes = [o for o in s.restoration if not o.startswith("experiment=")]
    for experiment in ("denoise", "dehaze"):
        for workers in s.workers:
            row = {"experiment": experiment, "workers": workers}
            extra = [*check.on_device, *sizes, f"data.num_workers={workers}"]
            if check.out_of_time():
                rows.append(skipped(row))
                continue

            def wait(e: str = experiment, x: list[str] = extra) -> dict[str, Any]:
                result = data_wait(e, s.wait_steps, x)
                del result["experiment"]
                return result | {"wait_percent": 100 * result["wait_fraction"],
                                 "target_met": result["wait_fraction"] < 0.05}  # fmt: skip

            rows.append(attempt(row, wait))
    met = [r.get("target_met") for r in rows]
    return {
        "rows": rows,
        "columns": ["experiment", "workers", "status", "wait_ms_per_step", "compute_ms_per_step",
                    "wait_percent", "target_met", "error"],
        "summary": "target < 5% " + ("met everywhere" if all(met) else "NOT met everywhere"),
    }  # fmt: skip


def speed(check: Check) -> dict[str, Any]:
    """speed_options.py's options against float32 on the device, plus the GPU's candidates."""
    s, options, left_out = check.settings, SPEED_OPTIONS, {}
    if check.device == "cpu" and check.tiny:  # a cold compile costs ~40 CPU seconds there
        left_out = {k: v for k, v in options.items() if "compile=true" in v}
        options = {k: v for k, v in options.items() if k not in left_out}
    base = [*s.restoration, *check.on_device]
    rows = speedups(base, s.speed_steps, s.speed_rounds, options, check.device, check.deadline)
    for row in rows:
        row["status"] = "failed" if "error" in row else "ok"
    rows += [
        skipped({"option": name}, "torch.compile on a CPU dry run: tests/test_train.py covers it")
        for name in left_out
    ]
    best = max((r for r in rows if r["status"] == "ok"), key=lambda r: r["speedup"], default={})
    return {
        "rows": rows,
        "columns": ["option", "status", "steps", "ms_per_step", "speedup", "error"],
        "summary": f"fastest: {best.get('option')} ({best.get('speedup', float('nan')):.2f}x)",
    }


def tiled_inference(check: Check) -> dict[str, Any]:
    """inference.py's cases in this process: whole image, one tile per call, several."""
    s, rows = check.settings, []
    for tile, per_call in ((None, 1), (s.tile, 1), (s.tile, s.tiles_per_batch)):
        row = {"tiles_per_call": per_call if tile else "-"}
        if check.out_of_time():
            rows.append(skipped(row | {"mode": "tiled" if tile else "whole"}))
            continue
        args = (None, s.image, tile, s.overlap, s.repeats, per_call, check.device)
        rows.append(attempt(row, partial(inference_case, *args)))
    one, batched = rows[1], rows[2]
    if "images_per_s" in one and "images_per_s" in batched:
        batched["speedup_vs_one_per_call"] = batched["images_per_s"] / one["images_per_s"]
        batched["psnr_vs_one_per_call_db"] = batched["psnr"] - one["psnr"]
    notes = []
    if check.device == "cpu":  # peak RSS of a process is cumulative: benchmarks/inference.py
        notes.append("peak memory is measured on a GPU only (torch.cuda.max_memory_allocated)")
        for row in rows:
            row.pop("peak_memory_mib", None)
    return {
        "rows": rows,
        "columns": ["mode", "tiles_per_call", "status", "images_per_s", "megapixels_per_s",
                    "peak_memory_mib", "speedup_vs_one_per_call", "psnr_vs_one_per_call_db",
                    "error"],
        "notes": notes,
        "summary": f"{s.image}x{s.image}, batched tiles "
        f"{batched.get('speedup_vs_one_per_call', float('nan')):.2f}x one per call",
    }  # fmt: skip


class SyncCounter(L.Callback):
    """Counts host-device syncs over ``steps`` whole optimizer steps after the warm-up (from
    one batch start to another: loading, transfer, degradation, step, logging, progress
    bar), by the source line that asked for them: ``torch.cuda.set_sync_debug_mode("warn")``
    makes each one a warning, caught here with its stack. The benchmark's own clocks' syncs
    are left out. The run needs ``steps + 1`` steps after the warm-up."""

    def __init__(self, steps: int) -> None:
        self.found: Counter[tuple[str, str, str]] = Counter()
        self.target, self.first_step, self.steps = steps, 0, 0
        self._catcher: warnings.catch_warnings | None = None
        self._show: Callable[..., None] | None = None

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        if self._catcher is not None and trainer.global_step >= self.first_step + self.target:
            self.stop(trainer)
        elif self._catcher is None and not self.steps and trainer.global_step >= WARMUP:
            self.first_step = trainer.global_step
            self._catcher = warnings.catch_warnings()
            self._catcher.__enter__()
            warnings.simplefilter("always")
            self._show, warnings.showwarning = warnings.showwarning, self.record
            if torch.cuda.is_initialized():
                torch.cuda.set_sync_debug_mode("warn")

    def record(self, message, category, filename, lineno, file=None, line=None) -> None:
        if SYNC_WARNING not in str(message):
            self._show(message, category, filename, lineno, file, line)
            return
        frames = [f for f in traceback.extract_stack()[:-1] if f.filename != warnings.__file__]
        outside_torch = [f for f in frames if not within(f, TORCH)]
        caller = outside_torch[-1] if outside_torch else frames[-1]
        if within(caller, HERE):
            return  # the benchmark's own torch.cuda.synchronize()
        ours = [where(f) for f in frames if within(f, REGENLAB)]
        self.found[(where(caller), (caller.line or "").strip(), ours[-1] if ours else "")] += 1

    def stop(self, trainer: L.Trainer) -> None:
        if self._catcher is not None:
            if torch.cuda.is_initialized():
                torch.cuda.set_sync_debug_mode(0)
            self._catcher.__exit__(None, None, None)
            self._catcher = None
            self.steps = trainer.global_step - self.first_step

    def on_train_end(self, trainer, module) -> None:
        self.stop(trainer)

    def on_exception(self, trainer, module, exception) -> None:
        self.stop(trainer)


def within(frame: traceback.FrameSummary, package: Path) -> bool:
    return Path(frame.filename).resolve().is_relative_to(package)


def where(frame: traceback.FrameSummary) -> str:
    """``package/module.py:line`` from the site-packages or src root."""
    parts = Path(frame.filename).parts
    root = max((i for i, p in enumerate(parts) if p in ("site-packages", "src")), default=-1)
    return f"{'/'.join(parts[root + 1 :] if root >= 0 else parts[-2:])}:{frame.lineno}"


def syncs(check: Check) -> dict[str, Any]:
    """Host-device syncs per optimizer step of the U-Net and WGAN-GP training loops."""
    s, rows, totals = check.settings, [], {}
    for name, overrides in {"U-Net (denoise)": s.restoration, "WGAN-GP step": s.wgan_gp}.items():
        if check.out_of_time():
            totals[name] = "skipped: time budget spent"
            continue
        counter = SyncCounter(s.sync_steps)

        def run(o: tuple[str, ...] = overrides, c: SyncCounter = counter) -> dict[str, Any]:
            lightning([*o, *check.on_device], s.sync_steps + 1, [c])
            return {}

        done = attempt({}, run)
        if done["status"] != "ok":
            totals[name] = f"failed: {done['error']}"
            continue
        steps = max(counter.steps, 1)
        totals[name] = sum(counter.found.values()) / steps
        rows += [
            {"experiment": name, "line": line, "code": code, "via_regenlab": via,
             "per_step": n / steps, "owner": line.split("/")[0]}
            for (line, code, via), n in counter.found.most_common()
        ]  # fmt: skip
    notes = [] if check.device == "cuda" else ["no CUDA device: nothing to sync with, 0 counted"]
    return {
        "rows": rows,
        "columns": ["experiment", "per_step", "owner", "line", "code", "via_regenlab"],
        "syncs_per_step": totals,
        "notes": notes,
        "summary": ", ".join(
            f"{k}: {v:.1f}/step" if isinstance(v, float) else f"{k}: {v}" for k, v in totals.items()
        ),
    }


# name: (title, function, share of the time budget)
SECTIONS: dict[str, tuple[str, Callable[[Check], dict[str, Any]], float]] = {
    "experiments": ("Every experiment on the device, three precisions", experiments, 0.35),
    "overhead": ("Framework overhead: plain loop / regenlab, paired (target >= 0.95)",
                 overhead, 0.12),
    "data_wait": ("Data wait, degradations on the device after transfer (target < 5%)",
                  data_waits, 0.10),
    "tiled": ("Tiled inference: several tiles per forward call against one", tiled_inference,
              0.08),
    "syncs": ("Host-device syncs per training step, by source line", syncs, 0.07),
    "speed": ("Speed options per training step against float32", speed, 0.28),
}  # fmt: skip


def header(check: Check, started: datetime, budget: float) -> dict[str, Any]:
    gpu = torch.cuda.get_device_name(0) if check.device == "cuda" else None
    return {
        "device": gpu or f"cpu ({machine()['cpu']})",
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "versions": {"torch": torch.__version__, "lightning": L.__version__},
        "machine": machine(),
        "settings": {"device": check.device, "tiny": check.tiny, "budget_s": budget,
                     **asdict(check.settings)},
    }  # fmt: skip


def markdown(report: dict[str, Any]) -> str:
    def cell(text: Any) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    v = report["versions"]
    lines = [
        "# regenlab GPU check", "",
        f"{report['device']}; {report['date']}; torch {v['torch']}, lightning {v['lightning']}; "
        f"{'tiny sizes' if report['settings']['tiny'] else 'GPU sizes'}, "
        f"{report['elapsed_s']:.0f} s of a {report['settings']['budget_s']:.0f} s budget", "",
        markdown_table([{"section": name, "status": s["status"], "seconds": s["seconds"],
                         "summary": cell(s.get("summary") or s.get("error", ""))}
                        for name, s in report["sections"].items()],
                       ["section", "status", "seconds", "summary"]),
    ]  # fmt: skip
    for s in report["sections"].values():
        error = f": {cell(s['error'])}" if s.get("error") else ""
        lines += ["", f"## {s['title']}", "", f"{s['status']} in {s['seconds']:.0f} s{error}"]
        if s.get("rows"):
            rows = [{k: cell(v) if isinstance(v, str) else v for k, v in r.items()}
                    for r in s["rows"]]  # fmt: skip
            lines += ["", markdown_table(rows, s["columns"])]
        lines += [""] + [f"- {cell(note)}" for note in s.get("notes", [])]
    return "\n".join(lines).rstrip() + "\n"


def write(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (out / "gpu_check.md").write_text(markdown(report))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (the CPU dry run)")
    parser.add_argument("--out", type=Path, default=None, help="report dir (outputs/bench)")
    parser.add_argument("--budget", type=float, default=420, help="seconds for all sections")
    parser.add_argument("--sections", nargs="+", choices=list(SECTIONS), default=list(SECTIONS))
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: --device cuda, but torch sees no CUDA device; on a CPU run the dry "
              "run: --device cpu --tiny", file=sys.stderr)  # fmt: skip
        raise SystemExit(2)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    if args.tiny:  # tiny tensors gain nothing from threads, and a shared CPU loses much
        torch.set_num_threads(1)
    out, started, clock = args.out or bench_dir(), datetime.now(timezone.utc), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as scratch:
        check = Check(args.device, args.tiny, TINY if args.tiny else GPU, Path(scratch))
        report = header(check, started, args.budget) | {"sections": {}}
        shares = {name: SECTIONS[name][2] for name in args.sections}
        for name in args.sections:
            title, section, share = SECTIONS[name]
            left = args.budget - (time.perf_counter() - clock)
            start = time.perf_counter()
            check.deadline = start + left * share / sum(shares.values())
            del shares[name]
            result = attempt({"title": title, "budget_s": check.deadline - start},
                             lambda s=section: section_result(s(check)))  # fmt: skip
            report["sections"][name] = result
            report["elapsed_s"] = time.perf_counter() - clock
            write(report, out)
            print(f"[gpu-check] {name}: {result['status']} in {result['seconds']:.0f} s; "
                  f"{result.get('summary') or result.get('error', '')}", flush=True)  # fmt: skip
    print(markdown(report))
    print(f"written to {out / 'gpu_check.json'} and .md")


def section_result(result: dict[str, Any]) -> dict[str, Any]:
    """A section's own result; its status is failed when any of its rows failed."""
    failed = any(r.get("status") == "failed" for r in result.get("rows", []))
    failed |= any(r.get("status") == "failed" for r in result.get("runs", []))
    return result | ({"status": "failed", "error": "see its rows"} if failed else {})


if __name__ == "__main__":
    main()
