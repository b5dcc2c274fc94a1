"""The published-weights row and the paper's reported rows on the paper_dncnn experiments,
with a tiny paths.benchmarks folder of the same layout (make paper-dncnn DATA=<dir>)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from regenlab.compare import run_compare
from regenlab.nets.dncnn import DnCNN
from regenlab.nets.weights import rename_keys
from regenlab.train import train


def write_images(folder: Path, count: int, size: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(count)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (size, size), dtype=np.uint8)).save(
            folder / f"{i}.png"
        )


def test_published_weights_row_sits_next_to_the_papers(make_cfg, tmp_path):
    data = tmp_path / "benchmarks"
    write_images(data / "train400", 20, 48)
    write_images(data / "set12", 2, 32)
    (data / "weights").mkdir()
    net = DnCNN(1, depth=4, width=8, last_bias=False, bn_eps=1e-4)
    torch.save(
        rename_keys(net.state_dict(), {"body.": "dncnn."}), data / "weights" / "dncnn_sigma25.pt"
    )
    cfg = make_cfg("experiment=paper_dncnn_denoise", f"paths.benchmarks={data}",
                   "model=pretrained/dncnn_sigma25", "model.net.depth=4", "model.net.width=8",
                   "degradation.sigma=25", "train=false", "logger=none")  # fmt: skip
    metrics = train(cfg)
    assert "test/set12/psnr" in metrics
    run = Path(cfg.paths.output_dir)
    [table] = run_compare([run], ["model"], ["degradation.sigma"], ["test/set12/psnr"],
                          tmp_path / "cmp", reference="dncnn_paper")  # fmt: skip
    assert table.cells["DnCNN-S (reported)"]["25"].mean == 30.44
    assert table.cells["BM3D (reported)"]["25"].mean == 29.97
    [differences] = table.differences
    measured = metrics["test/set12/psnr"]
    got = differences.cells["pretrained/dncnn_sigma25 - DnCNN-S"]["25"].value
    assert got == pytest.approx(measured - 30.44)
