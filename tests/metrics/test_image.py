"""Metric protocol: closed-form PSNR, per-image averaging, 8-bit rounding."""

from __future__ import annotations

import math

import pytest
import torch

from regenlab.metrics.image import image_metrics, rgb_to_y, to_8bit


def test_psnr_of_known_pair_equals_closed_form():
    clean = torch.full((1, 1, 8, 8), 100 / 255)
    noisy = clean.clone()
    noisy[..., ::2, :] += 10 / 255  # half the pixels off by 10 levels: MSE = 50 / 255^2
    psnr = image_metrics("t/")(noisy, clean)["t/psnr"].item()
    assert psnr == pytest.approx(10 * math.log10(255**2 / 50), abs=1e-3)


def test_psnr_is_averaged_per_image_not_over_pooled_error():
    clean = torch.zeros(2, 1, 16, 16)
    degraded = clean.clone()
    degraded[0] += 0.1
    degraded[1] += 0.01
    psnr = image_metrics("t/")(degraded, clean)["t/psnr"].item()
    assert psnr == pytest.approx((20 + 40) / 2, abs=1e-3)


def test_to_8bit_clips_and_rounds():
    x = torch.tensor([-0.2, 0.5, 0.50001, 1.3])
    assert torch.equal(to_8bit(x) * 255, torch.tensor([0.0, 128.0, 128.0, 255.0]))


def test_ssim_of_identical_images_is_one():
    x = torch.rand(2, 3, 32, 32)
    assert image_metrics("t/")(x, x)["t/ssim"].item() == pytest.approx(1.0, abs=1e-5)


def test_y_is_matlabs_rgb2ycbcr_on_8bit_images_and_gray_is_its_own_y():
    rgb = torch.tensor([255.0, 128.0, 0.0]).view(1, 3, 1, 1) / 255
    # MATLAB: rgb2ycbcr(uint8([255 128 0])) -> Y = round(16 + 65.481 + 128.553 * 128/255) = 146
    assert rgb_to_y(rgb).item() * 255 == pytest.approx(146, abs=1e-4)
    white_black = torch.tensor([[1.0, 0.0]]).expand(3, -1)[None, :, None]  # (1, 3, 1, 2)
    assert (rgb_to_y(white_black) * 255).flatten().tolist() == pytest.approx([235, 16])
    gray = torch.rand(2, 1, 4, 4)
    assert rgb_to_y(gray) is gray
