"""FID/KID over the offline domain extractor: self-distance ~0, other sets farther;
precision/recall/density/coverage on hand-computable point sets; the protocol record."""

from __future__ import annotations

import pytest
import torch

from regenlab.data.shapes import ShapesDataset
from regenlab.errors import UserError
from regenlab.metrics.generative import (
    DomainFeatures,
    GenerativeMetrics,
    InceptionFeatures,
    file_sha256,
    manifold_metrics,
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
    with pytest.raises(UserError, match="experiment=feature_net data="):
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


def points(*xs: float) -> torch.Tensor:
    """1-D features (N, 1): distances are plain differences, so every radius is by hand."""
    return torch.tensor(xs, dtype=torch.float64)[:, None]


PAIRS = points(0, 1, 10, 11)  # each point's nearest other point is 1 away


@pytest.mark.parametrize("batch_size", [1, 3, 1024])
def test_manifold_metrics_by_hand(batch_size):
    """k=1 radii of the reals {0, 1, 10, 11} are all 1; fakes {0.5, 100, 101, 102} have
    radii 99.5, 1, 1, 1. Only 0.5 lies in a real ball (of 0 and of 1): precision 1/4,
    density 2 / (1 * 4), coverage 2/4; every real lies in 0.5's huge ball: recall 1 (the
    outlier sensitivity that density and coverage were made to fix)."""
    fake = points(0.5, 100, 101, 102)
    got = manifold_metrics(PAIRS, fake, k_pr=1, k_dc=1, batch_size=batch_size)
    expected = {"precision": 0.25, "recall": 1.0, "density": 0.5, "coverage": 0.5}
    assert {k: v.item() for k, v in got.items()} == expected


def test_identical_sets_score_one_and_far_disjoint_sets_zero():
    real = torch.randn(64, 8, generator=torch.Generator().manual_seed(0))
    same = manifold_metrics(real, real.clone())
    assert same["precision"] == same["recall"] == same["coverage"] == 1
    assert 0.8 < same["density"] < 1.2  # 1 in expectation for identical distributions
    far = manifold_metrics(real, real + 1e3)
    assert all(v == 0 for v in far.values())
    exact = manifold_metrics(PAIRS, PAIRS.clone(), k_pr=1, k_dc=1)  # by hand: all 1
    assert all(v == 1 for v in exact.values())


def test_too_few_images_for_k_give_nan_not_an_error():
    got = manifold_metrics(points(0, 1, 2), points(0, 1, 2))  # k=3 needs 4 per set
    assert all(v.isnan() for v in got.values())


def test_protocol_names_counts_extractor_hash_sizes_and_version(extractor):
    import torchmetrics

    metrics = GenerativeMetrics(extractor, 50)
    metrics.reference = {"split": "test"}
    real = shapes(0, n=40)
    metrics.update(real, shapes(1, n=40))
    values = metrics.compute()
    assert {"precision", "recall", "density", "coverage"} <= set(values)
    protocol = metrics.protocol()
    assert protocol["num_real"] == protocol["num_fake"] == 40
    assert protocol["extractor"] == "DomainFeatures" and protocol["reference"] == {"split": "test"}
    assert protocol["extractor_sha256"] == extractor.sha256 and len(extractor.sha256) == 64
    assert protocol["image_size"] == [3, 32, 32] and protocol["resize"] == "none"
    assert (
        protocol["torchmetrics"] == torchmetrics.__version__ and protocol["kid_subset_size"] == 40
    )


def test_saving_a_feature_net_returns_its_file_hash(tmp_path):
    path = tmp_path / "net.pt"
    digest = save_feature_net(SmallConvNet(width=4, dim=8), path)
    assert digest == file_sha256(path) == DomainFeatures(path).sha256
