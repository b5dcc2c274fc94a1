"""DnCNN (Zhang et al. 2017): a plain conv stack that predicts the residual (the noise)."""

from __future__ import annotations

from torch import Tensor, nn

from regenlab.nets import check_sizes


class DnCNN(nn.Module):
    """``depth`` 3x3 convs of ``width`` channels; returns ``x - net(x)`` when ``residual``.

    Residual learning is what makes DnCNN train fast: the net fits the noise, whose
    statistics are simpler than those of the clean image. Works on any input size.
    ``last_bias=False`` and ``bn_eps=1e-4`` give the authors' own layers, so their published
    weights load and compute exactly (``conf/model/pretrained/dncnn_sigma25.yaml``).
    """

    def __init__(
        self,
        channels: int = 1,
        depth: int = 17,
        width: int = 64,
        residual: bool = True,
        last_bias: bool = True,
        bn_eps: float = 1e-5,
    ):
        super().__init__()
        check_sizes(channels=channels, depth=depth, width=width)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [
                nn.Conv2d(width, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width, eps=bn_eps),
                nn.ReLU(inplace=True),
            ]
        layers.append(nn.Conv2d(width, channels, 3, padding=1, bias=last_bias))
        self.body = nn.Sequential(*layers)
        self.residual = residual

    def forward(self, x: Tensor) -> Tensor:
        out = self.body(x)
        return x - out if self.residual else out
