"""regenlab-compare reference= (published rows) and baseline= (paired bootstrap intervals),
on synthetic run dirs whose answer is known."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from regenlab.compare import load_reference, paired_bootstrap, run_compare
from tests.conftest import run_cli

IMAGES = [f"{i:02d}.png" for i in range(1, 13)]


def fake_run(root: Path, name: str, model: str, sigma: int, per_image: dict[str, float],
             seed: int = 0, test_set: str = "set12") -> Path:  # fmt: skip
    """A finished run tested on one named set: metrics.json and per_image.csv."""
    run = root / name
    run.mkdir(parents=True)
    config = {"seed": seed, "degradation": {"sigma": sigma}, "model": {"_target_": "x.M"}}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    (run / "run.json").write_text(json.dumps({"seed": seed, "choices": {"model": model}}))
    mean = float(np.mean(list(per_image.values())))
    (run / "metrics.json").write_text(json.dumps({f"test/{test_set}/psnr": mean}))
    with open(run / "per_image.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["set", "name", "psnr", "psnr_input"])
        writer.writerows([test_set, k, v, 20.0] for k, v in per_image.items())
    return run


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """BM3D at sigma 25 and 50; a net exactly +0.5 dB on every image (two seeds); a net
    whose per-image differences are symmetric around 0."""
    root = tmp_path / "runs"
    base = {name: 28.0 + i * 0.3 for i, name in enumerate(IMAGES)}
    for sigma, shift in ((25, 0.0), (50, -3.0)):
        fake_run(root, f"bm3d_{sigma}", "classical/bm3d", sigma,
                 {k: v + shift for k, v in base.items()})  # fmt: skip
        for seed in (0, 1):
            fake_run(root, f"dncnn_{sigma}_{seed}", "dncnn", sigma,
                     {k: v + shift + 0.5 for k, v in base.items()}, seed=seed)  # fmt: skip
        signs = [(-1) ** i * 0.4 for i in range(len(IMAGES))]  # +-0.4, mean 0
        fake_run(root, f"unet_{sigma}", "unet", sigma,
                 {k: v + shift + s for (k, v), s in zip(base.items(), signs)})  # fmt: skip
    return root


def compare(runs: Path, tmp_path: Path, **options) -> object:
    [table] = run_compare([runs], ["model"], ["degradation.sigma"], ["test/set12/psnr"],
                          tmp_path / "cmp", **options)  # fmt: skip
    return table


def test_bootstrap_intervals_mark_what_is_significant(runs, tmp_path):
    table = compare(runs, tmp_path, baseline="classical/bm3d")
    [diffs] = table.differences
    plus = diffs.cells["dncnn"]["25"]
    assert (plus.value, plus.low, plus.high) == pytest.approx((0.5, 0.5, 0.5))
    assert plus.significant and plus.images == 12 and plus.seeds == (2, 1)
    noise = diffs.cells["unet"]["50"]
    assert noise.value == pytest.approx(0.0, abs=1e-9)
    assert noise.low < 0 < noise.high and not noise.significant
    md = (tmp_path / "cmp" / "test_set12_psnr.md").read_text()
    assert "| dncnn | +0.50 [+0.50, +0.50] | +0.50 [+0.50, +0.50] |" in md
    assert "(n.s.)" in md.split("| unet |")[-1].splitlines()[0]
    tex = (tmp_path / "cmp" / "test_set12_psnr.tex").read_text()
    assert "dncnn & +0.50 [+0.50, +0.50] & +0.50 [+0.50, +0.50]" in tex
    diff_csv = (tmp_path / "cmp" / "test_set12_psnr.diff.csv").read_text().splitlines()
    rows = list(csv.DictReader(diff_csv))
    unet = next(r for r in rows if r["row"] == "unet" and r["column"] == "25")
    assert unet["significant"] == "False" and unet["versus"] == "classical/bm3d"


def test_bootstrap_is_seeded_and_resamples_seeds():
    rng = np.random.default_rng(1)
    ours = [{("s", str(i)): 30 + rng.normal() for i in range(10)} for _ in range(3)]
    theirs = [{("s", str(i)): 30.0 for i in range(10)}]
    first, again = paired_bootstrap(ours, theirs), paired_bootstrap(ours, theirs)
    assert (first.low, first.high) == (again.low, again.high)
    one_seed = paired_bootstrap(ours[:1] * 3, theirs)  # identical seeds: no seed spread
    spread = paired_bootstrap(ours, theirs)
    assert spread.seeds == (3, 1) and spread.low <= spread.value <= spread.high
    assert one_seed.high - one_seed.low != pytest.approx(spread.high - spread.low)
    assert paired_bootstrap(ours, [{("s", "other"): 1.0}]) is None  # no common image


def test_reported_rows_sit_in_their_column_with_the_difference(runs, tmp_path):
    fake_run(runs, "bsd68", "dncnn", 25, {"a.png": 29.0}, test_set="bsd68")  # another set
    table = compare(runs, tmp_path, reference="dncnn_paper")
    reported = {r: {c: cell.mean for c, cell in table.cells[r].items()} for r in table.reported}
    assert reported == {"BM3D (reported)": {"25": 29.97, "50": 26.72},
                        "TNRD (reported)": {"25": 30.06},
                        "DnCNN-S (reported)": {"25": 30.44, "50": 27.18}}  # fmt: skip
    [diffs] = table.differences  # measured - reported, where a row is held against one
    assert diffs.cells["classical/bm3d - BM3D"]["25"].value == pytest.approx(29.65 - 29.97)
    assert diffs.cells["dncnn - DnCNN-S"]["50"].value == pytest.approx(27.15 - 27.18)
    md = (tmp_path / "cmp" / "test_set12_psnr.md").read_text()
    assert "| BM3D (reported) | 29.97 | 26.72 |" in md  # never bold: not a run of this table
    assert "| dncnn | **30.15** ± 0.00 | **27.15** ± 0.00 |" in md
    assert "| classical/bm3d - BM3D | -0.32 | -0.07 |" in md


BM3D_SET12 = [29.45, 32.85, 30.16, 28.56, 29.25, 28.42, 28.93, 32.07, 30.71, 29.90, 29.61, 29.71]


def test_bootstrap_against_a_reported_row(runs, tmp_path):
    """BM3D's Set12 figures are published per image: the difference is paired over them.
    TNRD's only as a mean: it counts on every image, the interval from the row's own
    images and seeds."""
    table = compare(runs, tmp_path, reference="dncnn_paper", baseline="BM3D (reported)")
    [diffs] = (d for d in table.differences if d.versus == "BM3D (reported)")
    plus = diffs.cells["dncnn"]["25"]  # images at 28.5 ... 31.8
    ours = [28.5 + i * 0.3 for i in range(12)]
    assert plus.value == pytest.approx(np.mean(ours) - np.mean(BM3D_SET12))
    assert plus.low < plus.value < plus.high and plus.images == 12 and plus.seeds == (2, 1)
    paired = np.subtract(ours, BM3D_SET12)
    assert plus.high - plus.low < 4 * paired.std() / np.sqrt(12) + 1e-9  # paired, not pooled
    assert "with its published figures (25); the reported mean held fixed (50)" in diffs.title
    assert "DnCNN-S (reported)" not in diffs.cells  # reported rows are not held against it
    table = compare(runs, tmp_path, reference="dncnn_paper", baseline="TNRD (reported)")
    [diffs] = (d for d in table.differences if d.versus == "TNRD (reported)")
    assert diffs.cells["dncnn"]["25"].value == pytest.approx(np.mean(ours) - 30.06)
    assert "the reported mean held fixed (25)" in diffs.title and "50" not in diffs.cells["dncnn"]


def test_published_per_image_figures_must_average_to_the_value(tmp_path):
    mine = tmp_path / "mine.yaml"
    entry = {"method": "X", "set": "a", "metric": "psnr", "value": 30.0,
             "images": {"1.png": 29.0, "2.png": 30.5}}  # fmt: skip
    mine.write_text(yaml.safe_dump({"entries": [entry]}))
    with pytest.raises(Exception, match=r"entry 1 \(X\): its images average 29.750, not"):
        load_reference(str(mine))


def test_a_note_under_every_title(runs, tmp_path):
    compare(runs, tmp_path, note="dncnn: a short CPU run")
    assert "_dncnn: a short CPU run_" in (tmp_path / "cmp" / "test_set12_psnr.md").read_text()
    assert "% dncnn: a short CPU run" in (tmp_path / "cmp" / "test_set12_psnr.tex").read_text()


def test_reported_rows_need_the_same_set_level_and_metric(runs, tmp_path):
    [table] = run_compare([runs], ["model"], [], ["test/set12/psnr"], tmp_path / "cmp",
                          reference="dncnn_paper")  # fmt: skip
    assert not table.reported  # one column mixing sigma 25 and 50: no level to match
    for run in runs.iterdir():  # the same values under another set name
        metrics = json.loads((run / "metrics.json").read_text())
        (run / "metrics.json").write_text(json.dumps({"test/bsd68/psnr": metrics.popitem()[1]}))
    [table] = run_compare([runs], ["model"], ["degradation.sigma"], ["test/bsd68/psnr"],
                          tmp_path / "cmp2", reference="dncnn_paper")  # fmt: skip
    assert not table.reported and not table.differences


def test_a_reference_yaml_of_ones_own(runs, tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text(yaml.safe_dump({"levels": {"sigma": "degradation.sigma"}, "entries": [
        {"method": "X", "set": "Set12", "sigma": 25.0, "metric": "psnr", "value": 30.0,
         "rows": ["unet"], "citation": "me"}]}))  # fmt: skip
    table = compare(runs, tmp_path, reference=str(mine))
    assert table.cells["X (reported)"]["25"].mean == 30.0
    assert table.differences[0].cells["unet - X"]["25"].value == pytest.approx(29.65 - 30.0)
    mine.write_text(yaml.safe_dump({"entries": [{"method": "X", "set": "a", "sgima": 25,
                                                 "metric": "psnr", "value": 1}]}))  # fmt: skip
    with pytest.raises(Exception, match="entry 1: unknown key 'sgima'"):
        load_reference(str(mine))


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("reference=dncnn_papr", "reference=dncnn_papr: no such file, nor one of dncnn_paper"),
        ("baseline=bm3d", "baseline=bm3d is not a row; rows: classical/bm3d, dncnn, unet"),
        ("baseline=BM3D (reported)", "baseline=BM3D (reported) is not a row"),  # no reference=
        ("bootstrap=10", "bootstrap=10: use at least 100"),
    ],
)
def test_mistakes_are_one_line(runs, tmp_path, option, message):
    result = run_cli("regenlab-compare", str(runs), option, "metrics=test/set12/psnr",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def plain_run(root: Path, name: str, model: str, data: str, **metrics: float) -> Path:
    """A run whose metrics are not per named test set (``test/nll_iw50``)."""
    run = root / name
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump({"seed": 0, "model": {"_target_": "x.M"}}))
    choices = {"model": model, "data": data}
    (run / "run.json").write_text(json.dumps({"seed": 0, "choices": choices}))
    (run / "metrics.json").write_text(json.dumps(metrics))
    return run


def test_reported_rows_of_a_metric_not_per_test_set(tmp_path, capsys):
    root = tmp_path / "runs"
    plain_run(root, "vae", "vae_bernoulli", "mnist_digits", **{"test/nll_iw50": 95.0})
    [table] = run_compare([root], ["model"], [], ["test/nll_iw50"], tmp_path / "cmp",
                          reference="generation_mnist")  # fmt: skip
    assert {r: table.cells[r]["value"].mean for r in table.reported} == {
        "VAE (full 60k training set, 28x28) (reported)": 89.9,
        "IWAE k=50 (full 60k training set, 28x28) (reported)": 87.1,
    }
    mine = tmp_path / "mine.yaml"  # a set naming the run's only test data fits; another not
    mine.write_text(yaml.safe_dump({"entries": [
        {"method": "A", "set": "mnist_digits", "metric": "nll_iw50", "value": 90.0},
        {"method": "B", "set": "mnist_full", "metric": "nll_iw50", "value": 91.0}]}))  # fmt: skip
    [table] = run_compare([root], ["model"], [], ["test/nll_iw50"], tmp_path / "cmp2",
                          reference=str(mine))  # fmt: skip
    assert table.reported == ["A (reported)"]
    assert "warning" not in capsys.readouterr().err


def test_a_reference_that_fits_nothing_warns_in_one_line(runs, tmp_path):
    out = f"out={tmp_path / 'cmp'}"
    result = run_cli("regenlab-compare", str(runs), "reference=generation_mnist",
                     "metrics=test/set12/psnr", out, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    [line] = [x for x in result.stderr.splitlines() if "warning" in x]
    assert "reference=generation_mnist: no entry fits a column of test/set12/psnr" in line
