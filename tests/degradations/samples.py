"""Test inputs: seeded generators and small natural images (B, C, H, W) in [0, 1]."""

from __future__ import annotations

import torch
from skimage import data
from torch import Tensor


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def natural(channels: int = 3, batch: int = 2, size: int = 96) -> Tensor:
    """Crops of skimage's camera (gray) or astronaut (RGB), repeated ``batch`` times."""
    if channels == 1:
        img = torch.from_numpy(data.camera()[100 : 100 + size, 150 : 150 + size])[None]
    else:
        img = torch.from_numpy(data.astronaut()[50 : 50 + size, 150 : 150 + size]).permute(2, 0, 1)
    return (img.float() / 255).expand(batch, -1, -1, -1).contiguous()
