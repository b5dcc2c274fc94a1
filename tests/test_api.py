"""The Python API: ``import regenlab`` is cheap, and each entry point runs through the
package namespace on a tiny run."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import regenlab
from tests.conftest import QUICK


def test_import_regenlab_loads_no_torch_or_lightning():
    probe = (
        "import sys, regenlab; regenlab.compose; regenlab.evaluate; regenlab.restore; "
        "print(sorted(m for m in ('torch', 'lightning', 'pandas', 'hydra') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.fixture
def clear_hydra():
    yield
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()


@pytest.mark.slow
def test_entry_points_through_the_package(tmp_path, clear_hydra):
    run = tmp_path / "run"
    cfg = regenlab.compose([*QUICK, "debug=limit", "trainer.max_steps=2",
                            "trainer.limit_train_batches=2", "model.net.width=4",
                            "data.crop_size=16", "data.eval_crop=16"], run)  # fmt: skip
    assert cfg.paths.output_dir == str(run)
    metrics = regenlab.train(cfg)
    assert "test/psnr" in metrics and (run / "metrics.json").is_file()
    assert callable(regenlab.train.main)  # still the module of regenlab-train

    again, _ = regenlab.evaluate(run, out=str(tmp_path / "eval"))
    assert again["test/psnr"] == pytest.approx(metrics["test/psnr"], abs=1e-4)

    photo = tmp_path / "in" / "a.png"
    photo.parent.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (20, 24), np.uint8)).save(photo)
    written, failed = regenlab.restore(run, photo.parent, tmp_path / "restored", device="cpu")
    assert failed == [] and [p.name for p in written] == ["a.png"]

    [table] = regenlab.compare([run], metrics=["test/psnr"], out=tmp_path / "cmp")
    assert table.cells[table.rows[0]]["value"].mean == pytest.approx(metrics["test/psnr"])
    assert (tmp_path / "cmp" / "test_psnr.md").is_file()

    pytest.importorskip("pandas")
    frame = regenlab.load_runs([run])
    assert frame["test/psnr"].tolist() == pytest.approx([metrics["test/psnr"]])
    assert frame.equals(regenlab.compare.load_runs([run]))
