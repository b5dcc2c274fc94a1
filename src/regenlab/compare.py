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
curves=<scalar tags> (training curves from TensorBoard), images=<image tag> (the last image
of that tag from each group, side by side), mode=max|min (default: by metric name), evals=true
(also runs written by regenlab-eval). Writes <metric>.md/.csv/.tex, table.md, runs.csv, PNGs.
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
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase as fnmatch
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from rich.table import Table

from regenlab.errors import UserError
from regenlab.utils.console import console, flag, parse_cli, report_user_errors
from regenlab.utils.run import atomic_write

USAGE = __doc__
LOWER_IS_BETTER = ("fid", "kid", "loss", "mae", "mse", "nll", "lpips", "bpd")
NO_COLUMN = "value"


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
    return [
        Run(run_dir, {**labels, "image": row["name"]},
            {k: float(v) for k, v in row.items() if k != "name" and v not in ("", None)})
        for row in rows
    ]  # fmt: skip


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

    def best(self, column: str) -> float | None:
        means = [self.cells[r][column].mean for r in self.rows if column in self.cells[r]]
        return (min(means) if self.minimize else max(means)) if means else None

    def digits(self) -> int:
        values = [abs(c.mean) for row in self.cells.values() for c in row.values()]
        return 2 if values and statistics.median(values) >= 1 else 4

    def formatted(self, bold: tuple[str, str]) -> list[list[str]]:
        """Rows of strings, best mean per column wrapped in ``bold`` (markdown or LaTeX)."""
        d, table = self.digits(), []
        for row in self.rows:
            line = [row]
            for column in self.columns:
                cell = self.cells[row].get(column)
                if cell is None:
                    line.append("")
                    continue
                text = f"{cell.mean:.{d}f}"
                if round(cell.mean, d) == round(self.best(column), d):
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

    def markdown(self) -> str:
        lines = [f"**{self.title()}**", "", "| " + " | ".join(self.header()) + " |"]
        lines.append("|" + "---|" + "---:|" * len(self.columns))
        lines += ["| " + " | ".join(r) + " |" for r in self.formatted(("**", "**"))]
        return "\n".join(lines) + "\n"

    def latex(self) -> str:
        rows = [[latex_escape(r[0]), *r[1:]] for r in self.formatted(("\\textbf{", "}"))]
        rows = [[c.replace("±", "$\\pm$") for c in r] for r in rows]
        lines = [
            f"% {self.title().replace('±', '+-')}",
            "\\begin{tabular}{l" + "r" * len(self.columns) + "}",
            "\\toprule",
            " & ".join(latex_escape(h) for h in self.header()) + " \\\\",
            "\\midrule",
            *(" & ".join(r) + " \\\\" for r in rows),
            "\\bottomrule",
            "\\end{tabular}",
        ]
        return "\n".join(lines) + "\n"

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


def group_key(run: Run, keys: list[str], empty: str) -> str:
    return " / ".join(run.labels[k] for k in keys) if keys else empty


def matching(metrics: dict[str, float], pattern: str) -> dict[str, float]:
    """The finite values of the metrics ``pattern`` names, keyed by what its ``*`` matched
    (``all`` for the empty match; ``""`` without a ``*``)."""
    prefix, star, suffix = pattern.partition("*")
    found = {
        (name[len(prefix) : len(name) - len(suffix)].strip("/") or "all") if star else "": value
        for name, value in metrics.items()
        if (fnmatch(name, pattern) if star else name == pattern)
    }
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
            column = " / ".join(filter(None, (group_key(run, columns, ""), part))) or NO_COLUMN
            cells[row][column].append(value)
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


def read_curves(run_dir: Path, tag: str) -> list[tuple[int, float]]:
    """(step, value) of one scalar from a run's TensorBoard events; [] if absent."""
    accumulator = event_accumulator(run_dir)
    if accumulator is None or tag not in accumulator.Tags()["scalars"]:
        return []
    return [(e.step, e.value) for e in accumulator.Scalars(tag)]


