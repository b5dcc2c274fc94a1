"""Invalid parameters raise ConfigError naming the parameter, the value and the valid range."""

from __future__ import annotations

import pytest

from regenlab.degradations import (
    JPEG,
    AnisotropicBlur,
    Compose,
    DefocusBlur,
    Downsample,
    GaussianBlur,
    GaussianNoise,
    Haze,
    MotionBlur,
    PoissonNoise,
    RustStains,
    SaltAndPepper,
    SpeckleNoise,
)
from regenlab.errors import ConfigError

CASES = [
    (lambda: GaussianNoise(sigma=-5), r"^sigma must be >= 0, got -5$"),
    (lambda: GaussianNoise(sigma=[10, 5]), r"sigma range is reversed"),
    (lambda: PoissonNoise(scale=0), r"scale must be >= 0.001, got 0"),
    (lambda: SpeckleNoise(sigma=[-1, 1]), r"sigma must be >= 0, got -1"),
    (lambda: SaltAndPepper(amount=1.5), r"amount must be in \[0, 1\], got 1.5"),
    (lambda: SaltAndPepper(salt_vs_pepper=-0.1), r"salt_vs_pepper must be in \[0, 1\]"),
    (lambda: GaussianBlur(sigma=-1), r"sigma must be >= 0, got -1"),
    (lambda: GaussianBlur(size=4), r"size must be an odd integer >= 1, got 4"),
    (lambda: AnisotropicBlur(sigma_y=[1, 0.5]), r"sigma_y range is reversed"),
    (lambda: MotionBlur(length=30, size=21), r"length must be <= size - 1 = 20 .* got 30"),
    (lambda: MotionBlur(curvature=-1), r"curvature must be >= 0, got -1"),
    (lambda: DefocusBlur(radius=-2), r"radius must be >= 0, got -2"),
    (lambda: JPEG(quality=0), r"quality must be in \[1, 100\], got 0"),
    (lambda: JPEG(quality=[50, 101]), r"quality must be in \[1, 100\], got 101"),
    (lambda: JPEG(quality=50.5), r"quality must be integers in \[1, 100\], got \[50.5, 50.5\]"),
    (lambda: Downsample(scale=2.5), r"scale must be an integer >= 1, got 2.5"),
    (lambda: Downsample(scale=0), r"scale must be >= 1, got 0"),
    (lambda: Downsample(scale="4"), r"scale must be an integer >= 1, got '4'"),
    (lambda: Haze(beta=-1), r"beta must be >= 0, got -1"),
    (lambda: Haze(airlight=[0.5, 1.2]), r"airlight must be in \[0, 1\], got 1.2"),
    (lambda: Haze(depth="sky"), r"depth must be one of smooth, ground, mixed; got 'sky'"),
    (lambda: RustStains(coverage=2), r"coverage must be in \[0, 1\], got 2"),
    (lambda: RustStains(cells=0), r"cells must be >= 1, got 0"),
    (lambda: Compose([]), r"steps must list at least one degradation"),
    (lambda: Compose([GaussianBlur()], p=[0.5, 0.5]), r"p must have one probability per step"),
    (lambda: Compose([GaussianBlur()], p=[1.5]), r"p values must be in \[0, 1\], got \[1.5\]"),
    (lambda: Compose([GaussianBlur()], order="shuffle"), r"order must be one of fixed, random"),
]


@pytest.mark.parametrize("make, message", CASES, ids=[m for _, m in CASES])
def test_invalid_parameter_raises_config_error(make, message):
    with pytest.raises(ConfigError, match=message):
        make()
