"""DCGAN generator and discriminator (Radford et al. 2015), also the WGAN-GP critic.

Images are in [-1, 1] on the network side (tanh output); the LightningModule maps from and
to the [0, 1] range the rest of regenlab uses.
"""

from __future__ import annotations

import math
from itertools import pairwise

from torch import Tensor, nn


def dcgan_init(module: nn.Module) -> None:
    """N(0, 0.02) for conv weights and N(1, 0.02) for BatchNorm scales, as in the paper."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def num_doublings(size: int) -> int:
    """4x4 -> size x size takes log2(size / 4) stride-2 layers; size must be 4 * 2^k."""
    n = math.log2(size / 4)
    if n < 1 or n != int(n):
        raise ValueError(f"image size must be 8, 16, 32, 64, ... got {size}")
    return int(n)


class DCGANGenerator(nn.Module):
    """z (B, z_dim) -> image (B, C, size, size) in [-1, 1]: project to 4x4, then upsample x2.

    ``tanh=False`` leaves the output unbounded (a VAE decoder's logits or means).
    """

    def __init__(
        self, z_dim: int = 100, channels: int = 3, size: int = 32, width: int = 64,
        tanh: bool = True,
    ):  # fmt: skip
        super().__init__()
        n = num_doublings(size)
        widths = [width * 2 ** (n - 1 - i) for i in range(n)]  # e.g. 256, 128, 64 for 32x32
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, widths[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(True),
        ]
        for cin, cout in pairwise(widths):
            layers += [
                nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(True),
            ]
        layers.append(nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1))
        if tanh:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)
        self.z_dim = z_dim
        self.apply(dcgan_init)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z.view(*z.shape, 1, 1))


class DCGANDiscriminator(nn.Module):
    """Image (B, C, size, size) in [-1, 1] -> one logit/score per image (B,).

    With ``outputs > 1`` it returns (B, outputs) (a VAE encoder's mean and log-variance).

    ``norm="batch"`` is the DCGAN discriminator (no BatchNorm on the input layer);
    ``norm="none"`` or ``"layer"`` is the WGAN-GP critic, whose gradient penalty is per
    sample and so must not mix samples through batch statistics.
    """

    def __init__(
        self, channels: int = 3, size: int = 32, width: int = 64, norm: str = "batch",
        outputs: int = 1,
    ):  # fmt: skip
        super().__init__()
        n = num_doublings(size)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        side = size // 2
        for i in range(n - 1):
            cin, cout = width * 2**i, width * 2 ** (i + 1)
            side //= 2
            conv = nn.Conv2d(cin, cout, 4, 2, 1, bias=norm == "none")
            layers += [conv, *self._norm(norm, cout, side), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(width * 2 ** (n - 1), outputs, 4, 1, 0))
        self.net = nn.Sequential(*layers)
        self.outputs = outputs
        self.apply(dcgan_init)

    @staticmethod
    def _norm(norm: str, channels: int, side: int) -> list[nn.Module]:
        options = {
            "batch": lambda: [nn.BatchNorm2d(channels)],
            "layer": lambda: [nn.LayerNorm([channels, side, side])],
            "none": lambda: [],
        }
        if norm not in options:
            raise ValueError(f"norm must be one of {sorted(options)}, got {norm!r}")
        return options[norm]()

    def forward(self, x: Tensor) -> Tensor:
        out = self.net(x).flatten(1)
        return out[:, 0] if self.outputs == 1 else out
