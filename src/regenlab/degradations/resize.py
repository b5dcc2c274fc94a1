"""Bicubic resizing for super-resolution inputs (the usual x2 / x3 / x4 "bicubic" setting).

Two kernels. ``matlab`` is MATLAB's ``imresize`` (Keys cubic with a = -0.5, antialiased when
shrinking, symmetric borders), the degradation and the "Bicubic" row of every SR paper; PIL's
BICUBIC is the same kernel. ``torch`` is ``F.interpolate(mode="bicubic", antialias=True)``
(a = -0.75), as Real-ESRGAN-style pipelines use: 0.2-0.3 dB easier on Set5 than the papers'
bicubic, so numbers made with it cannot sit next to published ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from regenlab.degradations.params import as_int
from regenlab.errors import ConfigError

KERNELS = ("matlab", "torch")


def check_kernel(kernel: str) -> str:
    if kernel not in KERNELS:
        raise ConfigError(f"kernel must be one of {', '.join(KERNELS)}; got {kernel!r}")
    return kernel


def cubic(x: Tensor, a: float = -0.5) -> Tensor:
    """Keys' cubic convolution kernel; a = -0.5 is MATLAB's and PIL's."""
    x = x.abs()
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return torch.where(x <= 1, near, torch.where(x < 2, far, torch.zeros_like(x)))


def matlab_weights(in_len: int, out_len: int, device: torch.device | None = None) -> Tensor:
    """(out_len, in_len) matrix of MATLAB ``imresize`` bicubic weights along one axis.

    The algorithm of ``imresize.m`` (as BasicSR's ``matlab_functions.imresize``): output
    pixel j samples input coordinate u = j / s + (1 - 1/s) / 2 (1-based), the kernel is
    stretched by 1/s when shrinking (antialiasing), weights are normalised to sum 1 and taps
    beyond the border mirror back symmetrically (edge pixel repeated).
    """
    scale = out_len / in_len
    stretch = min(scale, 1.0)  # < 1: antialias by widening the kernel
    width = 4.0 / stretch
    u = torch.arange(1, out_len + 1, dtype=torch.float64) / scale + 0.5 * (1 - 1 / scale)
    left = torch.floor(u - width / 2)
    taps = math.ceil(width) + 2
    indices = left[:, None] + torch.arange(taps, dtype=torch.float64)  # 1-based
    weights = stretch * cubic((u[:, None] - indices) * stretch)
    weights = weights / weights.sum(1, keepdim=True)
    mirror = torch.cat([torch.arange(in_len), torch.arange(in_len - 1, -1, -1)])
    columns = mirror[(indices.long() - 1).remainder(2 * in_len)]
    matrix = torch.zeros(out_len, in_len, dtype=torch.float64)
    matrix.scatter_add_(1, columns, weights)
    return matrix.to(device=device, dtype=torch.float32)


def resize(x: Tensor, size: tuple[int, int], kernel: str = "matlab") -> Tensor:
    """Bicubic resize of (B, C, H, W) to ``size`` (not clipped). ``kernel``: see the module."""
    h, w = x.shape[-2:]
    if check_kernel(kernel) == "torch":
        shrink = size[0] < h or size[1] < w
        return F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=shrink)
    rows, cols = (matlab_weights(n, m, x.device) for n, m in ((h, size[0]), (w, size[1])))
    return rows.to(x.dtype) @ x @ cols.to(x.dtype).T


def downsample(
    x: Tensor, scale: int, upsample: bool = False, kernel: str = "matlab", quantize: bool = False
) -> Tensor:
    """Bicubic (antialiased) (B, C, H, W) -> (B, C, H // scale, W // scale), clipped to [0, 1].

    H and W should be multiples of ``scale`` (crop them first), otherwise the sampling grid is
    slightly stretched. ``upsample=True`` resizes back to (H, W) by bicubic interpolation, the
    input of pre-upsampling SR networks (SRCNN, VDSR, DnCNN-3) that keep the image size.
    ``quantize`` rounds each resized image to 8 bits, as MATLAB does on uint8 images (the
    papers' low-resolution PNGs).
    """
    h, w = x.shape[-2:]
    steps = [(h // scale, w // scale)] + ([(h, w)] if upsample else [])
    for size in steps:
        x = resize(x, size, kernel).clamp(0, 1)
        if quantize:
            x = x.mul(255).round().div(255)
    return x


@dataclass
class Downsample:
    """Downsampling by an integer ``scale`` >= 1; output (B, C, H // scale, W // scale).

    With ``upsample=True`` the output is resized back to the input size. The caller crops H and
    W to multiples of ``scale`` (e.g. ``crop_size`` a multiple of it). ``kernel`` and
    ``quantize``: see ``downsample``. Deterministic: the generator is unused.
    """

    scale: int = 4
    upsample: bool = False
    kernel: str = "matlab"
    quantize: bool = False

    def __post_init__(self) -> None:
        self.scale = as_int(self.scale, "scale", low=1)
        check_kernel(self.kernel)

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return downsample(x, self.scale, self.upsample, self.kernel, self.quantize)
