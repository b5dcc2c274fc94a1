"""Every option of every config group composes and builds its objects."""

from __future__ import annotations

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from regenlab.utils.config import conf_dir, instantiate_all, instantiate_datamodule

GROUPS = ["model", "data", "degradation", "trainer", "callbacks", "logger", "experiment", "debug"]
OPTIONS = [
    f"{group}={path.stem}"
    for group in GROUPS
    for path in sorted((conf_dir() / group).glob("*.yaml"))
    if not path.stem.startswith("_")
]


def test_every_group_has_options():
    assert {o.split("=")[0] for o in OPTIONS} == set(GROUPS)


@pytest.mark.parametrize("override", OPTIONS)
def test_option_composes_and_builds(make_cfg, override):
    cfg = make_cfg(override, quick=False)
    OmegaConf.resolve(cfg)  # every interpolation points somewhere
    assert cfg.model._target_ and cfg.trainer._target_
    instantiate(cfg.model)
    instantiate_datamodule(cfg)
    instantiate_all(cfg.get("callbacks"))
    instantiate_all(cfg.get("logger"))


def test_eval_config_composes(make_cfg):
    cfg = make_cfg("run_dir=somewhere", config_name="eval")
    assert cfg.run_dir == "somewhere" and cfg.ckpt_path is None
