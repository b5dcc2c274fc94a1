"""``regenlab-compare``: paper-style tables and plots from finished runs and sweeps.

    regenlab-compare outputs/paper/denoise rows=model columns=degradation.sigma
    regenlab-compare <dirs...> rows=model columns=image metrics=psnr     # per-image table
    regenlab-compare <dirs...> metrics=test/fid,test/kid curves=train/loss_g images=samples

Every directory given is searched for runs (a dir with ``config.yaml``: trained runs and
classical baselines alike). Runs are grouped by ``rows`` and ``columns`` - config keys such
as ``degradation.sigma`` or Hydra choices such as ``model`` (e.g. ``unet``,
``classical/nlm``); ``columns=image`` makes one column per test image from ``per_image.csv``.
Seeds of a group are aggregated as mean +- std (sample std, n in the CSV).

Options: rows=<keys,...> (default model), columns=<keys,...> (default none),
metrics=<names> (default test/psnr,test/ssim; psnr,ssim per image), out=<dir> (default
outputs/compare/<date>_<time>),
curves=<scalar tags> (training curves from TensorBoard: mean and min-max over seeds),
images=<image tag> (the last image of that tag from each group, in a labelled grid),
mode=max|min (default: by metric name), evals=true (also runs written by regenlab-eval).
Writes <metric>.md/.csv/.tex, table.md, runs.csv, PNGs.

reference=<name or yaml> (e.g. dncnn_paper: conf/reference/dncnn_paper.yaml) adds published
figures as rows "<method> (reported)" where a column's runs are of the entry's test set
(test/<set>/<metric>; an entry without set: test/<metric>), level and metric, and a table of
measured - reported; a reference that fits no column prints a warning.
baseline=<row> (e.g. classical/bm3d) adds each row minus that row, paired over test images
(per_image.csv), with a 95% bootstrap interval over images and seeds (bootstrap=<resamples>,
default 2000, seeded); "n.s." marks an interval that holds 0. Both go to <metric>.diff.csv.
baseline="<method> (reported)" (with reference=) holds each row against a published row:
paired over the paper's per-image figures where the reference gives them (images:), else
against its mean on every image (the interval then comes from the row's own images and seeds).
note=<text> prints a line under each table's title (e.g. which rows are short CPU runs).
floor=<row> (default real_data where a row has that name: the real-vs-real floor of the
generation tables; floor=none: off) adds a table "<metric> / <row>": each other row's mean
over seeds divided by that row's mean in the same column (lower-is-better metrics: > 1 is
worse; higher-is-better: < 1 is worse), ± the row's seed std divided by the same mean. A
floor mean not above zero (unbiased KID of real vs real) or below its seed std gives n/a,
with the reason under the table. Written to <metric>.floor.csv too.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase as fnmatch
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from omegaconf import OmegaConf
from rich.table import Table

from regenlab import make_callable
from regenlab.errors import UserError
from regenlab.utils.config import conf_dir
from regenlab.utils.console import (
    console,
    err_console,
    first_line,
    flag,
    parse_cli,
    progress,
    report_user_errors,
)
from regenlab.utils.run import atomic_write

USAGE = __doc__
LOWER_IS_BETTER = ("fid", "kid", "loss", "mae", "mse", "nll", "lpips", "bpd")
NO_COLUMN = "value"
FEW_RUNS = 8  # loaded in a blink: no progress bar


@dataclass
class Run:
    """One run dir: its labels for the grouping keys, its metrics, and whether it counts."""

    dir: Path
    labels: dict[str, str]
    metrics: dict[str, float] = field(default_factory=dict)
    status: str = "ok"
    error: str = ""


def find_runs(roots: list[Path], evals: bool = False) -> list[Path]:
    """Run dirs under ``roots``: those holding ``config.yaml`` (not Hydra's own copies in
    ``.hydra``; runs written by regenlab-eval only when ``evals``)."""
    found = set()
    for root in roots:
        if not root.is_dir():
            raise UserError(f"{root} is not a directory; pass run or sweep dirs")
        for config in [root / "config.yaml", *root.rglob("*/config.yaml")]:
            parts = config.relative_to(root).parts
            if not config.is_file() or ".hydra" in parts or (not evals and "eval" in parts):
                continue
            found.add(config.parent)
    if not found:
        raise UserError(f"no runs (dirs with config.yaml) under {', '.join(map(str, roots))}")
    return sorted(found)


def each_run(dirs: list[Path], evals: bool = False) -> Iterator[Path]:
    """``find_runs``, with a progress bar while they are read when there are more than a few."""
    found = find_runs(dirs, evals)
    with progress(disable=len(found) <= FEW_RUNS) as bar:
        yield from bar.track(found, description="loading runs")


def label(value: Any) -> str:
    """A short label for a config value: scalars as written, a model by its net's class."""
    if OmegaConf.is_dict(value):
        node = value.net if OmegaConf.is_dict(value.get("net")) else value
        return str(node.get("_target_", "?")).rsplit(".", 1)[-1]
    return str(value)


def run_labels(run_dir: Path, keys: list[str]) -> dict[str, str]:
    """Each key's label: a Hydra choice recorded in run.json (``model`` -> ``unet``) or a
    config value (``degradation.sigma`` -> ``25``); ``-`` when the run has no such key."""
    cfg = OmegaConf.load(run_dir / "config.yaml")
    record = run_dir / "run.json"
    choices = json.loads(record.read_text()).get("choices", {}) if record.is_file() else {}
    labels = {}
    for key in keys:
        if key in choices and choices[key] is not None:
            labels[key] = str(choices[key])
        else:
            labels[key] = label(OmegaConf.select(cfg, key, default="-"))
    return labels


def load_run(run_dir: Path, keys: list[str], per_image: bool) -> list[Run]:
    """The run's records: one, or one per test image (``per_image``)."""
    labels = run_labels(run_dir, [k for k in keys if k != "image"])
    job = run_dir / "job.json"
    if job.is_file() and json.loads(job.read_text()).get("status") == "failed":
        error = json.loads(job.read_text()).get("error") or "failed"
        return [Run(run_dir, labels, status="failed", error=error)]
    source = run_dir / ("per_image.csv" if per_image else "metrics.json")
    if not source.is_file():
        return [Run(run_dir, labels, status="incomplete", error=f"no {source.name}")]
    if not per_image:
        metrics = json.loads(source.read_text())
        numbers = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
        return [Run(run_dir, labels, numbers)]
    rows = list(csv.DictReader(io.StringIO(source.read_text())))
    names = ("set", "name")  # a named test set's rows say which set: a label, not a number
    return [
        Run(run_dir, {**labels, **{k: row[k] for k in names if k in row}, "image": row["name"]},
            {k: float(v) for k, v in row.items() if k not in names and v not in ("", None)})
        for row in rows
    ]  # fmt: skip


