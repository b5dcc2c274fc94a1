"""Thin wrappers around torchmetrics, with the evaluation protocol stated in one place."""

from __future__ import annotations

from contextlib import AbstractContextManager

import torch
from torch import Tensor


def full_precision(x: Tensor) -> AbstractContextManager:
    """Metrics are computed in float32 even when the model runs under bf16/fp16 autocast:
    SSIM's Gaussian filters and FID's feature statistics in 16 bits are wrong (SSIM even
    came out negative). Use with inputs cast by ``.float()``."""
    return torch.autocast(x.device.type, enabled=False)
