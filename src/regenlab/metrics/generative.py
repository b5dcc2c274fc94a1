"""FID, KID, precision/recall, density/coverage and class coverage of generated images,
over a pluggable feature extractor.

Two extractors: a small domain classifier that regenlab trains itself (fully offline,
``experiment=feature_net``), or Inception-v3 from a local weights file for numbers
comparable with CIFAR-style papers. Numbers from different extractors are not comparable,
nor are numbers over different counts of images: each number is logged with its protocol.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import torch
import torchmetrics
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from regenlab.errors import UserError
from regenlab.nets.classifier import SmallConvNet

log = logging.getLogger(__name__)


# 2: entries of format 1 (no key) may hold only the sanity check's val batch: never read
CACHE_FORMAT = 2
FID_LIKE = ("fid", "kid", "kid_std", "precision", "recall", "density", "coverage", "class_coverage")


def file_sha256(path: Path) -> str:
    """Content hash: a retrained extractor (same path, new weights) gets new cache entries,
    and every number it measured names the weights it used."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_feature_net(net: SmallConvNet, path: str | Path) -> str:
    """Weights plus constructor args: everything ``DomainFeatures`` needs, tensors only.
    Returns the file's sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"config": net.config, "state_dict": net.state_dict()}, tmp)
    tmp.replace(path)
    return file_sha256(path)


def knn_radii(x: Tensor, k: int, batch_size: int = 1024) -> Tensor:
    """(N, D) -> (N,): each row's distance to its k-th nearest other row."""
    return torch.cat(
        [torch.cdist(rows, x).kthvalue(k + 1, dim=1).values for rows in x.split(batch_size)]
    )


def inside_counts(queries: Tensor, points: Tensor, radii: Tensor, batch_size: int = 1024) -> Tensor:
    """(Q,): for each query, how many ``points`` p have it strictly inside their ball
    (``||q - p|| < radii[p]``); rows are done ``batch_size`` at a time to bound memory."""
    return torch.cat(
        [(torch.cdist(rows, points) < radii).sum(dim=1) for rows in queries.split(batch_size)]
    )


def manifold_metrics(
    real: Tensor, fake: Tensor, k_pr: int = 3, k_dc: int = 5, batch_size: int = 1024
) -> dict[str, Tensor]:
    """Precision and recall (Kynkaanniemi et al. 2019, k=3) and density and coverage
    (Naeem et al. 2020, k=5) of (N, D) fake vs (M, D) real features, with the strict ``<``
    of Naeem et al.'s reference code (``prdc``). Precision: share of fakes inside some
    real's k-NN ball; recall: share of reals inside some fake's ball; density: mean count
    of real balls holding a fake, / k; coverage: share of reals whose ball holds a fake."""
    if min(len(real), len(fake)) <= max(k_pr, k_dc):
        nan = torch.tensor(float("nan"))
        return dict.fromkeys(("precision", "recall", "density", "coverage"), nan)
    real, fake = real.double(), fake.double()
    real_pr, fake_pr = knn_radii(real, k_pr, batch_size), knn_radii(fake, k_pr, batch_size)
    real_dc = knn_radii(real, k_dc, batch_size)
    nearest_fake = torch.cat(
        [torch.cdist(r, fake).min(dim=1).values for r in real.split(batch_size)]
    )
    return {
        "precision": (inside_counts(fake, real, real_pr, batch_size) > 0).double().mean(),
        "recall": (inside_counts(real, fake, fake_pr, batch_size) > 0).double().mean(),
        "density": inside_counts(fake, real, real_dc, batch_size).sum() / (k_dc * len(fake)),
        "coverage": (nearest_fake < real_dc).double().mean(),
    }