def readable_run(run_dir: Path, keys: list[str], per_image: bool) -> list[Run]:
    """``load_run``, or one ``broken`` record saying why: a damaged run is left out of the
    tables, listed with its reason, and never stops the comparison of the others."""
    try:
        return load_run(run_dir, keys, per_image)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError) as exc:
        why = f"cannot read its records ({type(exc).__name__}: {first_line(exc)})"
        return [Run(run_dir, {k: "-" for k in keys}, status="broken", error=why)]


def load_runs(
    dirs: list[str | Path],
    keys: list[str] = (),
    per_image: bool = False,
    evals: bool = False,
) -> Any:
    """The runs under ``dirs`` as a pandas DataFrame, for notebooks: one row per run (per
    test image with ``per_image``) with its dir, seed, Hydra choices, the labels of config
    ``keys`` (``degradation.sigma``) and every number of its metrics.json (per_image.csv).
    Runs that failed, are unfinished or cannot be read are left out with a warning line."""
    try:
        import pandas as pd
    except ImportError:
        raise UserError("load_runs needs pandas: pip install -e '.[pandas]'") from None
    records = []
    for run_dir in each_run([Path(d).expanduser() for d in dirs], evals):
        labels = [*recorded_choices(run_dir), *keys]
        for run in readable_run(run_dir, list(dict.fromkeys([*labels, "seed"])), per_image):
            if run.status != "ok":
                err_console.print(f"[yellow]warning:[/] left out {run.dir}: {run.status}, "
                                  f"{run.error}", highlight=False, soft_wrap=True)  # fmt: skip
                break
            seed = run.labels.pop("seed")
            seed = int(seed) if seed.lstrip("-").isdigit() else None
            records.append({"dir": str(run.dir), "seed": seed, **run.labels, **run.metrics})
    return pd.DataFrame.from_records(records)


def compare_runs(
    dirs: list[str | Path],
    rows: list[str] = ("model",),
    columns: list[str] = (),
    metrics: list[str] | None = None,
    out: str | Path | None = None,
    **options: Any,
) -> list[Comparison]:
    """``regenlab-compare`` as a function (``regenlab.compare(dirs)``): its defaults, metrics
    ``test/psnr,test/ssim`` (``psnr,ssim`` per image), out ``outputs/compare/<date>_<time>``;
    ``options`` as ``run_compare``'s."""
    rows, columns = list(rows), list(columns)
    per_image = "image" in rows + columns
    metrics = metrics or (["psnr", "ssim"] if per_image else ["test/psnr", "test/ssim"])
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    out = Path(out) if out else Path("outputs/compare") / stamp
    return run_compare([Path(d) for d in dirs], rows, columns, list(metrics), out, **options)


def recorded_choices(run_dir: Path) -> list[str]:
    """The Hydra groups a run chose options of (run.json), e.g. model, data, degradation."""
    try:
        return list(json.loads((run_dir / "run.json").read_text()).get("choices") or {})
    except (OSError, ValueError, AttributeError):
        return []  # the loader says why the run cannot be read


def lower_is_better(metric: str, mode: str | None) -> bool:
    if mode:
        return mode == "min"
    name = metric.rsplit("/", 1)[-1].lower()
    return any(name.startswith(p) or f"_{p}" in name for p in LOWER_IS_BETTER)


def natural_key(text: str) -> tuple:
    """Numbers by value, the rest by text: sigma 5 < 15 < 50, 'unet' after 'dncnn'."""
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


@dataclass
class Cell:
    values: list[float]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def std(self) -> float:
        return statistics.stdev(self.values) if len(self.values) > 1 else 0.0


@dataclass
class Comparison:
    """One metric's table: ``cells[row][column]`` aggregates the runs of that group."""

    metric: str
    row_keys: list[str]
    column_keys: list[str]
    rows: list[str]
    columns: list[str]
    cells: dict[str, dict[str, Cell]]
    minimize: bool
    reported: list[str] = field(default_factory=list)  # rows of published figures, not runs
    # published per-image figures of a reported row: [row][column] -> {image name: value}
    reported_images: dict[str, dict[str, dict]] = field(default_factory=dict)
    differences: list[Differences] = field(default_factory=list)  # vs reported / a baseline
    ratios: Ratios | None = None  # each row over the floor row (floor=)
    note: str = ""  # a line under the title (note=): what a reader must know about the rows

    def contenders(self) -> list[str]:
        """Rows that can be bold: measured methods, not published rows, nor the floor they
        are held against (real vs real would win every generation column)."""
        floor = self.ratios.floor if self.ratios else None
        return [r for r in self.rows if r not in self.reported and r != floor]

    def best(self, column: str) -> float | None:
        measured = self.contenders()
        means = [self.cells[r][column].mean for r in measured if column in self.cells[r]]
        return (min(means) if self.minimize else max(means)) if means else None

    def digits(self) -> int:
        values = [abs(c.mean) for row in self.cells.values() for c in row.values()]
        return 2 if values and statistics.median(values) >= 1 else 4

    def formatted(self, bold: tuple[str, str]) -> list[list[str]]:
        """Rows of strings, best mean per column wrapped in ``bold`` (markdown or LaTeX)."""
        d, table, contenders = self.digits(), [], self.contenders()
        for row in self.rows:
            line = [row]
            for column in self.columns:
                cell = self.cells[row].get(column)
                if cell is None:
                    line.append("")
                    continue
                text, best = f"{cell.mean:.{d}f}", self.best(column)
                if row in contenders and round(cell.mean, d) == round(best, d):
                    text = f"{bold[0]}{text}{bold[1]}"
                if len(cell.values) > 1:
                    text += f" ± {cell.std:.{d}f}"
                line.append(text)
            table.append(line)
        return table

    def header(self) -> list[str]:
        return [" / ".join(self.row_keys), *self.columns]

    def title(self) -> str:
        arrow = "lower is better" if self.minimize else "higher is better"
        by = f" by {' / '.join(self.column_keys)}" if self.column_keys else ""
        return f"{self.metric}{by} ({arrow}; mean ± std over seeds, best in bold)"

    def annexes(self) -> list[Differences | Ratios]:
        """The tables printed under this one: differences, then the ratios to the floor."""
        return [*self.differences, *([self.ratios] if self.ratios else [])]

    def markdown(self) -> str:
        table = markdown_table(self.title(), self.header(), self.formatted(("**", "**")), self.note)
        return table + "".join("\n" + annex.markdown() for annex in self.annexes())

    def latex(self) -> str:
        lines = self.formatted(("\\textbf{", "}"))
        table = latex_table(self.title(), self.header(), lines, self.note)
        return table + "".join("\n" + annex.latex() for annex in self.annexes())

    def csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        columns = self.column_keys or ["column"]
        writer.writerow([*self.row_keys, *columns, "metric", "mean", "std", "n"])
        for row in self.rows:
            for column, cell in self.cells[row].items():
                parts = [*row.split(" / "), *column.split(" / ")]
                writer.writerow([*parts, self.metric, cell.mean, cell.std, len(cell.values)])
        return buffer.getvalue()


