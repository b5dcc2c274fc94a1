"""Image grids reach every logger that takes images; optional logger packages fail in one line."""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import pytest
import torch
from lightning.pytorch.loggers import CSVLogger, MLFlowLogger, TensorBoardLogger, WandbLogger

from regenlab.callbacks import RestorationGrid, image_writer
from tests.conftest import run_cli


class FakeWandb(WandbLogger):
    """W&B without the package: records what ``log_image`` receives."""

    def __init__(self):
        self.calls = []

    def log_image(self, key, images, step=None, **kwargs):
        self.calls.append((key, tuple(images[0].shape), step))


class FakeMlflowClient:
    def __init__(self):
        self.calls = []

    def log_image(self, run_id, image, artifact_file=None):
        self.calls.append((run_id, image.shape, image.dtype.name, artifact_file))


class FakeMlflow(MLFlowLogger):
    """MLflow without the package: its client records the images."""

    run_id = "run0"

    def __init__(self):
        self.client = FakeMlflowClient()

    @property
    def experiment(self):
        return self.client


def test_restoration_grid_reaches_tensorboard_wandb_and_mlflow_not_csv(tmp_path):
    wandb, mlflow = FakeWandb(), FakeMlflow()
    tensorboard = TensorBoardLogger(tmp_path, name="tb", version="")
    csv = CSVLogger(tmp_path, name="csv", version="")
    assert image_writer(csv) is None  # CSV takes no images: skipped, not an error
    assert image_writer(tensorboard) == tensorboard.experiment.add_image
    trainer = SimpleNamespace(
        is_global_zero=True, sanity_checking=False, global_step=7,
        loggers=[csv, tensorboard, wandb, mlflow],
    )  # fmt: skip
    image = torch.rand(1, 3, 8, 8)
    outputs = {"degraded": image, "restored": image}
    batch = {"clean": image, "name": ["a.png"]}
    RestorationGrid().on_validation_batch_end(trainer, None, outputs, batch, 0)
    tag = "val/degraded_restored_clean/a.png"
    grid_shape = (3, 12, 32)  # three 8x8 images side by side, 2 px padding
    assert wandb.calls == [(tag, grid_shape, 7)]
    assert mlflow.client.calls == [("run0", (12, 32, 3), "uint8", f"{tag}/00000007.png")]
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))


@pytest.mark.parametrize("package", ["mlflow", "wandb"])
def test_a_logger_without_its_package_is_one_line(tmp_path, package):
    if importlib.util.find_spec(package):
        pytest.skip(f"{package} is installed here")
    result = run_cli("regenlab-train", f"logger={package}", "trainer.max_steps=1", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"logger={package} needs the {package} package" in result.stderr
    assert f"pip install -e '.[{package}]'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len([line for line in result.stderr.splitlines() if "error:" in line]) == 1
