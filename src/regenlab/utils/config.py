"""Where the configs live and how config nodes become objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig


def conf_dir() -> Path:
    """``regenlab/conf`` inside an installed wheel, else the repository's ``conf/``."""
    packaged = Path(__file__).resolve().parents[1] / "conf"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[3] / "conf"


CONF_DIR = str(conf_dir())


def instantiate_all(group: DictConfig | None) -> list[Any]:
    """Objects of every ``_target_`` node in a group such as ``callbacks`` or ``logger``."""
    return [instantiate(node) for node in (group or {}).values() if node and "_target_" in node]


def instantiate_datamodule(cfg: DictConfig) -> Any:
    """``data``, given the top-level ``degradation`` when the run has one (restoration).

    The degradation is built on its own first, so its errors name ``degradation``.
    """
    if cfg.get("degradation") is None:
        return instantiate(cfg.data)
    degradation = instantiate(cfg.degradation)  # an object, so it is passed, not merged
    return instantiate(cfg.data, _partial_=True)(degradation=degradation)