def latex_escape(text: str) -> str:
    return re.sub(r"([_&%#$])", r"\\\1", text)


def markdown_table(
    title: str, header: list[str], lines: list[list[str]], note: str = "", footer: list[str] = ()
) -> str:
    """A titled markdown table (labels left, numbers right), ``note`` under the title and
    ``footer`` lines under the table, in italics."""
    out = [f"**{title}**", "", *([f"_{note}_", ""] if note else [])]
    out.append("| " + " | ".join(header) + " |")
    out.append("|---|" + "---:|" * (len(header) - 1))
    out += ["| " + " | ".join(line) + " |" for line in lines]
    out += ["", *(f"_{text}_" for text in footer)] if footer else []
    return "\n".join(out) + "\n"


def latex_table(
    title: str, header: list[str], lines: list[list[str]], note: str = "", footer: list[str] = ()
) -> str:
    """``markdown_table`` as a booktabs tabular; title, note and footer as comments. Row
    labels are escaped; cells are LaTeX already (``\\textbf``) but for ``±``."""
    rows = [
        [latex_escape(line[0]), *(c.replace("±", "$\\pm$") for c in line[1:])] for line in lines
    ]
    out = [
        f"% {title.replace('±', '+-')}",
        *([f"% {note}"] if note else []),
        "\\begin{tabular}{l" + "r" * (len(header) - 1) + "}",
        "\\toprule",
        " & ".join(latex_escape(h) for h in header) + " \\\\",
        "\\midrule",
        *(" & ".join(r) + " \\\\" for r in rows),
        "\\bottomrule",
        "\\end{tabular}",
        *(f"% {text}" for text in footer),
    ]
    return "\n".join(out) + "\n"


def group_key(run: Run, keys: list[str], empty: str) -> str:
    return " / ".join(run.labels[k] for k in keys) if keys else empty


def column_of(run: Run, columns: list[str], part: str) -> str:
    """The table column of a run's value: its column labels and what a metric's ``*`` matched."""
    return " / ".join(filter(None, (group_key(run, columns, ""), part))) or NO_COLUMN


def matching_names(names: Any, pattern: str) -> dict[str, str]:
    """The metric names ``pattern`` names, keyed by what its ``*`` matched (``all`` for the
    empty match; ``""`` without a ``*``)."""
    prefix, star, suffix = pattern.partition("*")
    return {
        (name[len(prefix) : len(name) - len(suffix)].strip("/") or "all") if star else "": name
        for name in names
        if (fnmatch(name, pattern) if star else name == pattern)
    }


def matching(metrics: dict[str, float], pattern: str) -> dict[str, float]:
    """The finite values of the metrics ``pattern`` names, keyed as ``matching_names``."""
    found = {part: metrics[name] for part, name in matching_names(metrics, pattern).items()}
    return {k: v for k, v in found.items() if not math.isnan(v)}


def compare(
    runs: list[Run],
    metric: str,
    rows: list[str],
    columns: list[str],
    mode: str | None = None,
) -> tuple[Comparison, list[Run]]:
    """The table of one metric and the runs left out of it (failed, or lacking the metric).

    A ``*`` in ``metric`` (``test/hole_mae/*``: one metric per mask-ratio bin) matches
    several metrics; the part the ``*`` stands for becomes (part of) the column."""
    cells: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    left_out = []
    for run in runs:
        values = matching(run.metrics, metric)
        if run.status != "ok" or not values:
            why = run.error if run.status != "ok" else f"no {metric}"
            left_out.append(Run(run.dir, run.labels, status=run.status, error=why))
            continue
        row = group_key(run, rows, "all")
        for part, value in values.items():
            cells[row][column_of(run, columns, part)].append(value)
    row_names = sorted(cells, key=natural_key)
    column_names = sorted({c for r in cells.values() for c in r}, key=natural_key)
    table = {r: {c: Cell(v) for c, v in cells[r].items()} for r in row_names}
    minimize = lower_is_better(metric, mode)
    return Comparison(metric, rows, columns, row_names, column_names, table, minimize), left_out


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def plot_metric(comparison: Comparison, path: Path) -> None:
    """Metric against the column value, one line per row (bars if columns are not numbers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    numeric = all(natural_key(c)[0] == 0 for c in comparison.columns)
    width = 0.8 / max(len(comparison.rows), 1)
    for i, row in enumerate(comparison.rows):
        present = [c for c in comparison.columns if c in comparison.cells[row]]
        means = [comparison.cells[row][c].mean for c in present]
        stds = [comparison.cells[row][c].std for c in present]
        if numeric:
            ax.errorbar([float(c) for c in present], means, yerr=stds, marker="o", capsize=3,
                        label=row)  # fmt: skip
        else:
            xs = [comparison.columns.index(c) + i * width for c in present]
            ax.bar(xs, means, width, yerr=stds, capsize=3, label=row)
    if not numeric:
        ax.set_xticks([j + width * (len(comparison.rows) - 1) / 2
                       for j in range(len(comparison.columns))], comparison.columns)  # fmt: skip
    ax.set_xlabel(" / ".join(comparison.column_keys) or "")
    ax.set_ylabel(comparison.metric)
    ax.grid(alpha=0.3)
    ax.legend(title=" / ".join(comparison.row_keys), fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def event_accumulator(run_dir: Path) -> Any:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    files = sorted(run_dir.rglob("events.out.tfevents.*"))
    if not files:
        return None
    accumulator = EventAccumulator(str(files[-1].parent), size_guidance={"scalars": 0, "images": 1})
    return accumulator.Reload()


class Events(dict):
    """Each run's TensorBoard events, read once per compare: reading a 1000-step run takes
    about half a second, and every curve and image panel needs it again."""

    def __missing__(self, run_dir: Path) -> Any:
        self[run_dir] = event_accumulator(run_dir)
        return self[run_dir]

    def tags(self, runs: list[Run], kind: str) -> set[str]:
        """The ``kind`` (``scalars``, ``images``) tags of any of ``runs``' events."""
        found = (self[r.dir] for r in ok_runs(runs))
        return {tag for events in found if events is not None for tag in events.Tags()[kind]}


