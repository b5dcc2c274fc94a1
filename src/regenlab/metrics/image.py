"""Full-reference image metrics and the protocol they follow.

Protocol (stated next to every table): the restored image is clipped to [0, 1] and rounded
to 8 bits, as when saved to PNG; PSNR and SSIM (11x11 Gaussian window, sigma 1.5) are
computed per image with data_range 1 over all channels, then averaged over images.
Optionally, as in super-resolution papers, also on the Y channel (BT.601, as MATLAB's
rgb2ycbcr on 8-bit images: Y in [16, 235], rounded to 8 bits) after removing ``crop_border``
pixels on each side; with the MATLAB bicubic kernel this gives the papers' Set5 "Bicubic" row
(33.64 / 30.39 / 28.42 dB at x2 / x3 / x4).
Optional (``model.extra_metrics``): MS-SSIM (5 scales, the same window) and PSNR-B (JPEG
deblocking: PSNR less the blocking effect on 8x8 block edges, on the luma of RGB images as it
is defined on gray ones), both per image like PSNR.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor
from torchmetrics import MeanMetric, Metric, MetricCollection
from torchmetrics.functional.image import peak_signal_noise_ratio_with_blocked_effect
from torchmetrics.image import (
    MultiScaleStructuralSimilarityIndexMeasure,
    PeakSignalNoiseRatio,
    StructuralSimilarityIndexMeasure,
)

from regenlab.errors import ConfigError

# SSIM's 11x11 window is reflect-padded by 5 pixels, which needs images of 6 or more
SSIM_MIN_SIZE = 6
# MS-SSIM halves the image 4 times and needs the 11x11 window to fit the last scale:
# torchmetrics wants side // 16 > 10
MS_SSIM_MIN_SIZE = 176


def to_8bit(x: Tensor) -> Tensor:
    """Clip to [0, 1] and round to the 256 levels of an 8-bit image (still float in [0, 1])."""
    return x.clamp(0, 1).mul(255).round().div(255)


def rgb_to_y(x: Tensor) -> Tensor:
    """(B, 3, H, W) in [0, 1] -> luma Y (B, 1, H, W) in [16/255, 235/255] (BT.601), rounded
    to 8 bits as MATLAB's rgb2ycbcr does on uint8 images (unrounded Y reads ~0.03 dB higher).
    A gray (B, 1, H, W) image is its own Y (e.g. read with ``data.gray=y``) and is returned."""
    if x.shape[1] == 1:
        return x
    weights = x.new_tensor([65.481, 128.553, 24.966]).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True).add(16.0).round().div(255.0)


def crop_border(x: Tensor, border: int) -> Tensor:
    return x[..., border:-border, border:-border] if border else x


class PSNRB(MeanMetric):
    """PSNR-B averaged per image, like PSNR (torchmetrics' ``PeakSignalNoiseRatioWithBlockedEffect``
    pools the squared error and blocking effect of a whole epoch into one number)."""

    def __init__(self, block_size: int = 8):
        super().__init__()
        self.block_size = block_size

    def update(self, preds: Tensor, target: Tensor) -> None:
        preds, target = rgb_to_y(preds), rgb_to_y(target)
        values = [
            peak_signal_noise_ratio_with_blocked_effect(
                p[None], t[None], data_range=1.0, block_size=self.block_size
            )
            for p, t in zip(preds, target, strict=True)
        ]
        super().update(torch.stack(values))


EXTRA_METRICS: dict[str, Callable[[], Metric]] = {
    "ms_ssim": lambda: MultiScaleStructuralSimilarityIndexMeasure(data_range=1.0),
    "psnrb": PSNRB,
}


def check_extra_metrics(names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in EXTRA_METRICS]
    if unknown:
        raise ConfigError(
            f"model.extra_metrics: unknown {unknown}; choose from {sorted(EXTRA_METRICS)}, "
            "e.g. model.extra_metrics=[ms_ssim,psnrb]"
        )


def image_metrics(prefix: str, postfix: str = "", extra: Sequence[str] = ()) -> MetricCollection:
    """PSNR and SSIM averaged per image (``dim`` makes PSNR per image, not of pooled MSE),
    and the ``extra`` ones named in ``EXTRA_METRICS``."""
    check_extra_metrics(extra)
    return MetricCollection(
        {
            "psnr": PeakSignalNoiseRatio(data_range=1.0, dim=(1, 2, 3)),
            "ssim": StructuralSimilarityIndexMeasure(data_range=1.0),
            **{name: EXTRA_METRICS[name]() for name in extra},
        },
        prefix=prefix,
        postfix=postfix,
    )
