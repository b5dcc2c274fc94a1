"""Blur kernels (all four kinds) and their batched application."""

from __future__ import annotations

import pytest
import torch
from scipy import ndimage

from regenlab.degradations import AnisotropicBlur, DefocusBlur, GaussianBlur, MotionBlur, apply_blur
from tests.degradations.samples import gen, natural

BLURS = {
    "gaussian": GaussianBlur(sigma=[0, 3]),
    "anisotropic": AnisotropicBlur(sigma_x=[0.2, 4], sigma_y=[0.2, 1], angle=[0, 180]),
    "motion": MotionBlur(length=[0, 15]),
    "defocus": DefocusBlur(radius=[0, 5]),
}


@pytest.mark.parametrize("kind", BLURS)
def test_kernels_are_normalized_and_nonnegative(kind):
    k = BLURS[kind].kernels(16, gen(), torch.device("cpu"))
    size = BLURS[kind].size
    assert k.shape == (16, size, size) and k.dtype == torch.float32
    assert k.min() >= 0
    torch.testing.assert_close(k.sum(dim=(1, 2)), torch.ones(16))


@pytest.mark.parametrize("kind", BLURS)
def test_constant_image_stays_constant(kind):
    x = torch.full((4, 3, 32, 40), 0.37)
    torch.testing.assert_close(BLURS[kind](x, gen()), x)


@pytest.mark.parametrize("kind", BLURS)
def test_kernels_differ_per_image(kind):
    k = BLURS[kind].kernels(4, gen(), torch.device("cpu"))
    assert all(not torch.allclose(k[0], k[i]) for i in (1, 2, 3))


def test_motion_kernels_are_centred_paths():
    blur_ = MotionBlur(length=12, curvature=0)
    k = blur_.kernels(8, gen(), torch.device("cpu"))
    r = torch.arange(blur_.size) - blur_.size // 2
    centroid = torch.stack([(k.sum(1) * r).sum(-1), (k.sum(2) * r).sum(-1)], -1)
    torch.testing.assert_close(centroid, torch.zeros(8, 2), atol=1e-4, rtol=0)
    support = (k > 0).sum(dim=(1, 2))  # a 12-pixel straight path covers ~13-26 pixels
    assert support.min() >= 12 and support.max() <= 3 * 13


def test_zero_width_kernels_are_identity():
    x = natural(3, batch=2, size=32)
    for b in (GaussianBlur(0), MotionBlur(0), DefocusBlur(0)):
        torch.testing.assert_close(b(x, gen()), x)


def test_blur_is_true_convolution_with_reflect_padding():
    x = natural(1, batch=2, size=32)
    k = MotionBlur(length=8).kernels(2, gen(), torch.device("cpu"))  # asymmetric kernels
    y = apply_blur(x, k)
    for i in range(2):
        ref = ndimage.convolve(x[i, 0].double().numpy(), k[i].double().numpy(), mode="mirror")
        torch.testing.assert_close(y[i, 0], torch.from_numpy(ref).float(), atol=1e-5, rtol=0)


def test_larger_sigma_blurs_more():
    x = natural(3, batch=1, size=64)
    detail = [(GaussianBlur(s)(x, gen()) - x).abs().mean().item() for s in (0.5, 1.5, 3.0)]
    assert detail == sorted(detail) and detail[0] > 0
