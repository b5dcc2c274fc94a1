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
is defined on gray ones), both per image like PSNR; LPIPS (AlexNet, lower is better) with the
backbone from a local torchvision file, never downloaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric, Metric, MetricCollection
from torchmetrics.functional.image import peak_signal_noise_ratio_with_blocked_effect
from torchmetrics.image import (
    MultiScaleStructuralSimilarityIndexMeasure,
    PeakSignalNoiseRatio,
    StructuralSimilarityIndexMeasure,
)

from regenlab.errors import ConfigError, UserError

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


LPIPS_FILE = "alexnet-owt-7be5be79.pth"  # torchvision's ImageNet AlexNet


def lpips_net(path: str | Path) -> nn.Module:
    """torchmetrics' LPIPS network (AlexNet with its bundled linear layers) whose backbone
    comes from the local file ``path`` instead of torchvision's download."""
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"LPIPS weights {path} not found; download {LPIPS_FILE} (torchvision's ImageNet "
            f"AlexNet: https://download.pytorch.org/models/{LPIPS_FILE}) once and put it there, "
            "or set model.lpips_weights=<that file>"
        )
    from torchmetrics.functional.image.lpips import _NoTrainLpips

    net = _NoTrainLpips(net="alex", pnet_rand=True)  # random backbone: nothing downloaded
    state = torch.load(path, map_location="cpu", weights_only=True)
    features = {k.removeprefix("features."): v for k, v in state.items()}
    for block in (net.net.slice1, net.net.slice2, net.net.slice3, net.net.slice4, net.net.slice5):
        try:
            block.load_state_dict({k: features[k] for k in block.state_dict()})
        except (KeyError, RuntimeError):
            raise UserError(
                f"LPIPS weights {path} are not torchvision's AlexNet ({LPIPS_FILE})"
            ) from None
    return net


class LPIPS(MeanMetric):
    """LPIPS per image (lower is better). The network is shared by every stage's metric and
    kept out of the state_dict, so checkpoints stay as they were."""

    higher_is_better = False

    def __init__(self, net: nn.Module):
        super().__init__()
        self.__dict__["net"] = net  # not a submodule

    def update(self, preds: Tensor, target: Tensor) -> None:
        net = self.net.to(preds.device)
        gray = preds.shape[1] == 1
        preds, target = (x.expand(-1, 3, -1, -1) if gray else x for x in (preds, target))
        super().update(net(preds, target, normalize=True).flatten())


EXTRA_METRICS: dict[str, Callable[..., Metric]] = {
    "ms_ssim": lambda **_: MultiScaleStructuralSimilarityIndexMeasure(data_range=1.0),
    "psnrb": lambda **_: PSNRB(),
    "lpips": lambda lpips: LPIPS(lpips),
}


def check_extra_metrics(names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in EXTRA_METRICS]
    if unknown:
        raise ConfigError(
            f"model.extra_metrics: unknown {unknown}; choose from {sorted(EXTRA_METRICS)}, "
            "e.g. model.extra_metrics=[ms_ssim,psnrb]"
        )


def image_metrics(
    prefix: str, postfix: str = "", extra: Sequence[str] = (), lpips: nn.Module | None = None
) -> MetricCollection:
    """PSNR and SSIM averaged per image (``dim`` makes PSNR per image, not of pooled MSE),
    and the ``extra`` ones named in ``EXTRA_METRICS`` (``lpips``: over ``lpips_net``)."""
    check_extra_metrics(extra)
    return MetricCollection(
        {
            "psnr": PeakSignalNoiseRatio(data_range=1.0, dim=(1, 2, 3)),
            "ssim": StructuralSimilarityIndexMeasure(data_range=1.0),
            **{name: EXTRA_METRICS[name](lpips=lpips) for name in extra},
        },
        prefix=prefix,
        postfix=postfix,
        compute_groups=False,  # two per-image means (psnrb, lpips) must never be merged
    )
