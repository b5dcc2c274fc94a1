"""regenlab-compare: grouping, mean/std, bold best, left-out runs, file formats, plots."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import pytest
import yaml
from rich.progress import Progress

from regenlab.compare import main, run_compare
from tests.conftest import run_cli

PNG = b"\x89PNG\r\n\x1a\n"


def fake_run(root: Path, name: str, model: str, sigma: int, seed: int, **metrics: float) -> Path:
    run = root / name
    run.mkdir(parents=True)
    config = {"seed": seed, "degradation": {"sigma": sigma}, "model": {"_target_": "x.Module"}}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    (run / "run.json").write_text(json.dumps({"seed": seed, "choices": {"model": model}}))
    if metrics:
        (run / "metrics.json").write_text(json.dumps(metrics | {"best_checkpoint": "b.ckpt"}))
    return run


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """2 models x 2 sigmas x 2 seeds, a classical baseline, one failed and one unfinished job."""
    root = tmp_path / "sweep"
    psnr = {("unet", 15): (32.0, 32.2), ("unet", 25): (29.0, 29.4),
            ("dncnn", 15): (31.5, 31.7), ("dncnn", 25): (29.5, 29.7)}  # fmt: skip
    for (model, sigma), values in psnr.items():
        for seed, value in enumerate(values):
            fake_run(root, f"{model}_{sigma}_{seed}", model, sigma, seed,
                     **{"test/psnr": value, "test/fid": 100 - value})  # fmt: skip
    for sigma, value in ((15, 30.0), (25, 28.0)):
        fake_run(root, f"nlm_{sigma}", "classical/nlm", sigma, 0, **{"test/psnr": value})
    failed = fake_run(root, "failed", "unet", 50, 0)
    (failed / "job.json").write_text(json.dumps({"status": "failed", "error": "CUDA OOM"}))
    fake_run(root, "unfinished", "unet", 50, 1)
    (root / "nlm_15" / ".hydra").mkdir()  # Hydra's own config copy is not a run
    (root / "nlm_15" / ".hydra" / "config.yaml").write_text("seed: 0\n")
    return root


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path) as f:
        return list(csv.DictReader(f))


def test_groups_seeds_into_mean_and_std(sweep, tmp_path):
    out = tmp_path / "cmp"
    [table] = run_compare([sweep], ["model"], ["degradation.sigma"], ["test/psnr"], out)
    assert table.rows == ["classical/nlm", "dncnn", "unet"]
    assert table.columns == ["15", "25"]  # sigma 50 only has failed runs
    cell = table.cells["unet"]["25"]
    assert cell.mean == pytest.approx(29.2)
    assert cell.std == pytest.approx(statistics.stdev([29, 29.4]))
    rows = {(r["model"], r["degradation.sigma"]): r for r in read_csv(out / "test_psnr.csv")}
    assert float(rows["dncnn", "15"]["mean"]) == pytest.approx(31.6)
    assert rows["dncnn", "15"]["n"] == "2" and rows["classical/nlm", "25"]["n"] == "1"


def test_best_per_column_is_bold_in_the_right_direction(sweep, tmp_path):
    out = tmp_path / "cmp"
    run_compare([sweep], ["model"], ["degradation.sigma"], ["test/psnr", "test/fid"], out)
    psnr = (out / "test_psnr.md").read_text()
    assert "| unet | **32.10** ± 0.14 | 29.20 ± 0.28 |" in psnr  # best at sigma 15
    assert "| dncnn | 31.60 ± 0.14 | **29.60** ± 0.14 |" in psnr  # best at sigma 25
    fid = (out / "test_fid.md").read_text()  # lower is better
    assert "lower is better" in fid and "**67.90**" in fid and "**70.40**" in fid


def test_failed_and_unfinished_runs_are_listed_not_dropped(sweep, tmp_path, capsys):
    out = tmp_path / "cmp"
    run_compare([sweep], ["model"], ["degradation.sigma"], ["test/psnr", "test/fid"], out)
    printed = capsys.readouterr().out
    assert "left out of the test/psnr table" in printed and "CUDA OOM" in printed
    table = (out / "table.md").read_text()
    assert "| failed | CUDA OOM |" in table and "| incomplete | no metrics.json |" in table
    assert "| ok | no test/fid |" in table  # the baseline lacks FID: listed as such
    runs = {Path(r["dir"]).name: r for r in read_csv(out / "runs.csv")}
    assert len(runs) == 12 and runs["failed"]["status"] == "failed"


@pytest.mark.parametrize(
    ("damage", "why"),
    [("metrics.json", "JSONDecodeError"), ("config.yaml", "cannot read its records"),
     ("job.json", "JSONDecodeError"), ("metrics_list", "AttributeError")],
)  # fmt: skip
def test_a_broken_run_is_left_out_and_the_others_compared(sweep, tmp_path, capsys, damage, why):
    """One corrupt file aborted the whole comparison with a traceback."""
    broken = sweep / "unet_15_0"
    if damage == "metrics_list":
        (broken / "metrics.json").write_text("[1, 2]")
    else:
        (broken / damage).write_text('{"test/psnr": 3' if damage != "config.yaml" else "a: [b\n")
    out = tmp_path / "cmp"
    [table] = run_compare([sweep], ["model"], ["degradation.sigma"], ["test/psnr"], out)
    assert table.cells["unet"]["15"].values == [32.2]  # the broken run's 32.0 left out
    assert why in capsys.readouterr().out
    runs = {Path(r["dir"]).name: r for r in read_csv(out / "runs.csv")}
    assert runs["unet_15_0"]["status"] == "broken" and why in runs["unet_15_0"]["error"]
    assert f"| {broken} | broken | cannot read its records" in (out / "table.md").read_text()


def test_no_usable_run_exits_2_and_lists_why(tmp_path, capsys):
    run = fake_run(tmp_path / "runs", "only", "unet", 25, 0, **{"test/psnr": 30.0})
    (run / "metrics.json").write_text("{")
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "runs"), f"out={tmp_path / 'cmp'}"])
    assert exit_info.value.code == 2 and "no run has any of" in capsys.readouterr().err
    assert read_csv(tmp_path / "cmp" / "runs.csv")[0]["status"] == "broken"


def test_latex_is_booktabs_with_one_cell_per_column(sweep, tmp_path):
    out = tmp_path / "cmp"
    run_compare([sweep], ["model"], ["degradation.sigma"], ["test/psnr"], out)
    tex = (out / "test_psnr.tex").read_text().splitlines()
    assert tex[1] == "\\begin{tabular}{lrr}" and tex[-1] == "\\end{tabular}"
    assert tex.index("\\toprule") < tex.index("\\midrule") < tex.index("\\bottomrule")
    body = [line for line in tex if line.endswith("\\\\")]
    assert len(body) == 4 and all(line.count("&") == 2 for line in body)
    assert "\\textbf{32.10} $\\pm$ 0.14" in "\n".join(tex)
    assert "classical/nlm" in tex[5] and "±" not in "\n".join(tex)


def test_plots_curves_and_image_grids_are_written(sweep, tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    for run in ("unet_15_0", "unet_15_1", "dncnn_15_0"):
        with SummaryWriter(sweep / run / "tensorboard") as writer:
            for step in range(0, 50, 10):
                writer.add_scalar("train/loss", 1 / (step + 1), step)
            writer.add_image("samples", __import__("torch").rand(3, 8, 8), 49)
    out = tmp_path / "cmp"
    run_compare([sweep], ["model"], ["degradation.sigma"], ["test/psnr"], out,
                curves=["train/loss"], images="samples")  # fmt: skip
    for name in ("test_psnr.png", "curve_train_loss.png", "images_samples.png"):
        assert (out / name).read_bytes().startswith(PNG), name


def log_events(run: Path, losses: list[float], image_side: int = 8) -> None:
    import torch
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(run / "tensorboard") as writer:
        for step, loss in enumerate(losses):
            writer.add_scalar("train/loss", loss, step)
        writer.add_image("samples", torch.rand(3, image_side, image_side), len(losses))


def test_events_are_read_once_per_run_and_curves_keep_the_seed_spread(sweep, tmp_path, monkeypatch):
    import regenlab.compare as compare

    log_events(sweep / "unet_15_0", [1.0, 0.5, 0.2])
    log_events(sweep / "unet_15_1", [3.0, 1.5, 0.4])
    log_events(sweep / "dncnn_15_0", [2.0, 1.0])
    reads = []
    read = compare.event_accumulator
    monkeypatch.setattr(compare, "event_accumulator", lambda d: reads.append(d) or read(d))
    run_compare([sweep], ["model"], [], ["test/psnr"], tmp_path / "cmp",
                curves=["train/loss", "train/loss"], images="samples")  # fmt: skip
    counted = [r for r in sweep.iterdir() if (r / "metrics.json").is_file()]
    assert sorted(reads) == sorted(counted)  # once each, not once per tag and panel
    runs = [
        r for d in compare.find_runs([sweep]) for r in compare.readable_run(d, ["model"], False)
    ]
    spread = compare.seed_curves(runs, "train/loss", ["model"], compare.Events())
    steps, values = spread["unet"]
    assert steps == [0, 1, 2] and values.min(0).tolist() == pytest.approx([1.0, 0.5, 0.2])
    assert values.max(0).tolist() == pytest.approx([3.0, 1.5, 0.4])
    assert values.mean(0).tolist() == pytest.approx([2.0, 1.0, 0.3])
    assert len(spread["dncnn"][1]) == 1


def test_a_missing_tag_is_one_line_listing_the_logged_ones(sweep, tmp_path):
    log_events(sweep / "unet_15_0", [1.0])
    for option, message in (
        (
            "curves=train/los",
            "curves=train/los: no run logged this scalar tag; scalars: train/loss",
        ),
        ("images=sample", "images=sample: no run logged this image tag; images: samples"),
    ):
        result = run_cli("regenlab-compare", str(sweep), option, cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_image_panels_are_full_size(sweep, tmp_path):
    from skimage.io import imread

    log_events(sweep / "unet_15_0", [1.0], image_side=600)
    out = tmp_path / "cmp"
    run_compare([sweep], ["model"], [], ["test/psnr"], out, images="samples")
    assert min(imread(out / "images_samples.png").shape[:2]) >= 600  # one panel, not shrunk


def test_per_image_columns(tmp_path):
    for model, offset in (("unet", 1.0), ("classical/identity", 0.0)):
        run = fake_run(tmp_path / "runs", model.replace("/", "_"), model, 25, 0,
                       **{"test/psnr": 0.0})  # fmt: skip
        (run / "per_image.csv").write_text(
            f"name,psnr,ssim,psnr_input,ssim_input\ncamera,{29 + offset},0.8,20.1,0.3\n"
            f"coffee,{28 + offset},0.8,20.2,0.3\n"
        )
    [table] = run_compare([tmp_path / "runs"], ["model"], ["image"], ["psnr"], tmp_path / "o")
    assert table.columns == ["camera", "coffee"]
    assert table.cells["unet"]["coffee"].mean == 29.0
    assert table.cells["classical/identity"]["camera"].mean == 29.0


def test_cli_errors_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "missing")])
    assert exit_info.value.code == 2
    assert "is not a directory" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(tmp_path), "colums=image"])
    assert "unknown option colums=image" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(tmp_path)])
    assert "no runs (dirs with config.yaml)" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["rows=modle", "columns=degradation.sigam"])
def test_a_key_no_run_has_is_one_line_not_a_table_of_dashes(sweep, tmp_path, capsys, option):
    """Before: every run was grouped under '-' and the table looked fine (exit 0)."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(sweep), option, f"out={tmp_path}/out"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"{option}: no run has this key" in err and len(err.strip().splitlines()) == 1


