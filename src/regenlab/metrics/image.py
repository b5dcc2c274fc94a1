"""Full-reference image metrics and the protocol they follow.

Protocol (stated next to every table): the restored image is clipped to [0, 1] and rounded
to 8 bits, as when saved to PNG; PSNR and SSIM (11x11 Gaussian window, sigma 1.5) are
computed per image with data_range 1 over all channels, then averaged over images.
Optionally, as in super-resolution papers, also on the Y channel (BT.601, as MATLAB's
rgb2ycbcr on 8-bit images: Y in [16, 235], rounded to 8 bits) after removing ``crop_border``
pixels on each side; with the MATLAB bicubic kernel this gives the papers' Set5 "Bicubic" row
(33.64 / 30.39 / 28.42 dB at x2 / x3 / x4).
"""

from __future__ import annotations

from torch import Tensor
from torchmetrics import MetricCollection
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

# SSIM's 11x11 window is reflect-padded by 5 pixels, which needs images of 6 or more
SSIM_MIN_SIZE = 6


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