def ok_runs(runs: list[Run]) -> list[Run]:
    """One record per counted run dir (per-image records share theirs), in dir order."""
    return sorted({r.dir: r for r in runs if r.status == "ok"}.values(), key=lambda r: r.dir)


def check_tags(runs: list[Run], events: Events, curves: list[str], images: str | None) -> None:
    """A tag no run logged would give an empty plot that looks like a result."""
    for option, kind, wanted in (("curves", "scalars", curves), ("images", "images", [images])):
        missing = [t for t in wanted if t]
        if not missing:
            continue
        logged = events.tags(runs, kind)
        for tag in missing:
            if tag not in logged:
                have = ", ".join(sorted(logged)) or "none (no TensorBoard event files)"
                raise UserError(
                    f"{option}={tag}: no run logged this {kind[:-1]} tag; {kind}: {have}"
                )


def read_curves(run_dir: Path, tag: str, events: Events | None = None) -> list[tuple[int, float]]:
    """(step, value) of one scalar from a run's TensorBoard events; [] if absent."""
    accumulator = (events if events is not None else Events())[run_dir]
    if accumulator is None or tag not in accumulator.Tags()["scalars"]:
        return []
    return [(e.step, e.value) for e in accumulator.Scalars(tag)]


def seed_curves(
    runs: list[Run], tag: str, keys: list[str], events: Events
) -> dict[str, tuple[list[int], np.ndarray]]:
    """Each group's curves of ``tag``: the steps its seeds share and their values there
    (seeds x steps), so a plot shows the spread over seeds, not only the mean."""
    groups: dict[str, list[dict[int, float]]] = defaultdict(list)
    for run in ok_runs(runs):
        curve = dict(read_curves(run.dir, tag, events))
        if curve:
            groups[group_key(run, keys, "all")].append(curve)
    spread = {}
    for name in sorted(groups, key=natural_key):
        steps = sorted(set.intersection(*(set(c) for c in groups[name])))
        spread[name] = steps, np.array([[c[s] for s in steps] for c in groups[name]])
    return spread


def plot_curves(
    runs: list[Run], tag: str, keys: list[str], path: Path, events: Events | None = None
) -> int:
    """One line per group: the mean over its seeds at the steps they share, with a band
    from the lowest to the highest seed; returns the count of groups."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = seed_curves(runs, tag, keys, events if events is not None else Events())
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, (steps, values) in groups.items():
        seeds = f" ({len(values)} seeds, min-max)" if len(values) > 1 else ""
        [line] = ax.plot(steps, values.mean(0), label=name + seeds)
        if len(values) > 1:
            ax.fill_between(steps, values.min(0), values.max(0), color=line.get_color(), alpha=0.2)
    ax.set_xlabel("step")
    ax.set_ylabel(tag)
    ax.grid(alpha=0.3)
    if groups:
        ax.legend(title=" / ".join(keys) or None, fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return len(groups)


PANEL_INCHES = 3.0  # a panel's width; its height follows the images' aspect
LABEL_INCHES = 0.4  # room for a row's title


def plot_images(
    runs: list[Run],
    tag: str,
    rows: list[str],
    columns: list[str],
    path: Path,
    events: Events | None = None,
) -> int:
    """The last ``tag`` image of the first run of each group, in a rows x columns grid with
    the row and column labels, at a dpi at which a panel (less its labels, ~80% of it) shows
    every pixel of the widest image: no panel is downscaled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from skimage.io import imread

    events = events if events is not None else Events()
    grid: dict[tuple[str, str], Any] = {}
    for run in ok_runs(runs):
        key = (group_key(run, rows, "all"), group_key(run, columns, ""))
        accumulator = events[run.dir]
        if key in grid or accumulator is None or tag not in accumulator.Tags()["images"]:
            continue
        grid[key] = imread(io.BytesIO(accumulator.Images(tag)[-1].encoded_image_string))
    if not grid:
        return 0
    row_names = sorted({k[0] for k in grid}, key=natural_key)
    column_names = sorted({k[1] for k in grid}, key=natural_key)
    height, width = (max(image.shape[i] for image in grid.values()) for i in (0, 1))
    panel = (PANEL_INCHES, PANEL_INCHES * height / width + LABEL_INCHES)  # the images' shape
    fig, axes = plt.subplots(len(row_names), len(column_names), squeeze=False,
                             figsize=(panel[0] * len(column_names),
                                      panel[1] * len(row_names)))  # fmt: skip
    for i, row in enumerate(row_names):
        for j, column in enumerate(column_names):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            ax.spines[:].set_visible(False)
            if (row, column) in grid:
                ax.imshow(grid[row, column], cmap="gray", interpolation="nearest")
            if i == 0 and column:
                ax.set_title(column, fontsize="small")
            if j == 0:
                ax.set_ylabel(row, fontsize="small")
    if columns:
        fig.supxlabel(" / ".join(columns), fontsize="small")
    fig.supylabel(" / ".join(rows) or "all", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=max(120, math.ceil(width / (0.8 * PANEL_INCHES))))
    plt.close(fig)
    return len(grid)


def runs_csv(runs: list[Run], keys: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["dir", *keys, "status", "error"])
    for run in {r.dir: r for r in runs}.values():
        writer.writerow([run.dir, *(run.labels.get(k, "") for k in keys), run.status, run.error])
    return buffer.getvalue()


def split(value: str) -> list[str]:
    return [v for v in value.split(",") if v]


