"""PatchGAN discriminator (Isola et al. 2017): one score per overlapping image patch."""

from __future__ import annotations

from torch import Tensor, nn

from regenlab.nets import check_sizes


class PatchGAN(nn.Module):
    """(B, C, H, W) -> (B, patches) scores; ``layers`` stride-2 convs (3 gives 70x70 patches).

    Judging patches rather than whole images keeps the critic about texture and local
    structure, which is what L1 alone blurs; it also works on any image size.
    """

    def __init__(self, in_channels: int = 3, width: int = 64, layers: int = 3):
        super().__init__()
        check_sizes(in_channels=in_channels, width=width, layers=layers)
        body: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        cin = width
        for i in range(1, layers + 1):
            cout = width * min(2**i, 8)
            stride = 2 if i < layers else 1
            body += [
                nn.Conv2d(cin, cout, 4, stride, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.LeakyReLU(0.2, True),
            ]
            cin = cout
        body.append(nn.Conv2d(cin, 1, 4, 1, 1))
        self.net = nn.Sequential(*body)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten(1)
