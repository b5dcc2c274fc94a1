"""Compose: order, per-image probabilities, random order, Hydra configs."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from regenlab.degradations import JPEG, Compose, Downsample, GaussianBlur, RustStains
from regenlab.errors import ConfigError
from tests.degradations.samples import gen


class Affine:
    """A step that records that it ran: x * a + b (order matters for two of them)."""

    def __init__(self, a: float, b: float):
        self.a, self.b = a, b

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return x * self.a + self.b


def test_fixed_order():
    x = torch.zeros(2, 1, 4, 4)
    assert torch.all(Compose([Affine(1, 1), Affine(2, 0)])(x, gen()) == 2)  # (0 + 1) * 2
    assert torch.all(Compose([Affine(2, 0), Affine(1, 1)])(x, gen()) == 1)  # 0 * 2 + 1


def test_probability_per_image():
    x = torch.zeros(64, 1, 2, 2)
    assert torch.equal(Compose([Affine(1, 1)], p=[0])(x, gen()), x)
    assert torch.all(Compose([Affine(1, 1)], p=[1])(x, gen()) == 1)
    y = Compose([Affine(1, 1)], p=[0.5])(x, gen())
    hit = y[:, 0, 0, 0] == 1
    assert torch.all((y == 0) | (y == 1)) and torch.equal(y.amin(dim=(1, 2, 3)), hit.float())
    assert 16 < hit.sum() < 48  # a mix within one batch, each image all or nothing


def test_random_order_is_reproducible_and_varies():
    steps = [Affine(1, 1), Affine(2, 0), Affine(1, -3)]
    x = torch.zeros(1, 1, 1, 1)
    comp = Compose(steps, order="random")
    outcomes = {comp(x, gen(seed)).item() for seed in range(40)}
    assert len(outcomes) >= 4  # several of the 6 orders occur
    for seed in range(5):
        assert comp(x, gen(seed)).item() == comp(x, gen(seed)).item()


def test_shape_changing_step_needs_p_one():
    x = torch.rand(2, 3, 16, 16)
    assert Compose([GaussianBlur(1), Downsample(2)])(x, gen()).shape == (2, 3, 8, 8)
    with pytest.raises(ConfigError, match=r"steps\[1\] changes the image shape.*p\[1\]=1"):
        Compose([GaussianBlur(1), Downsample(2)], p=[0.5, 0.5])(x, gen())


@pytest.mark.filterwarnings("ignore:The image decoding and encoding:DeprecationWarning")
def test_second_order_pipeline_from_hydra_config():
    cfg = OmegaConf.create(
        {
            "_target_": "regenlab.degradations.Compose",
            "_convert_": "partial",  # else Hydra wraps the list of (dataclass) steps in OmegaConf
            "order": "random",
            "p": [1.0, 0.5, 0.8],
            "steps": [
                {"_target_": "regenlab.degradations.GaussianBlur", "sigma": [0.2, 3]},
                {"_target_": "regenlab.degradations.JPEG", "quality": [30, 95]},
                {"_target_": "regenlab.degradations.RustStains", "coverage": [0.1, 0.2]},
            ],
        }
    )
    comp = instantiate(cfg)
    assert [type(s) for s in comp.steps] == [GaussianBlur, JPEG, RustStains]
    assert comp.steps[1].quality == (30, 95) and comp.p == [1.0, 0.5, 0.8]
    y = comp(torch.rand(4, 3, 32, 32), gen())
    assert y.shape == (4, 3, 32, 32) and y.dtype == torch.float32