def run_compare(
    dirs: list[Path],
    rows: list[str],
    columns: list[str],
    metrics: list[str],
    out: Path,
    curves: list[str] = (),
    images: str | None = None,
    mode: str | None = None,
    evals: bool = False,
    reference: str | None = None,
    baseline: str | None = None,
    bootstrap: int = 2000,
    note: str = "",
    floor: str | None = None,
) -> list[Comparison]:
    """Everything ``regenlab-compare`` writes; returns the tables. ``floor`` as ``annotator``'s."""
    per_image = "image" in columns or "image" in rows
    runs = [r for d in each_run(dirs, evals) for r in readable_run(d, rows + columns, per_image)]
    check_keys(runs, rows, columns)
    annotate = annotator(runs, rows, per_image, reference, baseline, bootstrap, note, floor)
    events = Events()
    check_tags(runs, events, list(curves), images)
    run_keys = [k for k in rows + columns if k != "image"]
    comparisons, sections = [], []
    for metric in metrics:
        comparison, left_out = compare(runs, metric, rows, columns, mode)
        check_protocols(runs, metric, columns)
        annotate(comparison)
        name = slug(metric)
        if left_out:
            report_left_out(metric, left_out)
            sections.append(left_out_markdown(metric, left_out))
        if not comparison.rows:
            continue
        comparisons.append(comparison)
        atomic_write(out / f"{name}.md", comparison.markdown())
        atomic_write(out / f"{name}.csv", comparison.csv())
        atomic_write(out / f"{name}.tex", comparison.latex())
        if comparison.differences:
            atomic_write(out / f"{name}.diff.csv", differences_csv(comparison))
        if comparison.ratios:
            atomic_write(out / f"{name}.floor.csv", comparison.ratios.csv())
        if len(comparison.columns) > 1:
            plot_metric(comparison, out / f"{name}.png")
        console.print(comparison.markdown(), highlight=False, soft_wrap=True)
    atomic_write(out / "runs.csv", runs_csv(runs, rows + columns))
    if not comparisons:
        raise UserError(f"no run has any of {', '.join(metrics)}; see {out}/runs.csv")
    atomic_write(out / "table.md", "\n".join([c.markdown() for c in comparisons] + sections))
    if reference and not any(c.reported for c in comparisons):
        warn_unmatched(reference, metrics)
    for tag in curves:
        plot_curves(runs, tag, run_keys, out / f"curve_{slug(tag)}.png", events)
    if images:
        plot_images(runs, images, rows, columns, out / f"images_{slug(images)}.png", events)
    console.print(f"written to {out}", highlight=False)
    return comparisons


def warn_unmatched(reference: str, metrics: list[str]) -> None:
    """A reference whose figures fit no column would leave its rows out silently."""
    err_console.print(
        f"[yellow]warning:[/] reference={reference}: no entry fits a column of "
        f"{', '.join(metrics)} (an entry needs the column's test set, metric and level); "
        "no reported rows",
        highlight=False,
        soft_wrap=True,
    )


def check_protocols(runs: list[Run], metric: str, columns: list[str]) -> None:
    """Refuse a column whose FID-like numbers were measured under different protocols
    (``protocol`` in metrics.json: image counts, real images, extractor weights, sizes,
    torchmetrics version): their differences would not be the methods'. Numbers without a
    recorded protocol (PSNR, older runs) are not checked."""
    seen: dict[str, tuple[Path, dict]] = {}
    for run in {r.dir: r for r in runs if r.status == "ok"}.values():
        try:
            protocols = json.loads((run.dir / "metrics.json").read_text()).get("protocol") or {}
        except (OSError, ValueError, AttributeError):
            continue
        for part, name in matching_names(protocols, metric).items():
            column, mine = column_of(run, columns, part), protocols[name]
            first_dir, first = seen.setdefault(column, (run.dir, mine))
            differ = [k for k in sorted({*first, *mine}) if first.get(k) != mine.get(k)]
            if differ:
                k = differ[0]
                raise UserError(
                    f"the {metric} column {column!r} mixes protocols: {first_dir} and {run.dir} "
                    f"differ in {k} ({first.get(k)} vs {mine.get(k)}); compare them in separate "
                    "tables (or rerun them under one protocol)"
                )


def check_keys(runs: list[Run], rows: list[str], columns: list[str]) -> None:
    """A ``rows``/``columns`` key that no run has (a typo: ``rows=modle``) would group
    every run under '-' and print a table that looks fine."""
    readable = [r for r in runs if r.status != "broken"]  # those say why themselves
    for option, keys in (("rows", rows), ("columns", columns)):
        for key in keys:
            if key != "image" and readable and all(r.labels[key] == "-" for r in readable):
                raise UserError(
                    f"{option}={key}: no run has this key; use a config key (e.g. "
                    "degradation.sigma, see a run's config.yaml) or a Hydra choice (e.g. model)"
                )


def report_left_out(metric: str, left_out: list[Run]) -> None:
    table = Table(title=f"[yellow]{len(left_out)} run(s) left out of the {metric} table[/]")
    for column in ("run", "status", "why"):
        table.add_column(column)
    for run in left_out:
        table.add_row(str(run.dir), run.status, run.error)
    console.print(table)


def left_out_markdown(metric: str, left_out: list[Run]) -> str:
    lines = [f"**Left out of the {metric} table**", "", "| run | status | why |", "|---|---|---|"]
    lines += [f"| {r.dir} | {r.status} | {r.error} |" for r in left_out]
    return "\n".join(lines) + "\n"


# Published rows (reference=) and paired differences with bootstrap intervals (baseline=).

REFERENCE_FIELDS = ("method", "set", "metric", "value", "rows", "citation", "images")


@dataclass
class Reported:
    """One published figure: ``method`` on test ``set`` at ``level`` (config key -> value);
    ``rows`` are the measured rows it is held against; ``images`` the published per-image
    figures, where the paper gives them (a paired bootstrap against it). No ``set``: the
    figure goes where a run's metric is not per test set (``test/nll_iw50``)."""

    method: str
    set: str | None
    level: dict[str, str]
    metric: str
    value: float
    rows: list[str]
    citation: str
    images: dict[str, float] = field(default_factory=dict)


