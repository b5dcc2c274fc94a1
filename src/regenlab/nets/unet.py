"""A small U-Net for image-to-image tasks that accepts any input size."""

from __future__ import annotations

from itertools import pairwise

import torch.nn.functional as F
from torch import Tensor, cat, nn

from regenlab.nets import check_sizes


def conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.LeakyReLU(0.2, inplace=True),
    )


class UNet(nn.Module):
    """Encoder-decoder with skip connections; ``levels`` downsamplings by 2, width doubling.

    Inputs of any size (1x1 too) are reflect-padded to a multiple of ``2**levels`` and cropped back,
    so full test images need no resizing. ``residual`` adds the input to the output
    (the net learns the correction, as in DnCNN). ``out_channels`` defaults to ``channels``.
    """

    def __init__(
        self,
        channels: int = 1,
        width: int = 32,
        levels: int = 3,
        residual: bool = True,
        out_channels: int | None = None,
    ):
        super().__init__()
        check_sizes(channels=channels, width=width, levels=levels)
        out_channels = out_channels or channels
        widths = [width * 2**i for i in range(levels + 1)]
        self.inc = conv_block(channels, widths[0])
        self.down = nn.ModuleList(conv_block(a, b) for a, b in pairwise(widths))
        self.up = nn.ModuleList(nn.ConvTranspose2d(b, a, 2, stride=2) for a, b in pairwise(widths))
        self.dec = nn.ModuleList(conv_block(2 * a, a) for a in widths[:-1])
        self.out = nn.Conv2d(widths[0], out_channels, 1)
        self.levels = levels
        self.residual = residual and out_channels == channels

    @property
    def min_size(self) -> int:
        """The smallest H and W it takes: the reflect padding to a multiple of
        ``2**levels`` must be shorter than the image."""
        return 2**self.levels // 2 + 1

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        m = 2**self.levels
        pad = (0, -w % m, 0, -h % m)
        # reflection needs more pixels than it adds; tiny images (1x1...) repeat their edge
        mode = "reflect" if pad[1] < w and pad[3] < h else "replicate"
        y = F.pad(x, pad, mode=mode) if any(pad) else x
        skips = [self.inc(y)]
        for down in self.down:
            skips.append(down(F.max_pool2d(skips[-1], 2)))
        y = skips.pop()
        for up, dec in zip(reversed(self.up), reversed(self.dec)):
            y = dec(cat([up(y), skips.pop()], dim=1))
        y = self.out(y)[..., :h, :w]
        return x + y if self.residual else y


class UNetSR(nn.Module):
    """Super-resolution with an upsampling head: the U-Net runs at low resolution and a
    PixelShuffle turns ``channels * scale**2`` maps into the image; the bicubic upsampled
    input is added, so the network learns the missing detail only.

    Cheaper than feeding a bicubic-upsampled input (``Downsample(upsample=True)`` with the
    plain U-Net): all convolutions run on ``scale**2`` fewer pixels.
    """

    def __init__(self, channels: int = 3, scale: int = 4, width: int = 32, levels: int = 2):
        super().__init__()
        self.body = UNet(channels, width, levels, residual=False, out_channels=channels * scale**2)
        self.shuffle = nn.PixelShuffle(scale)
        self.scale = scale

    @property
    def min_size(self) -> int:
        """In output (high-resolution) pixels: the U-Net runs on the input."""
        return self.body.min_size * self.scale

    def forward(self, x: Tensor) -> Tensor:
        up = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return up + self.shuffle(self.body(x))
