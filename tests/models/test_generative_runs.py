"""Each generative method trains through the real config, Trainer and files on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from regenlab.metrics.generative import DomainFeatures
from regenlab.train import train

SMALL = [
    "data.dataset.length=256",
    "data.dataset.test_length=64",
    "data.val_size=64",
    "data.batch_size=32",
]


@pytest.fixture(scope="module")
def feature_net(tmp_path_factory):
    """A domain classifier trained briefly by the real recipe (experiment=feature_net_shapes)."""
    from tests.conftest import QUICK, compose_config

    out = tmp_path_factory.mktemp("feature_net")
    path = out / "shapes.pt"
    recipe = ["experiment=feature_net_shapes", "trainer.max_steps=8", f"model.save_path={path}"]
    cfg = compose_config("train", out, [*QUICK, *recipe, *SMALL])
    metrics = train(cfg)
    assert "test/accuracy" in metrics and (out / "feature_net.pt").is_file()
    return path


def test_feature_net_loads_as_an_extractor(feature_net):
    features = DomainFeatures(feature_net)
    out = features(torch.rand(5, 3, 32, 32))
    assert out.shape == (5, features.num_features) and not features.training


@pytest.mark.parametrize("method", ["dcgan", "wgan_gp", "vae"])
def test_fast_dev_run_with_sample_metrics(make_cfg, method, feature_net, tmp_path):
    cfg = make_cfg(f"experiment={method}", "debug=fast_dev_run", *SMALL,
                   f"model.metrics.features.path={feature_net}")  # fmt: skip
    metrics = train(cfg)
    assert {"test/fid", "test/kid", "test/class_coverage"} <= metrics.keys()
    grids = {"samples"} | ({"reconstructions", "interpolations"} if method == "vae" else set())
    assert {p.stem for p in (tmp_path / "images").glob("*.png")} == grids  # the tested weights'
    with Image.open(tmp_path / "images" / "samples.png") as png:
        assert png.size[0] == 8 * (cfg.data.size + 2) + 2  # 8 per row, 2-pixel padding
    if method == "vae":
        assert metrics["test/nll_iw64"] <= -metrics["test/elbo"] + 1e-3


def test_short_gan_run_logs_sample_grid_and_wasserstein(make_cfg, tmp_path):
    cfg = make_cfg("experiment=wgan_gp", "debug=limit", "model.metrics=null", *SMALL,
                   "trainer.max_steps=6", "model.critic_steps=2",
                   "model.generator.width=8", "model.critic.width=8")  # fmt: skip
    train(cfg)
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"images": 0}).Reload()
    assert {"train/critic_wasserstein", "train/critic_gradient_penalty"} <= set(
        events.Tags()["scalars"]
    )
    assert "images/samples" in events.Tags()["images"]
    # scalars and grids share the generator-step axis: 12 batches are 6 generator steps
    steps = {e.step for tag in events.Tags()["scalars"] for e in events.Scalars(tag)}
    assert steps == set(range(6)), steps  # each logged before its generator step
    assert max(e.step for e in events.Images("images/samples")) == 6
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert (tmp_path / saved["best_checkpoint"]).is_file()  # no monitor: the latest one
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()


def test_checkpoints_leave_out_the_feature_extractor(make_cfg, tmp_path, feature_net):
    cfg = make_cfg("experiment=dcgan", "debug=limit", *SMALL, "trainer.max_steps=2",
                   "trainer.limit_train_batches=2", f"model.metrics.features.path={feature_net}",
                   "model.generator.width=8", "model.critic.width=8")  # fmt: skip
    train(cfg)  # tests the best checkpoint, so loading works without the extractor
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert state and not any(k.startswith("metrics.") for k in state)


def test_a_second_run_on_the_same_data_reuses_the_cached_real_features(make_cfg, feature_net):
    args = ["experiment=vae", "debug=fast_dev_run", *SMALL,
            f"model.metrics.features.path={feature_net}"]  # fmt: skip
    first_cfg = make_cfg(*args, subdir="first")
    cache = Path(first_cfg.model.metrics.cache_dir)
    first = train(first_cfg)
    entries = {p: p.stat().st_mtime_ns for p in cache.glob("*.pt")}
    assert len(entries) == 2  # val and test
    second = train(make_cfg(*args, subdir="second"))
    assert {p: p.stat().st_mtime_ns for p in cache.glob("*.pt")} == entries  # read, not rewritten
    assert second["test/fid"] == pytest.approx(first["test/fid"], rel=1e-5)


def test_ema_of_the_weights_is_what_checkpoints_and_test_use(make_cfg, tmp_path):
    cfg = make_cfg("experiment=dcgan", "debug=limit", "model.metrics=null", *SMALL,
                   "trainer.max_steps=3", "model.generator.width=8", "model.critic.width=8",
                   "+callbacks@callbacks.ema=ema", "callbacks.ema.decay=0.5")  # fmt: skip
    train(cfg)
    saved = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    # the averaged weights are the checkpoint's state_dict, updated once per generator step
    assert "current_model_state" in saved and saved["averaging_state"]["n_averaged"] == 3
    # of the generator only (G-EMA): the critic is saved as it trained (it was averaged too)
    average, raw = saved["state_dict"], saved["current_model_state"]
    assert average.keys() == raw.keys()
    for part, averaged in (("generator.", True), ("critic.", False)):
        keys = [k for k in raw if k.startswith(part) and raw[k].is_floating_point()]
        assert keys and any(not torch.equal(average[k], raw[k]) for k in keys) == averaged, part


def test_the_sanity_check_batch_is_not_cached_as_the_val_images(make_cfg, feature_net):
    cfg = make_cfg("experiment=dcgan", *SMALL, "trainer.max_steps=8",
                   "trainer.num_sanity_val_steps=1", "model.generator.width=8",
                   "model.critic.width=8",
                   f"model.metrics.features.path={feature_net}")  # fmt: skip
    train(cfg)  # 8 steps = one epoch, then validation: 64 val images in 2 batches
    entries = list(Path(cfg.model.metrics.cache_dir).glob("*.pt"))
    assert len(entries) == 2  # val and test
    for entry in entries:  # all 64 real images each (val held the sanity check's 32)
        assert len(torch.load(entry, weights_only=True)["kid_real_features"]) == 64
