"""Full-reference image metrics and the protocol they follow.

Protocol (stated next to every table): the restored image is clipped to [0, 1] and rounded
to 8 bits, as when saved to PNG; PSNR and SSIM (11x11 Gaussian window, sigma 1.5) are
computed per image with data_range 1 over all channels, then averaged over images.
"""

from __future__ import annotations

from torch import Tensor
from torchmetrics import MetricCollection
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure


def to_8bit(x: Tensor) -> Tensor:
    """Clip to [0, 1] and round to the 256 levels of an 8-bit image (still float in [0, 1])."""
    return x.clamp(0, 1).mul(255).round().div(255)


def image_metrics(prefix: str, postfix: str = "") -> MetricCollection:
    """PSNR and SSIM averaged per image (``dim`` makes PSNR per image, not of pooled MSE)."""
    return MetricCollection(
        {
            "psnr": PeakSignalNoiseRatio(data_range=1.0, dim=(1, 2, 3)),
            "ssim": StructuralSimilarityIndexMeasure(data_range=1.0),
        },
        prefix=prefix,
        postfix=postfix,
    )
