"""FID/KID over the offline domain extractor: self-distance ~0, other sets farther."""

from __future__ import annotations

import pytest
import torch

from regenlab.data.shapes import ShapesDataset
from regenlab.errors import UserError
from regenlab.metrics.generative import (
    DomainFeatures,
    GenerativeMetrics,
    InceptionFeatures,
    save_feature_net,
)
from regenlab.nets.classifier import SmallConvNet


@pytest.fixture(scope="module")
def extractor(tmp_path_factory):
    """A classifier trained for a few steps: its features separate shapes from noise."""
    torch.manual_seed(0)
    net = SmallConvNet(channels=3, num_classes=4, width=8, dim=32)
    data = ShapesDataset(size=32, length=256, seed=5)
    x = torch.stack([data[i][0] for i in range(256)])
    y = torch.tensor([data[i][1] for i in range(256)])
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    for _ in range(30):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    path = tmp_path_factory.mktemp("fx") / "net.pt"
    save_feature_net(net, path)
    return DomainFeatures(path)


def shapes(seed: int, n: int = 128) -> torch.Tensor:
    data = ShapesDataset(size=32, length=n, seed=seed)
    return torch.stack([data[i][0] for i in range(n)])


def test_fid_of_a_set_against_itself_is_zero_and_against_another_larger(extractor):
    real = shapes(0)
    same, other = GenerativeMetrics(extractor, 50), GenerativeMetrics(extractor, 50)
    same.update(real, real)
    other.update(real, torch.rand_like(real))
    a, b = same.compute(), other.compute()
    assert abs(a["fid"].item()) < 1e-3
    assert abs(a["kid"]) < 2 * a["kid_std"]  # KID is unbiased: zero within its spread
    assert b["fid"] > 10 and b["kid"] > 10 * b["kid_std"]
    assert 0 <= b["class_coverage"] <= 1


def test_real_features_are_computed_once_per_split(extractor):
    metrics = GenerativeMetrics(extractor, 50)
    real, fake = shapes(0), shapes(1)
    metrics.update(real, fake)
    first = metrics.compute()["fid"]
    metrics.reset()
    metrics.update(torch.zeros_like(real), fake)  # reals ignored now: cached from epoch one
    assert metrics.compute()["fid"].item() == pytest.approx(first.item(), rel=1e-5)


def test_missing_extractor_files_say_how_to_get_them(tmp_path):
    with pytest.raises(UserError, match="experiment=feature_net_shapes"):
        DomainFeatures(tmp_path / "nope.pt")
    with pytest.raises(UserError, match=r"Inception weights .* not found"):
        InceptionFeatures(tmp_path / "inception.pth")


def test_real_features_are_cached_on_disk_per_data_and_extractor(extractor, tmp_path):
    real, fake = shapes(0), shapes(1)
    first = GenerativeMetrics(extractor, 50, cache_dir=tmp_path)
    first.use_cache({"dataset": "shapes", "split": "test"})
    first.update(real, fake)
    fid = first.compute()["fid"]
    first.reset()  # the end of the first epoch writes the entry
    [entry] = tmp_path.glob("*.pt")
    assert entry.name.startswith(extractor.fingerprint)
    again = GenerativeMetrics(extractor, 50, cache_dir=tmp_path)  # a later run
    again.use_cache({"dataset": "shapes", "split": "test"})
    again.update(torch.zeros_like(real), fake)  # reals come from the cache
    assert again.compute()["fid"].item() == pytest.approx(fid.item(), rel=1e-5)
    other = GenerativeMetrics(extractor, 50, cache_dir=tmp_path)
    other.use_cache({"dataset": "shapes", "split": "val"})
    assert not other.real_cached  # another split: computed afresh
