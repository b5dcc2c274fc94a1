"""Every degradation class: dtype, range, shape, seeded determinism, Hydra instantiation."""

from __future__ import annotations

import types

import pytest
import torch
import yaml
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf

import regenlab.degradations as D
from regenlab.degradations.compose import Compose
from tests.degradations.samples import gen, natural

pytestmark = pytest.mark.filterwarnings("ignore:The image decoding and encoding:DeprecationWarning")

# name -> (Hydra config without _target_, stochastic)
CONFIGS = {
    "GaussianNoise": ({"sigma": [0, 55]}, True),
    "PoissonNoise": ({"scale": [5, 100]}, True),
    "SpeckleNoise": ({"sigma": [0.05, 0.3]}, True),
    "SaltAndPepper": ({"amount": [0.01, 0.1], "salt_vs_pepper": [0.3, 0.7]}, True),
    "GaussianBlur": ({"sigma": [0.2, 3]}, True),
    "AnisotropicBlur": ({"sigma_x": [0.2, 3], "sigma_y": [0.2, 3], "angle": [0, 180]}, True),
    "MotionBlur": ({"length": [3, 15], "curvature": 1.0}, True),
    "DefocusBlur": ({"radius": [1, 4]}, True),
    "JPEG": ({"quality": [20, 90]}, True),
    "Downsample": ({"scale": 4, "upsample": False}, False),
    "Haze": ({"beta": [0.5, 2.5], "airlight": [0.7, 1], "depth": "mixed"}, True),
    "RustStains": ({"coverage": [0.05, 0.3], "opacity": [0.6, 0.95]}, True),
}


def build(name: str):
    """Instantiate as Hydra does, so list arguments arrive as ListConfig."""
    return instantiate(
        OmegaConf.create({"_target_": f"regenlab.degradations.{name}", **CONFIGS[name][0]})
    )


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("name", CONFIGS)
def test_float32_in_unit_range_and_shape(name, channels):
    x = natural(channels, batch=4, size=48)
    y = build(name)(x, gen())
    assert y.dtype == torch.float32 and y.device == x.device
    if name == "Downsample":
        assert y.shape == (4, channels, 12, 12)
    else:
        assert y.shape == x.shape and not torch.equal(y, x)
    if name != "GaussianNoise":  # AWGN stays unclipped by convention
        assert y.min() >= 0 and y.max() <= 1


@pytest.mark.parametrize("name", CONFIGS)
def test_same_seed_same_output_different_seed_differs(name):
    degrade, stochastic = build(name), CONFIGS[name][1]
    x = natural(3, batch=4, size=48)
    torch.manual_seed(1)
    a = degrade(x, gen(7))
    torch.manual_seed(2)  # the global RNG must play no part
    b = degrade(x, gen(7))
    assert torch.equal(a, b)
    assert torch.equal(a, degrade(x, gen(7)))
    if stochastic:
        assert not torch.equal(a, degrade(x, gen(8)))


def test_compose_is_deterministic_and_in_range():
    comp = Compose(
        [D.GaussianBlur(), D.Downsample(2, upsample=True), D.PoissonNoise(), D.JPEG()],
        order="random",
        p=[0.8, 1.0, 0.5, 0.7],
    )
    x = natural(3, batch=8, size=48)
    a = comp(x, gen(3))
    assert a.dtype == torch.float32 and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, comp(x, gen(3))) and not torch.equal(a, comp(x, gen(4)))


def test_compose_docstring_config_instantiates():
    text = Compose.__doc__.split("::")[1]
    cfg = OmegaConf.create(yaml.safe_load(text.replace("\n        ", "\n")))
    comp = instantiate(cfg)
    assert isinstance(comp.steps, list) and isinstance(comp.steps[1], D.JPEG)
    assert comp(natural(3, batch=2, size=32), gen()).shape == (2, 3, 32, 32)


MODULES = ["noise", "blur", "jpeg", "resize", "haze", "rust", "compose"]


def test_every_class_has_a_module_target():
    """``_target_: regenlab.degradations.<module>.<Class>`` resolves, for every exported class.

    Hydra walks the dotted path with getattr, so a package-level function named like its
    module (e.g. a function ``haze`` in ``haze.py``) would shadow the module and break it.
    """
    classes = {n for n in D.__all__ if n[0].isupper()}
    found = set()
    for module in MODULES:
        assert isinstance(getattr(D, module), types.ModuleType)
        for name in classes:
            if hasattr(getattr(D, module), name):
                assert get_class(f"regenlab.degradations.{module}.{name}") is getattr(D, name)
                found.add(name)
    assert found == classes
