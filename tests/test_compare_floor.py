"""regenlab-compare floor=: every row's metric as a ratio to the real-vs-real floor row."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from regenlab.compare import run_compare
from tests.conftest import run_cli
from tests.test_compare import fake_run, read_csv

METRICS = ["test/fid", "test/precision", "test/kid", "test/nll_iw50"]


def generation(root: Path, floor_kid: tuple[float, float] = (0.002, 0.004)) -> Path:
    """DCGAN and VAE over 2 seeds and the real_data floor: FID 10x and 20x the floor's 2.1,
    precision 0.7875x and 0.5x its 0.8; no NLL for the floor (as for model=real_data)."""
    rows = {
        "dcgan": ((20.0, 22.0), (0.60, 0.66), (0.05, 0.05), {}),
        "vae": ((42.0, 42.0), (0.40, 0.40), (0.10, 0.10), {"test/nll_iw50": 95.0}),
        "real_data": ((2.0, 2.2), (0.80, 0.80), floor_kid, {}),
    }
    for model, (fid, precision, kid, more) in rows.items():
        for seed in (0, 1):
            metrics = {"test/fid": fid[seed], "test/precision": precision[seed],
                       "test/kid": kid[seed], **more}  # fmt: skip
            fake_run(root, f"{model}_{seed}", model, 0, seed, **metrics)
    return root


def test_ratios_to_the_floor_in_both_directions(tmp_path, capsys):
    out = tmp_path / "cmp"
    tables = run_compare([generation(tmp_path / "runs")], ["model"], [], METRICS, out,
                         floor="real_data")  # fmt: skip
    fid, precision, kid, nll = tables
    assert fid.ratios.cells["dcgan"]["value"].value == pytest.approx(21.0 / 2.1)
    assert fid.ratios.cells["dcgan"]["value"].std == pytest.approx(statistics.stdev([20, 22]) / 2.1)
    assert fid.ratios.cells["vae"]["value"].value == pytest.approx(20.0)
    assert precision.ratios.cells["dcgan"]["value"].value == pytest.approx(0.63 / 0.8)
    assert kid.ratios.cells["vae"]["value"].value == pytest.approx(0.1 / 0.003)  # floor 0.003
    assert "real_data" not in fid.ratios.cells  # the floor over itself says nothing
    assert nll.ratios is None and not (out / "test_nll_iw50.floor.csv").exists()  # no floor NLL
    assert "lower is better: > 1 is worse than real_data" in fid.ratios.title
    assert "higher is better: < 1 is worse than real_data" in precision.ratios.title
    markdown = (out / "test_fid.md").read_text()
    assert "| dcgan | 10.00 ± 0.67 |" in markdown and "| vae | 20.00 ± 0.00 |" in markdown
    assert "| real_data | 2.10 ± 0.14 |" in markdown  # the best method is bold, not the floor
    assert "| real_data | 0.8000 ± 0.0000 |" in (out / "test_precision.md").read_text()
    assert "| dcgan | **21.00** ± 1.41 |" in markdown
    assert "| dcgan | 0.79 ± 0.05 |" in (out / "test_precision.md").read_text()
    assert "\\textbf" not in (out / "test_fid.tex").read_text().split("test/fid / real_data")[1]
    assert "10.00 $\\pm$ 0.67" in (out / "test_fid.tex").read_text()
    assert markdown in (out / "table.md").read_text() and markdown in capsys.readouterr().out
    rows = {r["row"]: r for r in read_csv(out / "test_fid.floor.csv")}
    assert rows.keys() == {"dcgan", "vae"} and rows["dcgan"]["seeds"] == "2"
    assert float(rows["dcgan"]["ratio"]) == pytest.approx(10.0)
    assert float(rows["dcgan"]["floor_mean"]) == pytest.approx(2.1)


@pytest.mark.parametrize(("floor", "expected"), [(None, "real_data"), ("none", None)])
def test_real_data_is_the_default_floor_and_none_switches_it_off(tmp_path, floor, expected):
    out = tmp_path / "cmp"
    [fid] = run_compare([generation(tmp_path / "runs")], ["model"], [], ["test/fid"], out,
                        floor=floor)  # fmt: skip
    assert (fid.ratios.floor if fid.ratios else None) == expected
    assert (out / "test_fid.floor.csv").exists() == (expected is not None)
    assert ("test/fid / real_data" in (out / "table.md").read_text()) == (expected is not None)


@pytest.mark.parametrize(
    ("floor_kid", "why"),
    [((-0.001, 0.0005), "real_data test/kid not above zero"),
     ((0.0001, 0.003), "real_data test/kid seed std above its mean")],
)  # fmt: skip
def test_a_floor_that_cannot_divide_gives_na_and_says_why_once(tmp_path, floor_kid, why):
    """Unbiased KID is ~0 for real vs real: dividing by it printed a huge or negative ratio."""
    out = tmp_path / "cmp"
    [kid] = run_compare([generation(tmp_path / "runs", floor_kid)], ["model"], [], ["test/kid"],
                        out)  # fmt: skip
    assert kid.ratios.cells["dcgan"]["value"] == why
    markdown = (out / "test_kid.md").read_text()
    assert "| dcgan | n/a |" in markdown and "| vae | n/a |" in markdown
    assert markdown.count(why) == 1 and f"_n/a (value): {why}: no ratio_" in markdown
    assert "inf" not in markdown and "nan" not in markdown
    rows = read_csv(out / "test_kid.floor.csv")
    assert {r["ratio"] for r in rows} == {""} and {r["why"] for r in rows} == {why}


def test_a_floor_that_is_not_a_row_is_one_line(tmp_path):
    runs = generation(tmp_path / "runs")
    result = run_cli("regenlab-compare", str(runs), "floor=realdata", "metrics=test/fid",
                     f"out={tmp_path / 'cmp'}", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "floor=realdata is not a row of runs; rows: dcgan, real_data, vae" in result.stderr
    assert not (tmp_path / "cmp").exists()  # checked before any table
