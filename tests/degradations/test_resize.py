"""Bicubic resizing: shapes, antialiasing, MATLAB's kernel (checked against PIL) and torch's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from regenlab.degradations import Downsample
from regenlab.degradations.resize import matlab_weights, resize
from regenlab.errors import ConfigError
from regenlab.metrics.image import to_8bit
from tests.degradations.samples import gen, natural


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_shapes(scale):
    x = torch.rand(2, 3, 24 * scale, 20 * scale)
    assert Downsample(scale)(x, gen()).shape == (2, 3, 24, 20)
    assert Downsample(scale, upsample=True)(x, gen()).shape == x.shape


def test_flooring_when_not_a_multiple():
    assert Downsample(3)(torch.rand(1, 1, 50, 31), gen()).shape == (1, 1, 16, 10)


def test_antialiased_and_constant_preserving():
    x = torch.full((1, 1, 48, 48), 0.6)
    torch.testing.assert_close(Downsample(4, upsample=True)(x, gen()), x)
    stripes = torch.zeros(1, 1, 48, 48)
    stripes[..., ::2] = 1  # above Nyquist of the x4 grid: antialiasing averages it to gray
    inside = Downsample(4)(stripes, gen())[..., 2:-2]  # the mirrored edge breaks the pattern
    assert (inside - 0.5).abs().max() < 0.05


def test_scale_from_yaml_float():
    assert Downsample(2.0).scale == 2 and isinstance(Downsample(2.0).scale, int)


def pil_resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """PIL's BICUBIC on 8-bit gray: MATLAB's kernel (a = -0.5), antialiased when shrinking."""
    image = Image.fromarray((x[0, 0] * 255).round().byte().numpy())
    out = np.asarray(image.resize(size[::-1], Image.BICUBIC), dtype=np.float32)
    return torch.from_numpy(out / 255)[None, None]


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("up", [False, True])
def test_matlab_kernel_matches_pil_inside_the_border(scale, up):
    x = natural(1, batch=1, size=48)
    size = (48 * scale, 48 * scale) if up else (48 // scale, 48 // scale)
    ours = resize(to_8bit(x), size).clamp(0, 1)
    b = 3 * scale if up else 3  # borders differ: MATLAB mirrors, PIL renormalises
    diff = ((to_8bit(ours) - pil_resize(x, size))[..., b:-b, b:-b].abs().max() * 255).round()
    assert diff <= 1  # PIL rounds to 8 bits between its two passes
    if up:  # the torch kernel (a = -0.75) is another interpolation
        torch_kernel = to_8bit(resize(to_8bit(x), size, kernel="torch").clamp(0, 1))
        assert (torch_kernel - pil_resize(x, size))[..., b:-b, b:-b].abs().max() * 255 > 2


def test_torch_kernel_is_torchs_antialiased_bicubic():
    x = natural(3, batch=2, size=48)
    expected = F.interpolate(x, size=(12, 12), mode="bicubic", antialias=True).clamp(0, 1)
    torch.testing.assert_close(Downsample(4, kernel="torch")(x, gen()), expected)
    assert not torch.allclose(Downsample(4)(x, gen()), expected, atol=1e-3)


def test_matlab_weights_match_the_imresize_algorithm():
    # imresize(1:4, 2), worked by hand: taps beyond the border mirror back (edge repeated),
    # so the ends bend; inside, a linear ramp stays exact
    up = matlab_weights(4, 8) @ torch.arange(1.0, 5.0)
    expected = [0.90625, 1.1796875, 1.7265625, 2.25, 2.75, 3.2734375, 3.8203125, 4.09375]
    torch.testing.assert_close(up, torch.tensor(expected))
    torch.testing.assert_close(matlab_weights(12, 4).sum(1), torch.ones(4))


def test_quantize_rounds_to_8_bits():
    y = Downsample(2, upsample=True, quantize=True)(natural(3, batch=1, size=32), gen())
    torch.testing.assert_close(y, to_8bit(y), rtol=0, atol=0)


def test_rejects_an_unknown_kernel():
    with pytest.raises(ConfigError, match="kernel must be one of matlab, torch"):
        Downsample(2, kernel="lanczos")