def load_reference(spec: str) -> list[Reported]:
    """The entries of ``conf/reference/<spec>.yaml`` or of the yaml file ``spec``."""
    folder = conf_dir() / "reference"
    path = Path(spec).expanduser()
    path = path if path.is_file() else folder / f"{spec}.yaml"
    if not path.is_file():
        choices = ", ".join(sorted(p.stem for p in folder.glob("*.yaml")))
        raise UserError(f"reference={spec}: no such file, nor one of {choices}")
    doc = OmegaConf.to_container(OmegaConf.load(path))
    levels, entries = doc.get("levels") or {}, []
    for i, entry in enumerate(doc.get("entries") or [], start=1):
        unknown = sorted(set(entry) - set(REFERENCE_FIELDS) - set(levels))
        missing = [k for k in ("method", "metric", "value") if k not in entry]
        if unknown or missing:
            problem = f"unknown key '{unknown[0]}'" if unknown else f"no '{missing[0]}'"
            raise UserError(
                f"{path}, entry {i}: {problem}; entries have {', '.join(REFERENCE_FIELDS)} "
                f"and the levels {', '.join(levels) or '(none defined)'}"
            )
        entries.append(Reported(
            str(entry["method"]), None if entry.get("set") is None else str(entry["set"]),
            {levels[k]: str(v) for k, v in entry.items() if k in levels},
            str(entry["metric"]), float(entry["value"]), [str(r) for r in entry.get("rows", [])],
            str(entry.get("citation", doc.get("citation", ""))),
            {str(k): float(v) for k, v in (entry.get("images") or {}).items()},
        ))  # fmt: skip
    for i, entry in enumerate(entries, start=1):  # a typo in a published figure
        mean = statistics.mean(entry.images.values()) if entry.images else entry.value
        if abs(mean - entry.value) > 0.01:
            raise UserError(
                f"{path}, entry {i} ({entry.method}): its images average {mean:.3f}, "
                f"not its value {entry.value}; check the per-image figures"
            )
    if not entries:
        raise UserError(f"{path} has no entries")
    return entries


def same_label(a: str, b: str) -> bool:
    """Labels equal as numbers where both are (``25`` == ``25.0``), else as text."""
    x, y = natural_key(a), natural_key(b)
    return x == y if x[0] == y[0] == 0 else a.lower() == b.lower()


def metric_place(name: str) -> tuple[str | None, str]:
    """``test/set12/psnr`` -> (``set12``, ``psnr``); ``test/psnr`` -> (None, ``psnr``)."""
    parts = name.split("/")
    return (parts[1] if len(parts) == 3 else None), parts[-1]


def test_data(run_dir: Path) -> str | None:
    """The Hydra ``data`` choice of a run (``mnist_digits``): the name of its only test data
    when its metrics are not per named test set."""
    record = run_dir / "run.json"
    choices = json.loads(record.read_text()).get("choices", {}) if record.is_file() else {}
    data = (choices or {}).get("data")
    return None if data is None else str(data)


def column_contexts(
    runs: list[Run], comparison: Comparison, keys: list[str]
) -> dict[str, set[tuple]]:
    """For each column: the (test set, test data, metric, config ``keys`` labels) of its
    values, so a published figure is placed only where every value is of its set, metric and
    level. The test set is None for a metric not per test set (``test/psnr``); the test data
    is then the run's ``data`` choice."""
    contexts: dict[str, set[tuple]] = defaultdict(set)
    for run in runs:
        if run.status != "ok":
            continue
        levels = tuple(run_labels(run.dir, keys).items()) if keys else ()
        for part, name in matching_names(run.metrics, comparison.metric).items():
            column = column_of(run, comparison.column_keys, part)
            test_set, metric = metric_place(name)
            data = test_data(run.dir) if test_set is None else None
            contexts[column].add((test_set, data, metric, levels))
    return contexts


def fits(entry: Reported, contexts: set[tuple]) -> bool:
    """Whether ``entry`` belongs in a column: one context, of its metric and level, and of
    its set: a named test set, or (a metric not per set) no set or the run's test data."""
    if len(contexts) != 1:
        return False
    test_set, data, metric, levels = next(iter(contexts))
    labels = dict(levels)
    if test_set is not None:
        same_set = entry.set is not None and same_label(test_set, entry.set)
    else:
        same_set = entry.set is None or (data is not None and same_label(data, entry.set))
    return (
        same_set
        and metric == entry.metric
        and all(k in labels and same_label(labels[k], v) for k, v in entry.level.items())
    )


@dataclass
class Difference:
    """A difference of means; ``low``/``high`` bound its 95% bootstrap interval, if any."""

    value: float
    low: float | None = None
    high: float | None = None
    images: int = 0
    seeds: tuple[int, int] = (0, 0)

    @property
    def significant(self) -> bool | None:
        return None if self.low is None else not self.low <= 0 <= self.high

    def text(self, d: int) -> str:
        if self.low is None:
            return f"{self.value:+.{d}f}"
        mark = "" if self.significant else " (n.s.)"
        return f"{self.value:+.{d}f} [{self.low:+.{d}f}, {self.high:+.{d}f}]{mark}"


class Annex:
    """A table printed under a metric's table: a ``title``, ``columns`` and ``lines()`` of
    text, one per row, and ``footer()`` lines under it."""

    title: str
    columns: list[str]

    def lines(self) -> list[list[str]]:
        raise NotImplementedError

    def footer(self) -> list[str]:
        return []

    def markdown(self) -> str:
        return markdown_table(self.title, ["row", *self.columns], self.lines(), "", self.footer())

    def latex(self) -> str:
        return latex_table(self.title, ["row", *self.columns], self.lines(), "", self.footer())


@dataclass
class Differences(Annex):
    """A table of differences: ``cells[row][column]``, e.g. measured - reported."""

    title: str
    metric: str
    versus: str
    columns: list[str]
    cells: dict[str, dict[str, Difference]]
    digits: int = 2

    def lines(self) -> list[list[str]]:
        return [
            [row, *(c.text(self.digits) if (c := cells.get(col)) else "" for col in self.columns)]
            for row, cells in self.cells.items()
        ]

    def csv_rows(self) -> list[list[Any]]:
        return [
            [self.metric, row, column, self.versus, d.value, d.low, d.high, d.significant,
             d.images, *d.seeds]
            for row, cells in self.cells.items() for column, d in cells.items()
        ]  # fmt: skip


DIFFERENCE_HEADER = ["metric", "row", "column", "versus", "difference", "ci_low", "ci_high",
                     "significant", "images", "seeds", "seeds_versus"]  # fmt: skip


