"""Classical restoration (scikit-image, BM3D) as parameter-free nn.Modules: a model config
swaps one in for the network and the same module, data and metrics evaluate it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from skimage import restoration
from torch import Tensor, nn

from regenlab.degradations.params import as_int
from regenlab.degradations.resize import check_kernel, resize
from regenlab.errors import UserError


class PerImage(nn.Module):
    """Applies a numpy function (H, W, C) in [0, 1] -> (H, W, C) to each image on the CPU."""

    def denoise(self, image: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        images = x.detach().permute(0, 2, 3, 1).double().cpu().numpy()
        out = np.stack([self.denoise(im).reshape(im.shape) for im in images])
        return torch.from_numpy(out).permute(0, 3, 1, 2).to(x)


class Identity(PerImage):
    """The degraded input itself: the 'do nothing' row of every table."""

    def denoise(self, image: np.ndarray) -> np.ndarray:
        return image


class Bicubic(nn.Module):
    """The "Bicubic" row of SR tables: upsample by ``scale`` (MATLAB ``imresize`` kernel by
    default), clipped to [0, 1]. For inputs that are already upsampled (``degradation.upsample
    =true``) the row is ``classical/identity`` instead."""

    def __init__(self, scale: int = 4, kernel: str = "matlab"):
        super().__init__()
        self.scale, self.kernel = as_int(scale, "scale", low=1), check_kernel(kernel)

    def forward(self, x: Tensor) -> Tensor:
        size = (x.shape[-2] * self.scale, x.shape[-1] * self.scale)
        return resize(x, size, self.kernel).clamp(0, 1)


class TotalVariation(PerImage):
    """Chambolle's total-variation denoising; ``weight`` trades smoothing for fidelity."""

    def __init__(self, weight: float = 0.1):
        super().__init__()
        self.weight = weight

    def denoise(self, image: np.ndarray) -> np.ndarray:
        return restoration.denoise_tv_chambolle(image, weight=self.weight, channel_axis=-1)


class NonLocalMeans(PerImage):
    """Non-local means with the noise level given as in the literature (sigma on 0-255);
    ``h = h_factor * sigma`` as recommended by scikit-image."""

    def __init__(self, sigma: float = 25.0, h_factor: float = 0.8, patch_size: int = 5,
                 patch_distance: int = 6):  # fmt: skip
        super().__init__()
        self.sigma, self.h_factor = sigma / 255, h_factor
        self.patch_size, self.patch_distance = patch_size, patch_distance

    def denoise(self, image: np.ndarray) -> np.ndarray:
        return restoration.denoise_nl_means(
            image, h=self.h_factor * self.sigma, sigma=self.sigma, fast_mode=True,
            patch_size=self.patch_size, patch_distance=self.patch_distance, channel_axis=-1,
        )  # fmt: skip


class Wavelet(PerImage):
    """BayesShrink wavelet denoising with the known sigma (0-255 scale)."""

    def __init__(self, sigma: float = 25.0):
        super().__init__()
        self.sigma = sigma / 255

    def denoise(self, image: np.ndarray) -> np.ndarray:
        return restoration.denoise_wavelet(
            image, sigma=self.sigma, method="BayesShrink", mode="soft", channel_axis=-1,
            rescale_sigma=True,
        )  # fmt: skip


class BM3D(PerImage):
    """BM3D (Dabov et al. 2007) via the ``bm3d`` package: ``pip install -e '.[bm3d]'``.
    Its licence allows non-commercial use only. ``sigma`` on the 0-255 scale, as published."""

    def __init__(self, sigma: float = 25.0):
        super().__init__()
        self.sigma = sigma / 255
        self.bm3d: Callable = self._import()

    @staticmethod
    def _import() -> Callable:
        try:
            from bm3d import bm3d
        except ImportError:
            raise UserError(
                "BM3D needs the bm3d package (non-commercial licence): pip install -e '.[bm3d]'"
            ) from None
        return bm3d

    def denoise(self, image: np.ndarray) -> np.ndarray:
        return self.bm3d(image, sigma_psd=self.sigma)
