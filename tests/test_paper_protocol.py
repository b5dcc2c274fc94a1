"""The paper_dncnn_* experiments reproduce the papers' data-only rows (bicubic, JPEG) on tiny
fixtures in the benchmark layout, checked against PIL (MATLAB's bicubic kernel, libjpeg)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from PIL import Image
from skimage import data

from regenlab.errors import UserError
from regenlab.train import train
from regenlab.utils.config import CONF_DIR

FAST = ["model=classical/identity", "train=false", "data.images.val_count=1"]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255**2 / np.mean((a.astype(float) - b.astype(float)) ** 2)))


def matlab_y(rgb: np.ndarray) -> np.ndarray:
    """rgb2ycbcr's Y of a uint8 image, as uint8."""
    y = 16 + (rgb.astype(float) @ np.array([65.481, 128.553, 24.966])) / 255
    return np.round(y).astype(np.uint8)


@pytest.fixture
def benchmarks(tmp_path: Path) -> Path:
    """The layout of the published sets: train400/ (gray), set5/ (RGB), classic5/ (gray)."""
    root = tmp_path / "benchmarks"
    for name in ("train400", "set12", "set5", "classic5"):
        (root / name).mkdir(parents=True)
    camera, astronaut = data.camera(), data.astronaut()
    for i in range(3):
        Image.fromarray(camera[i * 100 : i * 100 + 48, 200:248]).save(
            root / "train400" / f"{i}.png"
        )
    for i, (h, w) in enumerate([(98, 103), (90, 90)]):  # not multiples of 4: cropped first
        crop = astronaut[40 + 60 * i : 40 + 60 * i + h, 150 : 150 + w]
        Image.fromarray(crop).save(root / "set5" / f"im{i}.png")
    for i in range(2):
        crop = Image.fromarray(camera[250 : 250 + 80, 100 * i : 100 * i + 96])
        crop.save(root / "classic5" / f"im{i}.png")
        crop.save(root / "set12" / f"{i + 1:02d}.png")
    return root


def test_sr_bicubic_row_is_matlab_imresize_on_y(make_cfg, benchmarks):
    scale = 4
    metrics = train(make_cfg("experiment=paper_dncnn_sr", f"paths.benchmarks={benchmarks}",
                             f"degradation.scale={scale}", *FAST))  # fmt: skip
    expected = []
    for path in sorted((benchmarks / "set5").glob("*.png")):
        rgb = np.asarray(Image.open(path))
        h, w = (n - n % scale for n in rgb.shape[:2])
        y = Image.fromarray(matlab_y(rgb[:h, :w]))
        bicubic = y.resize((w // scale, h // scale), Image.BICUBIC).resize((w, h), Image.BICUBIC)
        b = slice(scale, -scale)
        expected.append(psnr(np.asarray(y)[b, b], np.asarray(bicubic)[b, b]))
    assert metrics["test/set5/psnr"] == pytest.approx(np.mean(expected), abs=0.02)  # torch: +0.13
    assert metrics["test/set5/psnr_input"] == metrics["test/set5/psnr"]


@pytest.mark.parametrize("quality", [10, 40])
def test_jpeg_row_is_libjpeg_at_quality_q(make_cfg, benchmarks, quality):
    metrics = train(make_cfg("experiment=paper_dncnn_jpeg", f"paths.benchmarks={benchmarks}",
                             f"degradation.quality={quality}", *FAST))  # fmt: skip
    expected = []
    for path in sorted((benchmarks / "classic5").glob("*.png")):
        image, buffer = Image.open(path), io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        expected.append(psnr(np.asarray(image), np.asarray(Image.open(buffer))))
    assert metrics["test/classic5/psnr"] == pytest.approx(np.mean(expected), abs=1e-4)


RECIPES = {"set12_denoise": "set12", "set5_sr_x4": "set5", "classic5_jpeg_q10": "classic5"}
# what is measured (degradation.upsample is the shape of the net's input, not the protocol)
PROTOCOL = ["degradation._target_", "degradation.sigma", "degradation.scale",
            "degradation.kernel", "degradation.quantize", "degradation.quality", "test_sets",
            "data.gray", "data.channels", "data.images.root",
            "data.multiple_of", "model.crop_border", "model.y_channel"]  # fmt: skip


@pytest.mark.parametrize("recipe", RECIPES)
def test_cpu_recipes_train_and_test_on_their_paper_set(make_cfg, benchmarks, recipe):
    """Each recipe is one job (not the paper's sweep) that trains and tests on its set; its
    GPU-scale sibling measures the same thing (data, degradation, metric protocol)."""
    cpu, gpu = (make_cfg(f"experiment={recipe}_{kind}", f"paths.benchmarks={benchmarks}",
                         quick=kind == "cpu") for kind in ("cpu", "gpu"))  # fmt: skip
    for key in PROTOCOL:
        assert OmegaConf.select(cpu, key) == OmegaConf.select(gpu, key), key
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        hydra_cfg = compose("train", [f"experiment={recipe}_cpu"], return_hydra_config=True)
    assert hydra_cfg.hydra.mode.name == "RUN" and hydra_cfg.hydra.sweeper.params is None
    tiny = ["trainer.max_steps=2", "data.batch_size=2", "data.crop_size=32",
            "data.images.val_count=1", "trainer.precision=32"]  # fmt: skip
    metrics = train(make_cfg(f"experiment={recipe}_cpu", f"paths.benchmarks={benchmarks}", *tiny))
    assert metrics[f"test/{RECIPES[recipe]}/psnr"] > 0


def test_paper_experiments_say_which_key_to_set(make_cfg):
    with pytest.raises(UserError, match=r"paths\.benchmarks is not set.*paths\.benchmarks=/"):
        train(make_cfg("experiment=paper_dncnn_denoise", *FAST))


def test_an_unknown_gray_conversion_is_a_config_error():
    from regenlab.data.images import to_tensor
    from regenlab.errors import ConfigError

    with pytest.raises(ConfigError, match=r"data\.gray must be one of luma, y"):
        to_tensor(data.astronaut()[:8, :8], 1, gray="hsv")