def add_reported(comparison: Comparison, runs: list[Run], reference: list[Reported]) -> None:
    """Published figures as rows ``<method> (reported)`` in the columns of their set, level
    and metric, and a table of measured - reported where a row is held against one."""
    keys = sorted({k for entry in reference for k in entry.level})
    contexts = column_contexts(runs, comparison, keys)
    measured = list(comparison.rows)
    differences: dict[str, dict[str, Difference]] = defaultdict(dict)
    for entry in reference:
        for column in comparison.columns:
            if not fits(entry, contexts.get(column, set())):
                continue
            row = f"{entry.method} (reported)"
            comparison.cells.setdefault(row, {})[column] = Cell([entry.value])
            if entry.images:
                comparison.reported_images.setdefault(row, {})[column] = entry.images
            if row not in comparison.rows:
                comparison.rows.append(row)
                comparison.reported.append(row)
            for mine in (r for r in entry.rows if r in measured):
                if column in comparison.cells[mine]:
                    value = comparison.cells[mine][column].mean - entry.value
                    differences[f"{mine} - {entry.method}"][column] = Difference(value)
    if differences:
        citations = sorted({e.citation for e in reference if e.citation})
        comparison.differences.append(Differences(
            f"measured - reported ({comparison.metric}; reported: {'; '.join(citations)})",
            comparison.metric, "reported", comparison.columns, dict(differences),
            comparison.digits(),
        ))  # fmt: skip


def per_image_values(run_dir: Path, metric: str) -> dict[tuple[str, str], float]:
    """(set, image name) -> value of a test metric from the run's ``per_image.csv``
    (``test/set12/psnr``: the ``psnr`` column of the rows of set ``set12``); {} if absent."""
    path = run_dir / "per_image.csv"
    test_set, column = metric_place(metric)
    if not metric.startswith("test/") or not path.is_file():
        return {}
    return {
        (row.get("set") or "", row["name"]): float(row[column])
        for row in csv.DictReader(io.StringIO(path.read_text()))
        if row.get(column) not in (None, "") and (test_set is None or row.get("set") == test_set)
    }


def paired_bootstrap(
    ours: list[dict], theirs: list[dict], samples: int = 2000, seed: int = 0
) -> Difference | None:
    """Mean difference over images (paired by set and name) of two rows, each a list of
    runs (seeds) of per-image values, with a 95% percentile interval from resampling the
    images and, within each row, the seeds. None when the rows share no image."""
    common = sorted(set.intersection(*(set(values) for values in [*ours, *theirs])))
    if not common:
        return None
    a, b = (np.array([[run[k] for k in common] for run in rows]) for rows in (ours, theirs))
    rng = np.random.default_rng(seed)
    images = rng.integers(len(common), size=(samples, len(common)))
    seeds_a = rng.integers(len(a), size=(samples, len(a)))
    seeds_b = rng.integers(len(b), size=(samples, len(b)))
    per_image = a[seeds_a].mean(1) - b[seeds_b].mean(1)  # (samples, images)
    means = np.take_along_axis(per_image, images, axis=1).mean(1)
    low, high = np.percentile(means, [2.5, 97.5])
    value = float((a.mean(0) - b.mean(0)).mean())
    return Difference(value, float(low), float(high), len(common), (len(a), len(b)))


def add_bootstrap(
    comparison: Comparison, runs: list[Run], rows: list[str], baseline: str, samples: int
) -> None:
    """Each measured row minus ``baseline`` in each column, paired over test images, with a
    seeded bootstrap interval; an interval holding 0 is marked not significant (n.s.). A
    reported ``baseline`` is paired through its published per-image figures where the
    reference has them, else it counts as its published mean on every image."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for run in runs:
        if run.status != "ok":
            continue
        for part, name in matching_names(run.metrics, comparison.metric).items():
            values = per_image_values(run.dir, name)
            if values:
                key = (group_key(run, rows, "all"), column_of(run, comparison.column_keys, part))
                groups[key].append(values)
    reported = baseline in comparison.reported
    published = comparison.reported_images.get(baseline, {})
    cells: dict[str, dict[str, Difference]] = defaultdict(dict)
    for row in comparison.rows:
        if row == baseline or row in comparison.reported:
            continue
        for column in comparison.columns:
            ours, theirs = groups.get((row, column)), groups.get((baseline, column))
            if ours and column in published:  # one test set per column: ours names it
                sets = {key[0] for run in ours for key in run}
                theirs = [{(s, k): v for s in sets for k, v in published[column].items()}]
            elif reported and ours and column in comparison.cells[baseline]:
                value = comparison.cells[baseline][column].mean  # the same on every image
                theirs = [dict.fromkeys(set().union(*ours), value)]
            if ours and theirs and (diff := paired_bootstrap(ours, theirs, samples)):
                cells[row][column] = diff
    if cells:
        how = "paired over test images"
        if published:
            how += f" with its published figures ({', '.join(published)})"
        placed = comparison.cells.get(baseline, {}) if reported else {}
        if held := [c for c in placed if c not in published]:
            how += f"; the reported mean held fixed ({', '.join(held)})"
        comparison.differences.append(Differences(
            f"{comparison.metric}: row - {baseline}, {how} (95% bootstrap "
            f"interval over images and seeds, {samples} samples; n.s.: holds 0)",
            comparison.metric, baseline, comparison.columns, dict(cells), comparison.digits(),
        ))  # fmt: skip


DEFAULT_FLOOR = "real_data"  # model=real_data: real images measured like samples


@dataclass
class Ratio:
    """A row's mean over seeds ÷ the floor row's mean in the same column; ``std``: the row's
    seed std ÷ that mean (the floor's own spread is not in it)."""

    value: float
    std: float
    seeds: int

    def text(self) -> str:
        return f"{self.value:.2f}" + (f" ± {self.std:.2f}" if self.seeds > 1 else "")


@dataclass
class Ratios(Annex):
    """Each row over the floor row (``floor=``, e.g. real_data: what a perfect generator
    reaches with this N), per column: ``cells[row][column]`` is a ``Ratio``, or a text that
    says why there is none (printed n/a, the reason once under the table)."""

    metric: str
    floor: str
    minimize: bool
    columns: list[str]
    cells: dict[str, dict[str, Ratio | str]]
    floors: dict[str, Cell]

    @property
    def title(self) -> str:
        worse = (
            "lower is better: > 1 is worse" if self.minimize else "higher is better: < 1 is worse"
        )
        return (
            f"{self.metric} / {self.floor} (row mean over seeds ÷ {self.floor} mean, per column; "
            f"{worse} than {self.floor}; ± row seed std ÷ {self.floor} mean, the {self.floor} "
            "spread not included)"
        )

    def lines(self) -> list[list[str]]:
        def text(ratio: Ratio | str | None) -> str:
            return "" if ratio is None else "n/a" if isinstance(ratio, str) else ratio.text()

        return [
            [row, *(text(cells.get(c)) for c in self.columns)] for row, cells in self.cells.items()
        ]

    def footer(self) -> list[str]:
        """Each reason for an n/a once, with the columns it holds for."""
        reasons: dict[str, list[str]] = defaultdict(list)
        for column in self.columns:
            for cells in self.cells.values():
                why = cells.get(column)
                if isinstance(why, str) and column not in reasons[why]:
                    reasons[why].append(column)
        return [f"n/a ({', '.join(c)}): {why}: no ratio" for why, c in reasons.items()]

    def csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["metric", "row", "column", "floor", "ratio", "ratio_std", "seeds",
                         "floor_mean", "floor_std", "floor_seeds", "why"])  # fmt: skip
        for row, cells in self.cells.items():
            for column, ratio in cells.items():
                floor, why = self.floors[column], ratio if isinstance(ratio, str) else ""
                value = ["", "", ""] if why else [ratio.value, ratio.std, ratio.seeds]
                writer.writerow([self.metric, row, column, self.floor, *value, floor.mean,
                                 floor.std, len(floor.values), why])  # fmt: skip
        return buffer.getvalue()


