"""regenlab-predict: the user's own images, same names and bit depth, inputs never touched."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from regenlab.data.images import bit_depth
from regenlab.errors import UserError
from regenlab.predict import restore_images
from regenlab.train import train
from tests.conftest import run_cli


@pytest.fixture
def run_dir(make_cfg, tmp_path):
    train(make_cfg("debug=limit", "trainer.max_steps=2", "trainer.limit_train_batches=2",
                   "model.net.width=4", "data.crop_size=16", "data.eval_crop=16"))  # fmt: skip
    return tmp_path


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 50), dtype=np.uint8)).save(folder / "a.png")
    Image.fromarray(rng.integers(0, 65535, (30, 20), dtype=np.uint16)).save(folder / "sub/b.png")
    return folder


def test_restores_a_folder_keeping_names_sizes_and_bit_depth(run_dir, photos, tmp_path):
    out = tmp_path / "restored"
    written = restore_images(str(run_dir), str(photos), str(out), tile=16, tile_overlap=4)
    assert sorted(p.relative_to(out).as_posix() for p in written) == ["a.png", "sub/b.png"]
    assert Image.open(out / "a.png").size == (50, 40) and bit_depth(out / "a.png") == 8
    assert Image.open(out / "sub/b.png").size == (20, 30) and bit_depth(out / "sub/b.png") == 16


def test_refuses_to_overwrite_inputs(run_dir, photos):
    before = (photos / "a.png").read_bytes()
    with pytest.raises(UserError, match="would overwrite the inputs"):
        restore_images(str(run_dir), str(photos), str(photos))
    assert (photos / "a.png").read_bytes() == before


@pytest.mark.slow
def test_cli_restores_a_single_image(run_dir, photos, tmp_path):
    result = run_cli("regenlab-predict", f"run_dir={run_dir}", f"input={photos}/a.png",
                     f"output={tmp_path}/one", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "one" / "a.png").is_file() and "wrote 1 image" in result.stdout
