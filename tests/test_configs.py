"""Every option of every config group composes and builds its objects."""

from __future__ import annotations

import importlib.util
import itertools

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from regenlab.errors import ConfigError
from regenlab.metrics.generative import save_feature_net
from regenlab.nets.classifier import SmallConvNet
from regenlab.nets.weights import rename_keys
from regenlab.utils import config
from regenlab.utils.config import (
    CONF_DIR,
    check_accelerator,
    check_types,
    conf_dir,
    instantiate_all,
    instantiate_datamodule,
)
from regenlab.utils.console import user_error

GROUPS = [
    "model", "data", "degradation", "mask", "trainer", "callbacks", "logger", "experiment",
    "hparams_search", "debug",
]  # fmt: skip
# masks are not a top-level group: they fill the inpainting degradation's mask slot
PACKAGE = {"mask": "mask@degradation.mask"}
OPTIONS = [
    f"{PACKAGE.get(group, group)}={path.relative_to(group_dir).with_suffix('').as_posix()}"
    for group in GROUPS
    for group_dir in [conf_dir() / group]
    for path in sorted(group_dir.rglob("*.yaml"))
    if not path.stem.startswith("_") and "metrics" not in path.parts
]
# Options that only make sense for another kind of method are composed on top of the
# experiment that uses them (a GAN needs image data of a fixed size, not noisy crops).
COMPANION = {
    "experiment=dcgan": {
        "model=dcgan", "model=wgan_gp", "model=vae", "model=vae_bernoulli", "model=real_data",
        "data=mnist_digits", "callbacks=generative",
        "callbacks=sample_grid", "hparams_search=gan_optuna", "data=shapes", "data=mnist",
        "data=fashion_mnist", "data=cifar10", "data=svhn", "data=celeba", "data=image_folder",
    },
    "experiment=feature_net_shapes": {"model=classifier", "callbacks=classifier"},
    "experiment=sr_x4": {"model=unet_sr", "model=classical/bicubic"},
    "experiment=inpaint": {"model=inpaint", "model=inpaint_biharmonic", "callbacks=inpainting"},
    "experiment=inpaint degradation=inpaint_box": {
        f"mask@degradation.mask={p.stem}" for p in (conf_dir() / "mask").glob("*.yaml")
    },
    "degradation=paired": {"data=paired"},
}  # fmt: skip


def base_for(option: str) -> list[str]:
    return [o for base, options in COMPANION.items() if option in options for o in base.split()]


@pytest.fixture
def feature_net(tmp_path):
    """A real (untrained) feature-net file, so configs with FID/KID build offline."""
    path = tmp_path / "feature_net.pt"
    save_feature_net(SmallConvNet(channels=3, num_classes=4), path)
    return path


def test_every_group_has_options():
    assert {o.split("=")[0] for o in OPTIONS} == {PACKAGE.get(g, g) for g in GROUPS}


@pytest.mark.parametrize("override", OPTIONS)
def test_option_composes_and_builds(make_cfg, override, feature_net):
    if override == "model=classical/bm3d":
        pytest.importorskip("bm3d")  # an optional extra
    cfg = make_cfg(*base_for(override), override, quick=False)
    if OmegaConf.select(cfg, "model.metrics.features.path"):
        cfg.model.metrics.features.path = str(feature_net)
    if OmegaConf.select(cfg, "model.save_path"):
        cfg.model.save_path = str(feature_net.parent / "saved.pt")
    if OmegaConf.select(cfg, "model.weights"):  # published weights: a file under their keys
        cfg.model.weights = str(feature_net.parent / "published.pt")
        back = {new: old for old, new in (cfg.model.weights_key_map or {}).items()}
        torch.save(rename_keys(instantiate(cfg.model.net).state_dict(), back), cfg.model.weights)
    OmegaConf.resolve(cfg)  # every interpolation points somewhere
    check_types(cfg)  # no shipped value is refused by the type check
    assert cfg.model._target_ and cfg.trainer._target_
    instantiate(cfg.model)
    instantiate_datamodule(cfg)
    instantiate_all(cfg.get("callbacks"))
    if override in ("logger=mlflow", "logger=wandb"):  # optional extras: built where installed
        pytest.importorskip(override.removeprefix("logger="))
    instantiate_all(cfg.get("logger"))


def test_eval_config_composes(make_cfg):
    cfg = make_cfg("run_dir=somewhere", config_name="eval")
    assert cfg.run_dir == "somewhere" and cfg.ckpt_path is None


PAPER = sorted(p.stem for p in (conf_dir() / "experiment").glob("paper_*.yaml"))