def plot_curves(runs: list[Run], tag: str, keys: list[str], path: Path) -> int:
    """One line per group (mean over its seeds at the steps they share); returns the count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, list[dict[int, float]]] = defaultdict(list)
    for run in {r.dir: r for r in runs if r.status == "ok"}.values():
        curve = dict(read_curves(run.dir, tag))
        if curve:
            groups[group_key(run, keys, "all")].append(curve)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in sorted(groups, key=natural_key):
        steps = sorted(set.intersection(*(set(c) for c in groups[name])))
        ax.plot(steps, [statistics.fmean(c[s] for c in groups[name]) for s in steps], label=name)
    ax.set_xlabel("step")
    ax.set_ylabel(tag)
    ax.grid(alpha=0.3)
    if groups:
        ax.legend(fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return len(groups)


def plot_images(runs: list[Run], tag: str, rows: list[str], columns: list[str], path: Path) -> int:
    """The last ``tag`` image of the first run of each group, in a rows x columns grid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from skimage.io import imread

    grid: dict[tuple[str, str], Any] = {}
    for run in sorted({r.dir: r for r in runs if r.status == "ok"}.values(), key=lambda r: r.dir):
        key = (group_key(run, rows, "all"), group_key(run, columns, ""))
        accumulator = event_accumulator(run.dir)
        if key in grid or accumulator is None or tag not in accumulator.Tags()["images"]:
            continue
        grid[key] = imread(io.BytesIO(accumulator.Images(tag)[-1].encoded_image_string))
    if not grid:
        return 0
    row_names = sorted({k[0] for k in grid}, key=natural_key)
    column_names = sorted({k[1] for k in grid}, key=natural_key)
    fig, axes = plt.subplots(len(row_names), len(column_names), squeeze=False,
                             figsize=(3 * len(column_names), 3 * len(row_names)))  # fmt: skip
    for i, row in enumerate(row_names):
        for j, column in enumerate(column_names):
            ax = axes[i][j]
            ax.axis("off")
            if (row, column) in grid:
                ax.imshow(grid[row, column], cmap="gray")
            ax.set_title(" ".join(filter(None, (row, column))), fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
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
) -> list[Comparison]:
    """Everything ``regenlab-compare`` writes; returns the tables."""
    per_image = "image" in columns or "image" in rows
    runs = [r for d in find_runs(dirs, evals) for r in load_run(d, rows + columns, per_image)]
    comparisons, sections = [], []
    for metric in metrics:
        comparison, left_out = compare(runs, metric, rows, columns, mode)
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
        if len(comparison.columns) > 1:
            plot_metric(comparison, out / f"{name}.png")
        console.print(comparison.markdown(), highlight=False, soft_wrap=True)
    if not comparisons:
        raise UserError(f"no run has any of {', '.join(metrics)}; see {out}/runs.csv")
    atomic_write(out / "table.md", "\n".join([c.markdown() for c in comparisons] + sections))
    atomic_write(out / "runs.csv", runs_csv(runs, rows + columns))
    run_keys = [k for k in rows + columns if k != "image"]
    for tag in curves:
        plot_curves(runs, tag, run_keys, out / f"curve_{slug(tag)}.png")
    if images:
        plot_images(runs, images, rows, columns, out / f"images_{slug(images)}.png")
    console.print(f"written to {out}", highlight=False)
    return comparisons


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


@report_user_errors
def main(argv: list[str] | None = None) -> None:
    options = {"rows": split, "columns": split, "metrics": split, "out": Path, "curves": split,
               "images": str, "mode": str, "evals": flag}  # fmt: skip
    args = parse_cli(sys.argv[1:] if argv is None else argv, USAGE, options)
    dirs = [Path(d).expanduser() for d in args.pop("overrides")]
    unknown = [d for d in dirs if "=" in d.name]
    if unknown:
        raise UserError(f"unknown option {unknown[0]}; options: {', '.join(options)}")
    if not dirs:
        raise UserError("pass one or more run or sweep dirs; see regenlab-compare --help")
    if args.get("mode") not in (None, "min", "max"):
        raise UserError(f"mode={args['mode']}: choose min or max")
    per_image = "image" in args.get("rows", []) + args.get("columns", [])
    default_metrics = ["psnr", "ssim"] if per_image else ["test/psnr", "test/ssim"]
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    run_compare(
        dirs,
        rows=args.get("rows", ["model"]),
        columns=args.get("columns", []),
        metrics=args.get("metrics", default_metrics),
        out=args.get("out", Path("outputs/compare") / stamp),
        curves=args.get("curves", []),
        images=args.get("images"),
        mode=args.get("mode"),
        evals=args.get("evals", False),
    )


if __name__ == "__main__":
    main()
