"""JPEG: quality controls the error; gray and RGB; per-image qualities."""

from __future__ import annotations

import pytest
import torch

from regenlab.degradations import JPEG, jpeg_compress
from tests.degradations.samples import gen, natural

# torchvision 0.29 deprecates its image codecs in favour of torchcodec (not installed).
pytestmark = pytest.mark.filterwarnings("ignore:The image decoding and encoding:DeprecationWarning")


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return (10 * torch.log10(1 / (a - b).pow(2).mean())).item()


@pytest.mark.parametrize("channels", [1, 3])
def test_psnr_rises_with_quality(channels):
    x = natural(channels, batch=1, size=128)
    scores = [psnr(JPEG(quality=q)(x, gen()), x) for q in (10, 50, 95)]
    assert scores == sorted(scores)
    assert scores[0] > 22 and scores[2] - scores[0] > 8
    assert JPEG(10)(x, gen()).shape == x.shape


def test_quality_is_per_image():
    x = natural(3, batch=3, size=64)
    y = jpeg_compress(x, torch.tensor([95, 10, 95]))
    torch.testing.assert_close(y[0], y[2])  # same image, same quality
    assert psnr(y[0], x[0]) > psnr(y[1], x[1]) + 5


def test_rejects_other_channel_counts():
    with pytest.raises(ValueError, match="1 or 3 channels"):
        jpeg_compress(torch.rand(1, 4, 16, 16), torch.tensor([50]))