@pytest.mark.parametrize("experiment", PAPER)
def test_every_job_of_a_paper_sweep_composes_and_builds(make_cfg, experiment, feature_net):
    """The paper experiments are multiruns: each job of the grid must build before a long
    sweep starts (a typo would otherwise fail one job an hour in)."""
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        hydra_cfg = compose("train", [f"experiment={experiment}"], return_hydra_config=True)
    assert hydra_cfg.hydra.mode.name == "MULTIRUN"
    params = hydra_cfg.hydra.sweeper.params
    grid = [[f"{k}={v}" for v in str(values).split(",")] for k, values in params.items()]
    for job in itertools.product(*grid):
        if "model=classical/bm3d" in job and importlib.util.find_spec("bm3d") is None:
            continue  # an optional extra
        cfg = make_cfg(f"experiment={experiment}", *job, quick=False)
        if OmegaConf.select(cfg, "model.metrics.features.path"):
            cfg.model.metrics.features.path = str(feature_net)
        OmegaConf.resolve(cfg)
        check_types(cfg)
        instantiate(cfg.model)
        instantiate_datamodule(cfg)


@pytest.mark.parametrize("native, precision", [(True, "bf16-mixed"), (False, 32)])
def test_wall_time_recipes_take_bf16_only_where_it_is_native(
    make_cfg, monkeypatch, native, precision
):
    """Emulated bf16 (an AVX2-only CPU) is 11-26x slower: a recipe sized in minutes must not
    take it there, and the saved config records what was chosen."""
    monkeypatch.setattr(config, "native_bf16", lambda accelerator="auto": native)
    for experiment in ("denoise_sigma25_bm3d", "paper_denoise"):
        cfg = make_cfg(f"experiment={experiment}", quick=False)
        OmegaConf.resolve(cfg)
        assert cfg.trainer.precision == precision


def test_bm3d_recipe_sizes_its_schedule_by_bf16(make_cfg, monkeypatch):
    """Without native bf16 the steps run several times slower: the 30-minute recipe takes
    fewer of them there, on a narrower net, and the cosine schedule still ends on the last
    step."""
    steps, widths = {}, {}
    for native in (True, False):
        monkeypatch.setattr(config, "native_bf16", lambda accelerator="auto", n=native: n)
        cfg = make_cfg("experiment=denoise_sigma25_bm3d", quick=False)
        OmegaConf.resolve(cfg)
        assert cfg.model.scheduler.T_max == cfg.trainer.max_steps
        steps[native], widths[native] = cfg.trainer.max_steps, cfg.model.net.width
    assert steps[True] > steps[False] and widths[True] > widths[False]


@pytest.mark.parametrize("native, warned", [(True, False), (False, True)])
def test_emulated_bf16_on_the_cpu_is_warned_about(monkeypatch, caplog, native, warned):
    monkeypatch.setattr(config, "native_bf16", lambda accelerator="auto": native)
    check_accelerator(OmegaConf.create({"accelerator": "cpu", "precision": "bf16-mixed"}))
    check_accelerator(OmegaConf.create({"accelerator": "cpu", "precision": "32"}))
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == warned
    assert not warned or ("emulated" in messages[0] and "trainer.precision=32" in messages[0])


@pytest.mark.parametrize(
    ("override", "message"),
    [("trainer.max_epochs=1.5", "trainer.max_epochs=1.5: expected an integer or null"),
     ("degradation.sigma=abc", "degradation.sigma='abc': expected a number or a list"),
     ("degradation.sigma=[5,x]", "degradation.sigma=[5, 'x']: expected a number or a list"),
     ("model.net.levels=abc", "model.net.levels='abc': expected an integer"),
     ("model.net.residual=maybe", "model.net.residual='maybe': expected true or false"),
     ("model.optimizer.lr=abc", "model.optimizer.lr='abc': expected a number"),
     ("trainer.max_steps=abc", "T_max='abc' (from ${trainer.max_steps}): expected an integer"),
     ("seed=x", "seed='x' must be an integer")],
)  # fmt: skip
def test_a_value_of_the_wrong_type_names_its_key(make_cfg, override, message):
    """Before: a traceback from inside the target (or from seed_everything)."""
    with pytest.raises(ConfigError) as error:
        check_types(make_cfg(override))
    assert message in str(error.value)


def test_a_type_error_while_building_a_node_is_a_user_error(make_cfg):
    """What the type check cannot see (a key the target does not take) is one line too."""
    cfg = make_cfg("+model.net.foo=1")
    with pytest.raises(InstantiationException) as error:
        instantiate(cfg.model)
    assert user_error(error.value) == (
        "model.net: UNet.__init__() got an unexpected keyword argument 'foo' (check the keys "
        "and values of model.net)"
    )
