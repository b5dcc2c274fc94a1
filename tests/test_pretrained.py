"""Published weights as a row: a plain state_dict under the authors' key names, loaded
strictly into regenlab's DnCNN and tested like a classical baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from regenlab.errors import UserError
from regenlab.eval import evaluate
from regenlab.nets.dncnn import DnCNN
from regenlab.nets.weights import load_weights_file
from regenlab.train import train
from tests.conftest import run_cli


def authors_dncnn(depth: int = 4, width: int = 8) -> nn.Module:
    """The DnCNN authors' PyTorch layers (cszn/DnCNN): module ``dncnn``, no bias on the last
    conv, BatchNorm eps 1e-4; random BN statistics so that eps and stats matter."""
    layers = [nn.Conv2d(1, width, 3, padding=1), nn.ReLU()]
    for _ in range(depth - 2):
        layers += [nn.Conv2d(width, width, 3, padding=1, bias=False),
                   nn.BatchNorm2d(width, eps=1e-4), nn.ReLU()]  # fmt: skip
    layers.append(nn.Conv2d(width, 1, 3, padding=1, bias=False))
    net = nn.Module()
    net.dncnn = nn.Sequential(*layers)
    torch.manual_seed(0)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(1e-4, 3e-4)  # small: eps 1e-4 vs 1e-5 changes the output
            m.weight.data.uniform_(0.5, 1.5)
    return net.eval()


@pytest.fixture
def weights(tmp_path: Path) -> tuple[Path, nn.Module]:
    net = authors_dncnn()
    path = tmp_path / "dncnn_sigma25.pt"
    torch.save(net.state_dict(), path)
    return path, net


def test_authors_weights_compute_what_the_authors_net_computes(weights):
    path, reference = weights
    net = DnCNN(1, depth=4, width=8, last_bias=False, bn_eps=1e-4).eval()
    load_weights_file(net, path, {"dncnn.": "body."})
    x = torch.rand(2, 1, 24, 24)
    with torch.no_grad():
        assert torch.allclose(net(x), x - reference.dncnn(x), atol=1e-6)
        default_eps = DnCNN(1, depth=4, width=8, last_bias=False).eval()
        load_weights_file(default_eps, path, {"dncnn.": "body."})
        assert not torch.allclose(default_eps(x), net(x), atol=1e-3)


@pytest.mark.parametrize(
    ("net", "key_map", "message"),
    [
        (dict(), {}, "16 missing, e.g. 'body.0.weight'; 15 unexpected, e.g. 'dncnn.0.weight'"),
        (dict(), {"dncnn.": "body."}, "1 missing, e.g. 'body.8.bias'"),  # the last conv's bias
        (dict(last_bias=False, width=16), {"dncnn.": "body."},
         "body.0.weight: file (8, 1, 3, 3) vs net (16, 1, 3, 3)"),
        (dict(last_bias=False, depth=3), {"dncnn.": "body."},
         "body.5.weight: file (8, 8, 3, 3) vs net (1, 8, 3, 3)"),
    ],
)  # fmt: skip
def test_weights_that_do_not_fit_name_a_key(weights, net, key_map, message):
    path, _ = weights
    with pytest.raises(UserError, match="do not fit DnCNN") as error:
        load_weights_file(DnCNN(1, **{"depth": 4, "width": 8, **net}), path, key_map)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_pickled_model_or_a_missing_file_is_refused(tmp_path, weights):
    pickled = tmp_path / "model.pth"
    torch.save(authors_dncnn(), pickled)  # the whole module, as the authors' repo ships it
    with pytest.raises(UserError, match="pickled objects, not a plain state_dict"):
        load_weights_file(DnCNN(1, depth=4, width=8), pickled)
    with pytest.raises(UserError, match="does not exist"):
        load_weights_file(DnCNN(1, depth=4, width=8), tmp_path / "nope.pt")


def test_published_weights_are_tested_like_a_baseline_and_re_evaluated(make_cfg, weights, tmp_path):
    path, _ = weights
    cfg = make_cfg("model=pretrained/dncnn_sigma25", f"model.weights={path}", "train=false",
                   "model.net.depth=4", "model.net.width=8", "data.eval_crop=32",
                   "logger=none")  # fmt: skip
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    assert not list(run.glob("checkpoints/*.ckpt"))  # nothing trained
    record = json.loads((run / "run.json").read_text())
    assert record["choices"]["model"] == "pretrained/dncnn_sigma25"
    assert metrics["test/psnr"] != pytest.approx(metrics["test/psnr_input"], abs=0.1)
    again, out = evaluate(run)  # no checkpoint: the run's config loads the same file
    assert again["test/psnr"] == pytest.approx(metrics["test/psnr"], abs=1e-6)
    assert (out / "per_image.csv").is_file()


def test_wrong_key_map_is_one_line_before_training(tmp_path, weights):
    path, _ = weights
    result = run_cli("regenlab-train", "model=dncnn", f"model.weights={path}",
                     "model.weights_key_map={model.:body.}", "model.net.depth=4",
                     "model.net.width=8", "model.net.last_bias=false", "train=false",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert "missing, e.g. 'body.0.weight'" in lines[-1] and "Traceback" not in result.stderr