def ratio(metric: str, row: str, cell: Cell, floor: str, floor_cell: Cell) -> Ratio | str:
    """``cell`` over ``floor_cell``, or why not: an unbiased estimate such as KID is ~0 for
    real vs real and may be negative, and a floor smaller than its seed noise divides noise."""
    for name, c in ((floor, floor_cell), (row, cell)):
        if not (math.isfinite(c.mean) and math.isfinite(c.std)):
            return f"{name} {metric} not finite"
    if floor_cell.mean <= 0:
        return f"{floor} {metric} not above zero"
    if floor_cell.std > floor_cell.mean:
        return f"{floor} {metric} seed std above its mean"
    return Ratio(cell.mean / floor_cell.mean, cell.std / floor_cell.mean, len(cell.values))


def add_floor(comparison: Comparison, floor: str) -> None:
    """Each measured row's mean over the ``floor`` row's mean, per column, as a table under
    the metric's; none where the floor row has no value of the metric."""
    floors = {} if floor in comparison.reported else comparison.cells.get(floor, {})
    cells = {
        row: {
            column: ratio(comparison.metric, row, cell, floor, floors[column])
            for column, cell in comparison.cells[row].items()
            if column in floors
        }
        for row in comparison.rows
        if row != floor and row not in comparison.reported
    }
    if cells := {row: ratios for row, ratios in cells.items() if ratios}:
        comparison.ratios = Ratios(
            comparison.metric, floor, comparison.minimize, comparison.columns, cells, floors
        )


def annotator(
    runs: list[Run],
    rows: list[str],
    per_image: bool,
    reference: str | None,
    baseline: str | None,
    samples: int,
    note: str = "",
    floor: str | None = None,
) -> Callable[[Comparison], None]:
    """What ``reference=``, ``baseline=``, ``note=`` and ``floor=`` add to each table, checked
    before any table. ``floor`` None: the ``real_data`` row if there is one; ``none``: no
    ratios."""
    if (reference or baseline) and per_image:
        raise UserError("reference= and baseline= need rows of runs, not columns=image")
    if samples < 100:
        raise UserError(f"bootstrap={samples}: use at least 100 resamples (default 2000)")
    entries = load_reference(reference) if reference else []
    measured = sorted(
        {group_key(r, rows, "all") for r in runs if r.status == "ok"}, key=natural_key
    )
    labels = measured + [f"{entry.method} (reported)" for entry in entries]
    if baseline and baseline not in labels:
        raise UserError(f"baseline={baseline} is not a row; rows: {', '.join(labels)}")
    if floor is None:
        floor = DEFAULT_FLOOR if DEFAULT_FLOOR in measured else "none"
    if floor != "none" and floor not in measured:
        raise UserError(
            f"floor={floor} is not a row of runs; rows: {', '.join(measured)} "
            "(floor=none: no ratios)"
        )

    def annotate(comparison: Comparison) -> None:
        comparison.note = note
        if entries:
            add_reported(comparison, runs, entries)
        if baseline:
            add_bootstrap(comparison, runs, rows, baseline, samples)
        if floor != "none":
            add_floor(comparison, floor)

    return annotate


def differences_csv(comparison: Comparison) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(DIFFERENCE_HEADER)
    for differences in comparison.differences:
        writer.writerows(differences.csv_rows())
    return buffer.getvalue()


@report_user_errors
def main(argv: list[str] | None = None) -> None:
    options = {"rows": split, "columns": split, "metrics": split, "out": Path, "curves": split,
               "images": str, "mode": str, "evals": flag, "reference": str, "baseline": str,
               "bootstrap": int, "note": str, "floor": str}  # fmt: skip
    args = parse_cli(sys.argv[1:] if argv is None else argv, USAGE, options)
    dirs = [Path(d).expanduser() for d in args.pop("overrides")]
    unknown = [d for d in dirs if "=" in d.name]
    if unknown:
        raise UserError(f"unknown option {unknown[0]}; options: {', '.join(options)}")
    if not dirs:
        raise UserError("pass one or more run or sweep dirs; see regenlab-compare --help")
    if args.get("mode") not in (None, "min", "max"):
        raise UserError(f"mode={args['mode']}: choose min or max")
    compare_runs(
        dirs,
        rows=args.get("rows", ["model"]),
        columns=args.get("columns", []),
        metrics=args.get("metrics"),
        out=args.get("out"),
        curves=args.get("curves", []),
        images=args.get("images"),
        mode=args.get("mode"),
        evals=args.get("evals", False),
        reference=args.get("reference"),
        baseline=args.get("baseline"),
        bootstrap=args.get("bootstrap", 2000),
        note=args.get("note", ""),
        floor=args.get("floor"),
    )


make_callable(sys.modules[__name__], compare_runs)  # regenlab.compare(dirs, ...)

if __name__ == "__main__":
    main()
