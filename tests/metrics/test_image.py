"""Metric protocol: closed-form PSNR, per-image averaging, 8-bit rounding."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor
from torchmetrics.functional.image import (
    multiscale_structural_similarity_index_measure,
    peak_signal_noise_ratio_with_blocked_effect,
)

from regenlab.errors import ConfigError, UserError
from regenlab.metrics.image import image_metrics, lpips_net, rgb_to_y, to_8bit


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


def blocky(clean: Tensor, seed: int = 0) -> Tensor:
    """``clean`` with a different offset on each 8x8 block, as JPEG at low quality leaves."""
    g = torch.Generator().manual_seed(seed)
    b, _, h, w = clean.shape
    offsets = torch.rand(b, 1, h // 8, w // 8, generator=g).sub(0.5).mul(0.1)
    return to_8bit(clean + offsets.repeat_interleave(8, -2).repeat_interleave(8, -1))


def test_extra_metrics_equal_torchmetrics_functional_per_image():
    clean = to_8bit(torch.rand(3, 1, 176, 176, generator=torch.Generator().manual_seed(1)))
    degraded = blocky(clean)
    values = image_metrics("t/", extra=["ms_ssim", "psnrb"])(degraded, clean)
    ms_ssim = multiscale_structural_similarity_index_measure(degraded, clean, data_range=1.0)
    psnrb = [
        peak_signal_noise_ratio_with_blocked_effect(d[None], c[None], data_range=1.0)
        for d, c in zip(degraded, clean, strict=True)
    ]
    assert values["t/ms_ssim"].item() == pytest.approx(ms_ssim.item(), abs=1e-6)
    assert values["t/psnrb"].item() == pytest.approx(torch.stack(psnrb).mean().item(), abs=1e-5)


def test_psnrb_is_below_psnr_on_a_blocky_image_and_measures_rgb_on_its_luma():
    clean = torch.linspace(0.2, 0.8, 64).view(1, 1, 1, 64).expand(2, 3, 64, 64)
    degraded = blocky(clean)
    values = image_metrics("t/", extra=["psnrb"])(degraded, clean)
    assert values["t/psnrb"] < values["t/psnr"] - 0.5  # blocking is penalised on top of MSE
    luma = image_metrics("t/", extra=["psnrb"])(rgb_to_y(degraded), rgb_to_y(clean))
    assert values["t/psnrb"].item() == pytest.approx(luma["t/psnrb"].item())


def test_an_unknown_extra_metric_names_the_choices():
    with pytest.raises(ConfigError, match=r"unknown \[.lpip.\]; choose from \[.lpips., .ms_ssim"):
        image_metrics("t/", extra=["lpip"])


@pytest.fixture
def alexnet_file(tmp_path):
    """A random AlexNet backbone saved under torchvision's keys: no real weights needed."""
    from torchvision.models import alexnet

    path = tmp_path / "alexnet.pth"
    torch.save({f"features.{k}": v for k, v in alexnet().features.state_dict().items()}, path)
    return path


def test_lpips_takes_its_backbone_from_the_local_file_and_stays_out_of_checkpoints(alexnet_file):
    net = lpips_net(alexnet_file)
    saved = torch.load(alexnet_file)
    assert torch.equal(net.net.slice3.state_dict()["6.weight"], saved["features.6.weight"])
    clean = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    noisy = (clean + 0.2 * torch.randn_like(clean)).clamp(0, 1)
    metrics = image_metrics("t/", extra=["lpips"], lpips=net)
    assert metrics(clean, clean)["t/lpips"].item() == pytest.approx(0.0, abs=1e-6)
    metrics.reset()
    per_image = net(noisy, clean, normalize=True).flatten()
    assert metrics(noisy, clean)["t/lpips"].item() == pytest.approx(per_image.mean().item())
    assert per_image.min() > 0
    assert not any("lpips" in k or "slice" in k for k in metrics.state_dict())


def test_lpips_without_its_file_names_the_file_and_where_it_comes_from(tmp_path):
    missing = tmp_path / "weights" / "alexnet-owt-7be5be79.pth"
    with pytest.raises(UserError) as info:
        lpips_net(missing)
    message = str(info.value)
    assert f"LPIPS weights {missing} not found" in message and "\n" not in message
    assert "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth" in message
    other = tmp_path / "other.pt"
    torch.save({"weight": torch.zeros(3)}, other)
    with pytest.raises(UserError, match="are not torchvision's AlexNet"):
        lpips_net(other)