class DomainFeatures(nn.Module):
    """Penultimate features of a regenlab-trained classifier, loaded from ``path``."""

    def __init__(self, path: str | Path):
        super().__init__()
        path = Path(path)
        if not path.is_file():
            raise UserError(
                f"feature extractor {path} not found; train it first with "
                f"`regenlab-train experiment=feature_net data=<this data>` (it writes that file)"
            )
        saved = torch.load(path, map_location="cpu", weights_only=True)
        self.net = SmallConvNet(**saved["config"])
        self.net.load_state_dict(saved["state_dict"])
        self.eval().requires_grad_(False)
        self.num_features = saved["config"]["dim"]
        self.num_classes = saved["config"]["num_classes"]
        self.sha256 = file_sha256(path)
        self.fingerprint = f"domain-{self.sha256[:16]}"
        self.resize = "none"  # images enter at the data's size

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
        self.sha256 = file_sha256(path)
        self.fingerprint = f"inception-{self.sha256[:16]}"
        self.resize = "bilinear to 299x299 (torch-fidelity), gray repeated to RGB"

    def forward(self, x: Tensor) -> Tensor:
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
        return self.net((x.clamp(0, 1) * 255).to(torch.uint8))


class GenerativeMetrics(nn.Module):
    """FID, KID, precision/recall and density/coverage of fake vs real images (both
    (B, C, H, W) in [0, 1]), all over the same features; class coverage when the extractor
    is a classifier. ``protocol()`` says what the numbers were measured over.

    The real images of a split are the same every epoch, so their features are computed
    once (the first epoch) and kept across ``reset``; use one instance per split. With a
    ``cache_dir`` they are also kept on disk, keyed by the data and the extractor's weights
    (``use_cache``), so later runs on the same data skip them.
    """

    def __init__(
        self,
        features: nn.Module,
        kid_subset_size: int = 100,
        cache_dir: str | None = None,
        k_precision_recall: int = 3,
        k_density_coverage: int = 5,
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
        self.k_pr, self.k_dc = k_precision_recall, k_density_coverage
        self.classifier = features if hasattr(features, "classify") else None
        self.class_counts: Tensor | None = None
        self.image_size: list[int] = []
        self.counts: dict[str, int] = {}
        self.reference: dict[str, Any] = {}  # which real images: split, data (the module sets it)

    def update(self, real: Tensor, fake: Tensor) -> None:
        self.image_size = list(fake.shape[1:])
        for metric in (self.fid, self.kid):
            if not self.real_cached:
                metric.update(real, real=True)
            metric.update(fake, real=False)
        if self.classifier is not None:
            labels = self.classifier.classify(fake)
            counts = torch.bincount(labels, minlength=self.classifier.num_classes)
            self.class_counts = counts if self.class_counts is None else self.class_counts + counts

    def compute(self) -> dict[str, Tensor]:
        real, fake = torch.cat(self.kid.real_features), torch.cat(self.kid.fake_features)
        self.kid.subset_size = min(self.kid_subset_size, len(real), len(fake))  # KID: <= samples
        kid_mean, kid_std = self.kid.compute()
        out = {"fid": self.fid.compute(), "kid": kid_mean, "kid_std": kid_std}
        out |= manifold_metrics(real, fake, self.k_pr, self.k_dc)
        self.counts = {"num_real": len(real), "num_fake": len(fake)}
        if self.class_counts is not None:
            share = self.class_counts.float() / self.class_counts.sum()
            out["class_coverage"] = (share >= 0.5 / len(share)).float().mean()
            out |= {f"class_share/{i}": s for i, s in enumerate(share)}
        return out

    def protocol(self) -> dict[str, Any]:
        """What the last ``compute`` measured over: a number is comparable only with numbers
        of the same protocol (same image counts, real images, extractor weights, sizes)."""
        features = self.fid.inception
        return {
            **self.counts,
            "reference": self.reference,
            "extractor": type(features).__name__,
            "extractor_sha256": getattr(features, "sha256", None),
            "image_size": self.image_size,
            "resize": getattr(features, "resize", None),
            "kid_subset_size": self.kid.subset_size,
            "k_precision_recall": self.k_pr,
            "k_density_coverage": self.k_dc,
            "torchmetrics": torchmetrics.__version__,
        }

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
        data = {**data, "format": CACHE_FORMAT}
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
