"""Inpainting metrics as in MMagic: hole L1 (MAE), PSNR and SSIM of the composited image,
overall and per mask-ratio bin. Per-image values are kept so the bins sum to the total."""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from regenlab.metrics.image import to_8bit

BINS = ((0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 1.01))


def bin_name(lo: float, hi: float) -> str:
    return f"{round(lo * 100)}-{min(round(hi * 100), 100)}%"


def hole_mae(output: Tensor, clean: Tensor, mask: Tensor) -> Tensor:
    """Mean absolute error over the hole pixels of each image: (B,)."""
    err = ((output - clean).abs() * mask).flatten(1).sum(1)
    return err / (mask.flatten(1).sum(1) * output.shape[1]).clamp_min(1)


class InpaintingMetrics(Metric):
    """``update(composite, clean, mask)`` with mask 1 = hole; ``compute()`` returns a flat dict:
    ``hole_mae``, ``psnr``, ``ssim``, ``count`` and the same per bin (``psnr/0-20%``)."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        for name in ("hole_mae", "psnr", "ssim", "ratio"):
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def update(self, output: Tensor, clean: Tensor, mask: Tensor) -> None:
        output = to_8bit(output)
        self.hole_mae.append(hole_mae(output, clean, mask))
        self.psnr.append(
            peak_signal_noise_ratio(output, clean, data_range=1.0, dim=(1, 2, 3), reduction="none")
        )
        self.ssim.append(
            structural_similarity_index_measure(output, clean, data_range=1.0, reduction="none")
        )
        self.ratio.append(mask.flatten(1).mean(1))

    def compute(self) -> dict[str, Tensor]:
        values = {
            name: torch.cat(v) if isinstance(v, list) else v
            for name, v in (("hole_mae", self.hole_mae), ("psnr", self.psnr), ("ssim", self.ssim))
        }
        ratio = torch.cat(self.ratio) if isinstance(self.ratio, list) else self.ratio
        out = {name: v.mean() for name, v in values.items()}
        out["count"] = torch.tensor(float(len(ratio)))
        for lo, hi in BINS:
            keep = (ratio >= lo) & (ratio < hi)
            suffix = bin_name(lo, hi)
            out[f"count/{suffix}"] = keep.sum().float()
            if keep.any():
                out |= {f"{name}/{suffix}": v[keep].mean() for name, v in values.items()}
        return out
