"""The notebooks run top to bottom on tiny settings (nbclient), so they never rot; they are
committed without outputs."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from regenlab.compare import run_compare
from tests.test_compare import fake_run

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"
TINY_TOUR = [
    "debug=limit", "trainer.max_steps=4", "model.net.width=4", "data.crop_size=16",
    "data.eval_crop=32", "data.batch_size=2", "data.samples_per_epoch=4", "logger=tensorboard",
]  # fmt: skip


def execute(name: str, parameters: str, cwd: Path) -> nbformat.NotebookNode:
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    [cell] = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
    cell.source = parameters
    NotebookClient(book, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()  # fmt: skip
    return book


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(path):
    book = json.loads(path.read_text())
    assert all(not c.get("outputs") and not c.get("execution_count")
               for c in book["cells"] if c["cell_type"] == "code")  # fmt: skip


@pytest.mark.slow
def test_tour_trains_shows_tensorboard_and_compares(tmp_path):
    out = tmp_path / "tour"
    book = execute("tour.ipynb", f"STEPS = 4\nOVERRIDES = {TINY_TOUR!r}\nOUT = {str(out)!r}",
                   tmp_path)  # fmt: skip
    assert (out / "unet" / "metrics.json").is_file() and (
        out / "identity" / "metrics.json"
    ).is_file()
    table = (out / "compare" / "table.md").read_text()
    assert "| classical/identity |" in table and "| unet |" in table
    images = [
        o for c in book.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 2  # the curves and the degraded / restored / clean grid


@pytest.mark.slow
def test_results_notebook_loads_a_compare_output(tmp_path):
    for seed, psnr in enumerate((29.0, 29.4)):
        fake_run(tmp_path / "runs", f"unet_{seed}", "unet", 25, seed, **{"test/psnr": psnr})
        fake_run(tmp_path / "runs", f"unet50_{seed}", "unet", 50, seed, **{"test/psnr": psnr - 3})
    run_compare([tmp_path / "runs"], ["model"], ["degradation.sigma"], ["test/psnr"],
                tmp_path / "compare")  # fmt: skip
    book = execute("results.ipynb", f"COMPARE_DIR = {str(tmp_path / 'compare')!r}", tmp_path)
    text = json.dumps([c.get("outputs", []) for c in book.cells])
    assert "29.20" in text and "test_psnr.png" in text and "image/png" in text
    try:  # the runs as a DataFrame (regenlab.load_runs), or a line saying pandas is missing
        import pandas  # noqa: F401

        assert "dataframe" in text and "<td>29.4</td>" in text
    except ImportError:
        assert "pandas is not installed" in text
