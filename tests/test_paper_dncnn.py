"""The DnCNN paper's table configs (make paper-dncnn) on a tiny DATA folder of the same layout:
train400/ (plain folder), named test sets, the data root from paths.data_dir."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regenlab.compare import run_compare
from regenlab.train import train


def write_images(folder: Path, count: int, size: int, mode: str) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(len(str(folder)))
    shape = (size, size, 3) if mode == "RGB" else (size, size)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(folder / f"{i}.png")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    write_images(root / "train400", 10, 48, "L")
    write_images(root / "classic5", 2, 32, "L")
    write_images(root / "set5", 2, 36, "RGB")  # 36: a multiple of 2, 3 and 4
    return root


@pytest.mark.parametrize(
    ("experiment", "overrides", "metric", "column", "reported"),
    [
        ("paper_dncnn_jpeg", ["model=classical/identity", "degradation.quality=10"],
         "test/classic5/psnr", ("degradation.quality", "10"), ("JPEG (reported)", 27.82)),
        ("paper_dncnn_sr", ["model=classical/bicubic", "degradation.upsample=false",
                            "degradation.scale=3"],
         "test/set5/psnr_y", ("degradation.scale", "3"), ("Bicubic (reported)", 30.39)),
    ],
)  # fmt: skip
def test_paper_rows_run_on_the_data_layout(
    make_cfg, data, tmp_path, experiment, overrides, metric, column, reported
):
    cfg = make_cfg(f"experiment={experiment}", f"paths.data_dir={data}", "train=false",
                   "logger=none", *overrides)  # fmt: skip
    metrics = train(cfg)
    assert metrics[metric] == pytest.approx(metrics[f"{metric}_input"])  # a baseline row
    [table] = run_compare([Path(cfg.paths.output_dir)], ["model"], [column[0]], [metric],
                          tmp_path / "cmp", reference="dncnn_paper")  # fmt: skip
    row, value = reported
    assert table.cells[row][column[1]].mean == value
