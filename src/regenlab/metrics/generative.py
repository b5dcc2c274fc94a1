"""FID, KID and class coverage of generated images, over a pluggable feature extractor.

Two extractors: a small domain classifier that regenlab trains itself (fully offline,
``experiment=feature_net_shapes``), or Inception-v3 from a local weights file for numbers
comparable with CIFAR-style papers. Numbers from different extractors are not comparable.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from regenlab.errors import UserError
from regenlab.nets.classifier import SmallConvNet

log = logging.getLogger(__name__)


def file_digest(path: Path) -> str:
    """Content hash: a retrained extractor (same path, new weights) gets new cache entries."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def save_feature_net(net: SmallConvNet, path: str | Path) -> None:
    """Weights plus constructor args: everything ``DomainFeatures`` needs, tensors only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"config": net.config, "state_dict": net.state_dict()}, tmp)
    tmp.replace(path)


class DomainFeatures(nn.Module):
    """Penultimate features of a regenlab-trained classifier, loaded from ``path``."""

    def __init__(self, path: str | Path):
        super().__init__()
        path = Path(path)
        if not path.is_file():
            raise UserError(
                f"feature extractor {path} not found; train it first with "
                f"`regenlab-train experiment=feature_net_shapes` (it writes that file)"
            )
        saved = torch.load(path, map_location="cpu", weights_only=True)
        self.net = SmallConvNet(**saved["config"])
        self.net.load_state_dict(saved["state_dict"])
        self.eval().requires_grad_(False)
        self.num_features = saved["config"]["dim"]
        self.num_classes = saved["config"]["num_classes"]
        self.fingerprint = f"domain-{file_digest(path)}"

    def train(self, mode: bool = True) -> DomainFeatures:
        return super().train(False)  # frozen: BatchNorm must keep its statistics

    def forward(self, x: Tensor) -> Tensor:
        return self.net.features(x)

    def classify(self, x: Tensor) -> Tensor:
        return self.net(x).argmax(dim=1)


class InceptionFeatures(nn.Module):
    """FID's Inception-v3 pool features (torch-fidelity port) from a local weights file,
    so nothing is downloaded at run time. Gray images are repeated to 3 channels."""

    num_features = 2048

    def __init__(self, path: str | Path):
        super().__init__()
        path = Path(path)
        if not path.is_file():
            raise UserError(
                f"Inception weights {path} not found; download "
                "pt_inception-2015-12-05-6726825d.pth (torch-fidelity releases) once and put it "
                "there, or use the offline extractor: model/metrics=domain"
            )
        try:
            from torchmetrics.image.fid import NoTrainInceptionV3

            net = NoTrainInceptionV3(
                name="inception-v3-compat", features_list=["2048"],
                feature_extractor_weights_path=str(path),
            )  # fmt: skip
        except (ImportError, ModuleNotFoundError) as exc:
            raise UserError(
                f"Inception features need torch-fidelity: pip install -e '.[inception]' ({exc})"
            ) from None
        self.net = net
        self.fingerprint = f"inception-{file_digest(path)}"

    def forward(self, x: Tensor) -> Tensor:
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
        return self.net((x.clamp(0, 1) * 255).to(torch.uint8))


class GenerativeMetrics(nn.Module):
    """FID and KID of fake vs real images (both (B, C, H, W) in [0, 1]); class coverage
    when the extractor is a classifier.

    The real images of a split are the same every epoch, so their features are computed
    once (the first epoch) and kept across ``reset``; use one instance per split. With a
    ``cache_dir`` they are also kept on disk, keyed by the data and the extractor's weights
    (``use_cache``), so later runs on the same data skip them.
    """

    def __init__(
        self, features: nn.Module, kid_subset_size: int = 100, cache_dir: str | None = None
    ):
        super().__init__()
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.cache_file: Path | None = None
        self.fid = FrechetInceptionDistance(
            feature=features, normalize=True, reset_real_features=False
        )
        self.kid = KernelInceptionDistance(
            feature=features, normalize=True, subset_size=kid_subset_size,
            reset_real_features=False,
        )  # fmt: skip
        self.real_cached = False
        self.kid_subset_size = kid_subset_size
        self.classifier = features if hasattr(features, "classify") else None
        self.class_counts: Tensor | None = None

    def update(self, real: Tensor, fake: Tensor) -> None:
        for metric in (self.fid, self.kid):
            if not self.real_cached:
                metric.update(real, real=True)
            metric.update(fake, real=False)
        if self.classifier is not None:
            labels = self.classifier.classify(fake)
            counts = torch.bincount(labels, minlength=self.classifier.num_classes)
            self.class_counts = counts if self.class_counts is None else self.class_counts + counts

    def compute(self) -> dict[str, Tensor]:
        n = min(sum(map(len, self.kid.real_features)), sum(map(len, self.kid.fake_features)))
        self.kid.subset_size = min(self.kid_subset_size, n)  # KID needs subset <= samples
        kid_mean, kid_std = self.kid.compute()
        out = {"fid": self.fid.compute(), "kid": kid_mean, "kid_std": kid_std}
        if self.class_counts is not None:
            share = self.class_counts.float() / self.class_counts.sum()
            out["class_coverage"] = (share >= 0.5 / len(share)).float().mean()
            out |= {f"class_share/{i}": s for i, s in enumerate(share)}
        return out

    def reset(self) -> None:
        """Forget the fakes; the real statistics stay (see the class docstring)."""
        if not self.real_cached and self.cache_file is not None:
            self.save_real_features(self.cache_file)
        self.fid.reset()
        self.kid.reset()
        self.class_counts = None
        self.real_cached = True

    def use_cache(self, data: dict[str, Any]) -> None:
        """Key the on-disk cache by ``data`` (what identifies the real images: dataset,
        split, sizes, seeds, limits) and the extractor; load the entry if it exists."""
        fingerprint = getattr(self.fid.inception, "fingerprint", None)
        if self.cache_dir is None or fingerprint is None:
            return
        key = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
        self.cache_file = self.cache_dir / f"{fingerprint}-{key[:16]}.pt"
        if self.cache_file.is_file() and not self.real_cached:
            saved = torch.load(self.cache_file, map_location="cpu", weights_only=True)
            for name in ("real_features_sum", "real_features_cov_sum", "real_features_num_samples"):
                setattr(self.fid, name, saved[name].to(getattr(self.fid, name).device))
            self.kid.real_features = [saved["kid_real_features"]]
            self.real_cached = True
            log.info("real-image features from %s", self.cache_file)

    def save_real_features(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        states = {
            name: getattr(self.fid, name).cpu()
            for name in ("real_features_sum", "real_features_cov_sum", "real_features_num_samples")
        }
        states["kid_real_features"] = torch.cat(self.kid.real_features).cpu()
        tmp = path.with_suffix(".tmp")
        torch.save(states, tmp)
        tmp.replace(path)
