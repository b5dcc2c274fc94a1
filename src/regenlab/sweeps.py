"""Sweeps: every job leaves a record, a failing job never stops the others, and the sweep
root gets one summary (CSV and JSON) listing every job with its overrides and metrics."""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig
from rich.table import Table

from regenlab.utils.console import console, first_line, user_error
from regenlab.utils.run import atomic_write, write_json

JOB_RECORD = "job.json"
log = logging.getLogger(__name__)


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def sweep_job(
    task: Callable[[DictConfig], dict[str, float]],
    cfg: DictConfig,
    overrides: Callable[[list[str]], list[str]] = list,
) -> float | None:
    """Run one job of a sweep; record ok/failed in ``job.json``; never raise. ``overrides``
    turns the job's Hydra overrides into those recorded (as the user typed them).

    Returns the optimized metric, or None when the job failed, diverged (a non-finite
    value) or lacks it: Optuna's sweeper then records the trial as failed and the search
    goes on (a NaN made optuna 2.10 raise "Values cannot be specified when state is FAIL"
    and end the search). The console gets one line per failed job, the job's log the
    traceback.
    """
    hydra = HydraConfig.get()
    metric = cfg.get("optimized_metric")
    record: dict[str, Any] = {
        "job": hydra.job.num,
        "overrides": overrides(list(hydra.overrides.task)),
        "dir": str(cfg.paths.output_dir),
        "log": log_file(),
    }
    try:
        metrics = task(cfg)
        value = metrics.get(metric)
        if value is not None and not math.isfinite(value):
            raise Diverged(f"{metric} is {value}: the run diverged")
        record |= {"status": "ok", "error": None, "metrics": metrics}
    except Exception as exc:
        error = user_error(exc) or f"{type(exc).__name__}: {first_line(exc)}"
        where = f" (traceback in {record['log']})" if record["log"] else ""
        log.error("job %s failed: %s%s", hydra.job.num, error, where)
        log_to_files(f"job {hydra.job.num} failed", exc)
        metrics, record = {}, record | {"status": "failed", "error": error, "metrics": {}}
    write_json(Path(cfg.paths.output_dir) / JOB_RECORD, record)
    value = metrics.get(metric)
    return None if value is None else float(value)


class Diverged(Exception):
    """The optimized metric of a finished job is NaN or infinite."""


def log_file() -> str | None:
    """The job's log file (Hydra's ``job_logging`` file handler), where tracebacks go."""
    files = [h for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)]
    return files[0].baseFilename if files else None


def log_to_files(message: str, exc: BaseException) -> None:
    """``message`` and the traceback of ``exc`` in the log files only: the console keeps
    one line per failed job."""
    record = log.makeRecord(log.name, logging.ERROR, __file__, 0, message, (), None)
    record.exc_info = (type(exc), exc, exc.__traceback__)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def collect(sweep_dir: Path) -> list[dict[str, Any]]:
    """The job records under a sweep dir, by job number; jobs that left none are 'missing'."""
    rows = []
    for job_dir in sorted((p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()),
                          key=lambda p: int(p.name)):  # fmt: skip
        record = job_dir / JOB_RECORD
        if record.is_file():
            rows.append(json.loads(record.read_text()))
        else:
            rows.append({"job": int(job_dir.name), "dir": str(job_dir), "status": "missing",
                         "error": "no job.json: the job was killed or never ran", "overrides": [],
                         "metrics": {}})  # fmt: skip
    return rows


def write_summary(sweep_dir: Path, rows: list[dict[str, Any]]) -> None:
    metric_keys = sorted({k for r in rows for k in r["metrics"]})
    write_json(sweep_dir / "summary.json", rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["job", "status", "overrides", "error", *metric_keys, "dir", "log"])
    for r in rows:
        metrics = [r["metrics"].get(k, "") for k in metric_keys]
        writer.writerow([r["job"], r["status"], " ".join(r["overrides"]), r["error"] or "",
                         *metrics, r["dir"], r.get("log") or ""])  # fmt: skip
    atomic_write(sweep_dir / "summary.csv", buffer.getvalue())


class SweepSummary(Callback):
    """Hydra callback: at the end of a multirun, summarise every job at the sweep root."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.is_dir():
            return
        rows = collect(sweep_dir)
        write_summary(sweep_dir, rows)
        metric = config.get("optimized_metric")
        shared = set.intersection(*(set(r["overrides"]) for r in rows)) if rows else set()
        table = Table(title=f"sweep: {sweep_dir}")
        for column in ("job", "status", "varying overrides", metric or "error"):
            table.add_column(str(column))
        for r in rows:
            value = r["metrics"].get(metric, r["error"] or "") if metric else r["error"] or ""
            status = "[green]ok[/]" if r["status"] == "ok" else f"[red]{r['status']}[/]"
            varying = " ".join(o for o in r["overrides"] if o not in shared)
            table.add_row(str(r["job"]), status, varying, str(value))
        console.print(table)
        failed = sum(r["status"] != "ok" for r in rows)
        if failed:
            console.print(
                f"[red]{failed} of {len(rows)} jobs failed[/]; see {sweep_dir}/summary.csv"
                " and each job's log"
            )
            sys.exit(1)  # a script or CI running the sweep must see it; Hydra is done here
