"""The real-digits recipes on a tiny MNIST test-split fixture (no train files): the digit
feature net, the real-vs-real floor, and what metrics.json records about every number."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from regenlab.metrics.generative import file_sha256
from regenlab.train import train
from tests.data.conftest import pixels, write_idx

TINY = ["data.split_sizes=[40,10,10]", "data.batch_size=10"]


@pytest.fixture
def t10k_root(tmp_path):
    raw = tmp_path / "digits" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_idx(raw / "t10k-images-idx3-ubyte", pixels(60, 28, 28))
    write_idx(raw / "t10k-labels-idx1-ubyte", np.arange(60, dtype=np.uint8) % 10)
    return raw.parents[1]


def test_feature_net_then_real_data_floor_record_hash_protocol_and_split(make_cfg, t10k_root):
    root = f"paths.mnist_root={t10k_root}"
    net = make_cfg("experiment=feature_net", "data=mnist_digits", root, *TINY,
                   "trainer.max_steps=5", "model.net.width=4", "model.net.dim=16",
                   subdir="net")  # fmt: skip
    train(net)
    path = t10k_root.parent / "data" / "feature_nets" / "mnist_digits.pt"  # REGENLAB_ROOT
    record = json.loads((t10k_root.parent / "net" / "metrics.json").read_text())
    assert record["feature_net"] == {"path": str(path), "sha256": file_sha256(path)}
    split = record["data_split"]
    assert split["source"] == "test" and split["sizes"] == [40, 10, 10] and split["seed"] == 0
    assert 0 <= record["test/accuracy"] <= 1
    saved = torch.load(path, weights_only=True)["state_dict"]  # the tested (best) weights
    best = torch.load(t10k_root.parent / "net" / record["best_checkpoint"], weights_only=True)
    assert all(torch.equal(v, best["state_dict"][f"net.{k}"]) for k, v in saved.items())

    floor = make_cfg("experiment=real_digits_floor", root, *TINY, subdir="floor")
    metrics = train(floor)
    names = ("fid", "kid", "precision", "recall", "density", "coverage", "class_coverage")
    assert {f"test/{k}" for k in names} <= metrics.keys()
    saved = json.loads((t10k_root.parent / "floor" / "metrics.json").read_text())
    protocol = saved["protocol"]["test/fid"]
    assert protocol["extractor_sha256"] == file_sha256(path)
    assert protocol["num_real"] == protocol["num_fake"] == 10  # the 10 test digits
    assert protocol["reference"]["split"] == "test"
    assert protocol["reference"]["split_indices_sha256"] == split["indices_sha256"]
    assert set(saved["protocol"]) == {f"test/{k}" for k in names} | {"test/kid_std"}
    assert saved["data_split"] == split  # the same digits as the feature net's run


def test_mnist_recipes_without_a_root_say_which_key_to_set(make_cfg):
    cfg = make_cfg("experiment=vae_mnist", "model.metrics=null", "debug=fast_dev_run")
    with pytest.raises(Exception, match=r"no MNIST root is set: .*paths.mnist_root=<dir>"):
        train(cfg)


@pytest.mark.parametrize("recipe", ["dcgan_mnist", "wgan_gp_mnist", "vae_mnist"])
def test_digit_recipes_train_and_write_their_sample_grid(make_cfg, t10k_root, tmp_path, recipe):
    cfg = make_cfg(f"experiment={recipe}", f"paths.mnist_root={t10k_root}", *TINY,
                   "model.metrics=null", "trainer.max_steps=2")  # fmt: skip
    assert str(cfg.trainer.precision) in ("bf16-mixed", "32")  # GANs: by native bf16
    metrics = train(cfg)
    assert (tmp_path / "images" / "samples.png").is_file()
    gan = recipe != "vae_mnist"
    assert ("ema" in cfg.callbacks) == gan  # G-EMA: the GAN recipes average the generator
    if gan:  # best.ckpt: the generator averaged, the critic as it trained
        best = torch.load(tmp_path / "checkpoints" / "best.ckpt", weights_only=True)
        averaged, raw = best["state_dict"], best["current_model_state"]
        differs = {k.split(".")[0] for k in raw if not torch.equal(raw[k], averaged[k])}
        assert differs == {"generator"}
    else:
        assert "test/nll_iw50" in metrics