TINY = [
    "debug=limit", "trainer.max_steps=2", "trainer.limit_train_batches=2",
    "data.crop_size=16", "data.eval_crop=16", "data.batch_size=2",
    "callbacks.progress_bar=null", "logger=csv",
]  # fmt: skip


@pytest.mark.slow
def test_a_real_multirun_makes_the_expected_table(tmp_path):
    """2 sigmas x 2 seeds of a tiny U-Net and the identity baseline, through the real CLI."""
    grid = ["degradation.sigma=15,50", "seed=1,2"]
    for model in (["model=unet", "model.net.width=4"], ["model=classical/identity"]):
        result = run_cli("regenlab-train", "-m", *TINY, *model, *grid, cwd=tmp_path, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
    sweeps = tmp_path / "outputs" / "debug" / "multiruns"
    out = tmp_path / "compare"
    result = run_cli("regenlab-compare", str(sweeps), "columns=degradation.sigma",
                     "metrics=test/psnr", f"out={out}", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = read_csv(out / "test_psnr.csv")
    assert {(r["model"], r["degradation.sigma"]) for r in rows} == {
        (m, s) for m in ("unet", "classical/identity") for s in ("15", "50")
    }
    runs = [p.parent for p in sweeps.rglob("metrics.json")]
    assert len(runs) == 8
    for row in rows:
        values = [
            json.loads((run / "metrics.json").read_text())["test/psnr"]
            for run in runs
            if json.loads((run / "run.json").read_text())["choices"]["model"] == row["model"]
            and yaml.safe_load((run / "config.yaml").read_text())["degradation"]["sigma"]
            == int(row["degradation.sigma"])
        ]
        assert row["n"] == "2" and float(row["mean"]) == pytest.approx(statistics.fmean(values))
    assert "| model | 15 | 50 |" in (out / "table.md").read_text()


def test_a_star_makes_one_column_per_matching_metric(tmp_path):
    """Inpainting logs one metric per mask-ratio bin: ``test/hole_mae/*`` tabulates them."""
    for model, base in (("inpaint", 0.1), ("inpaint_biharmonic", 0.2)):
        fake_run(tmp_path / "runs", model, model, 0, 0, **{
            "test/hole_mae": base, "test/hole_mae/0-20%": base / 2,
            "test/hole_mae/20-40%": base * 2, "test/psnr/0-20%": 30.0,
        })  # fmt: skip
    out = tmp_path / "o"
    [table] = run_compare([tmp_path / "runs"], ["model"], [], ["test/hole_mae*"], out)
    assert table.columns == ["0-20%", "20-40%", "all"]
    assert table.cells["inpaint_biharmonic"]["20-40%"].mean == pytest.approx(0.4)
    assert (
        "| inpaint | **0.0500** | **0.2000** | **0.1000** |"
        in (out / "test_hole_mae.md").read_text()
    )
    assert (out / "test_hole_mae.png").read_bytes().startswith(PNG)


def with_protocol(run: Path, **protocol) -> None:
    record = json.loads((run / "metrics.json").read_text())
    record["protocol"] = {"test/fid": {"num_fake": 1000, "extractor_sha256": "ab", **protocol}}
    (run / "metrics.json").write_text(json.dumps(record))


def test_a_column_mixing_fid_protocols_is_refused_in_one_line(sweep, tmp_path):
    runs = [p for p in sorted(sweep.iterdir()) if p.name[:4] in ("unet", "dncn")]
    for run in runs:
        with_protocol(run)
    [table] = run_compare([sweep], ["model"], ["degradation.sigma"], ["test/fid"], tmp_path / "a")
    assert table.columns == ["15", "25"]  # one protocol per column: compared as before
    with_protocol(runs[-1], num_fake=500)  # unet, sigma 25, seed 1: fewer samples
    args = ("metrics=test/fid", "columns=degradation.sigma")
    result = run_cli("regenlab-compare", str(sweep), *args, cwd=tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "test/fid column '25' mixes protocols" in result.stderr
    assert "differ in num_fake (1000 vs 500)" in result.stderr


def test_load_runs_is_a_dataframe_of_every_readable_run(sweep, capsys):
    pytest.importorskip("pandas")
    from regenlab.compare import load_runs

    (sweep / "nlm_25" / "metrics.json").write_text("{not json")  # broken: left out, warned
    frame = load_runs([sweep], keys=["degradation.sigma"])
    assert len(frame) == 9  # 8 nets + nlm_15; failed, unfinished and broken left out
    unet = frame[(frame.model == "unet") & (frame["degradation.sigma"] == "25")]
    assert sorted(unet.seed) == [0, 1] and unet["test/psnr"].mean() == pytest.approx(29.2)
    assert set(frame.dir) >= {str(sweep / "nlm_15")} and "test/fid" in frame
    err = capsys.readouterr().err
    assert "left out" in err and "nlm_25" in err and "failed" in err


def test_load_runs_per_image_keeps_the_test_set_as_a_label(tmp_path):
    pytest.importorskip("pandas")
    from regenlab.compare import load_runs

    run = fake_run(tmp_path, "r", "dncnn", 25, 0, **{"test/set12/psnr": 30.0})
    (run / "per_image.csv").write_text("set,name,psnr\nset12,01.png,29.0\nset12,02.png,31.0\n")
    frame = load_runs([tmp_path], per_image=True)
    assert frame.image.tolist() == ["01.png", "02.png"] and frame.psnr.tolist() == [29.0, 31.0]
    assert set(frame.set) == {"set12"}


def test_load_runs_without_pandas_is_one_line(sweep, monkeypatch):
    import sys

    from regenlab.compare import load_runs
    from regenlab.errors import UserError

    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(UserError, match=r"needs pandas: pip install -e '\.\[pandas\]'"):
        load_runs([sweep])


def test_loading_runs_advances_the_progress_bar_once_per_run(sweep, tmp_path, monkeypatch):
    """The shared progress display (off here: not a terminal, and off for a few runs)."""
    bars = []
    monkeypatch.setattr("regenlab.compare.progress", lambda disable: bars.append(
        (disable, Progress(disable=True))) or bars[-1][1])  # fmt: skip
    run_compare([sweep], ["model"], ["degradation.sigma"], ["test/psnr"], tmp_path / "cmp")
    [(disable, bar)] = bars
    [task] = bar.tasks
    assert task.description == "loading runs" and task.completed == task.total == 12
    assert not disable  # 12 runs are more than a few
    run_compare([sweep / "nlm_15"], ["model"], [], ["test/psnr"], tmp_path / "one")
    assert bars[-1][0] and bars[-1][1].tasks[0].completed == 1
