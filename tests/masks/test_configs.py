"""Every conf/mask option composes and builds its generator; folder masks load lazily."""

from __future__ import annotations

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from omegaconf import OmegaConf

from regenlab.errors import UserError
from regenlab.masks import BoxMask, FolderMask, StrokeMask
from regenlab.utils.config import CONF_DIR, conf_dir

OPTIONS = sorted(path.stem for path in (conf_dir() / "mask").glob("*.yaml"))
KINDS = {"box": BoxMask, "box_center": BoxMask, "strokes": StrokeMask, "folder": FolderMask}


def build(option: str, data_dir) -> object:
    GlobalHydra.instance().clear()
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        cfg = compose(overrides=[f"+mask={option}"])
    GlobalHydra.instance().clear()
    return instantiate(OmegaConf.merge({"paths": {"data_dir": str(data_dir)}}, cfg).mask)


def test_every_option_is_known():
    assert sorted(KINDS) == OPTIONS


@pytest.mark.parametrize("option", [o for o in OPTIONS if o != "folder"])
def test_option_builds_a_generator(option, tmp_path):
    mask = build(option, tmp_path)
    assert isinstance(mask, KINDS[option])
    assert mask(2, 32, 32, torch.Generator()).shape == (2, 1, 32, 32)
    if option == "box_center":
        assert mask.centered


def test_folder_option_reads_data_dir_masks_on_first_use(tmp_path, mask_folder):
    mask = build("folder", tmp_path / "empty")  # builds: nothing is read yet
    with pytest.raises(UserError, match=r"mask folder .*empty/masks does not exist"):
        mask(1, 8, 8, torch.Generator())
    assert build("folder", mask_folder.parent)(3, 8, 12, torch.Generator()).shape == (3, 1, 8, 12)
