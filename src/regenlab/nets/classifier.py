"""A small image classifier whose penultimate layer is the feature space of offline FID/KID."""

from __future__ import annotations

from torch import Tensor, nn

from regenlab.errors import ConfigError


class SmallConvNet(nn.Module):
    """(B, C, H, W) in [0, 1] -> class logits; ``features`` gives the pooled embedding."""

    def __init__(
        self, channels: int = 3, num_classes: int | None = 4, width: int = 32, dim: int = 128
    ):
        super().__init__()
        if not num_classes:
            raise ConfigError(
                f"a classifier needs labelled data (data.num_classes is {num_classes}); "
                "train the feature net on a labelled set such as data=mnist or data=cifar10"
            )
        layers: list[nn.Module] = []
        cin = channels
        for cout in (width, 2 * width, 4 * width):
            layers += [
                nn.Conv2d(cin, cout, 3, padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(True),
                nn.Conv2d(cout, cout, 3, padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(True),
                nn.MaxPool2d(2),
            ]
            cin = cout
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.embed = nn.Sequential(nn.Linear(cin, dim), nn.ReLU(True))
        self.head = nn.Linear(dim, num_classes)
        self.config = {"channels": channels, "num_classes": num_classes, "width": width, "dim": dim}

    def features(self, x: Tensor) -> Tensor:
        return self.embed(self.body(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))
