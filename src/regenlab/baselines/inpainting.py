"""Biharmonic inpainting (scikit-image) as an nn.Module: (masked image, mask) -> image."""

from __future__ import annotations

import numpy as np
import torch
from skimage.restoration import inpaint_biharmonic
from torch import Tensor, nn


class Biharmonic(nn.Module):
    """Input (B, C + 1, H, W): the masked image and the mask (1 = hole), as the inpainting
    U-Net gets it. Runs per image on the CPU (scikit-image); no parameters to train."""

    def forward(self, cond: Tensor) -> Tensor:
        images, masks = cond[:, :-1], cond[:, -1] > 0.5
        out = [
            inpaint_biharmonic(
                img.permute(1, 2, 0).double().cpu().numpy(), m.cpu().numpy(), channel_axis=-1
            )
            for img, m in zip(images, masks)
        ]
        return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).to(cond)
