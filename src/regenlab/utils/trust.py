"""Which ``_target_``s a run dir's saved config may name.

``instantiate`` runs whatever a config's ``_target_`` names: a crafted ``config.yaml`` with
``{_target_: torch.load, f: evil.ckpt, weights_only: false}`` runs a pickle, ``os.system``
a shell command. A config read back from a run dir (eval, predict, resume) is therefore
checked, every node of it, before anything is built: its targets must be the ones conf/
uses, or classes and functions defined at module level in the packages a config builds
from. Methods (``RestorationModule.load_from_checkpoint``) and the rest of regenlab
(``regenlab.eval.load_weights``, which can unpickle) are refused.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from regenlab.errors import UserError
from regenlab.utils.config import conf_dir

# packages whose module-level classes and functions a config may build
TRUSTED_PACKAGES = (
    "regenlab.nets", "regenlab.models", "regenlab.data", "regenlab.degradations",
    "regenlab.masks", "regenlab.metrics", "regenlab.baselines", "regenlab.callbacks",
    "torch.nn", "torch.optim", "torchmetrics", "lightning.pytorch.callbacks",
    "lightning.pytorch.loggers", "lightning.pytorch.strategies", "lightning.pytorch.plugins",
)  # fmt: skip
ENV = "REGENLAB_TRUSTED_TARGETS"  # comma-separated targets the user vouches for


def targets(node: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """(key, target) of every ``_target_`` in a plain container, lists and ``_args_`` too."""
    if isinstance(node, dict):
        for k, v in node.items():
            name = f"{key}.{k}" if key else str(k)
            if k == "_target_":
                yield name, v
            else:
                yield from targets(v, name)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from targets(v, f"{key}[{i}]")


@functools.cache
def conf_targets() -> frozenset[str]:
    """Every target conf/ names (the configs regenlab ships are trusted by definition)."""
    found = set()
    for path in conf_dir().rglob("*.yaml"):
        container = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
        found |= {t for _, t in targets(container) if isinstance(t, str)}
    return frozenset(found)


def in_packages(module: str) -> bool:
    return any(module == p or module.startswith(f"{p}.") for p in TRUSTED_PACKAGES)


def module_level(target: str) -> bool:
    """Whether ``target`` is ``<module>.<name>``, defined in a trusted package (not merely
    imported there, as ``torch.load`` or ``os`` might be). Only trusted packages are
    imported to find out."""
    parent, _, name = target.rpartition(".")
    if not in_packages(parent) or not name.isidentifier() or name.startswith("_"):
        return False
    try:
        obj = getattr(importlib.import_module(parent), name, None)
    except ImportError:  # the parent is a class (a method was named), or no module at all
        return False
    return callable(obj) and in_packages(getattr(obj, "__module__", None) or "")


def is_trusted(target: Any) -> bool:
    if not isinstance(target, str):
        return False
    vouched = {t.strip() for t in os.environ.get(ENV, "").split(",") if t.strip()}
    return target in conf_targets() or target in vouched or module_level(target)


def check_trusted(cfg: Any, source: str | Path) -> None:
    """Refuse a config read from ``source`` if any of its targets is not trusted."""
    container = OmegaConf.to_container(cfg, resolve=False)  # resolvers run nothing yet
    for key, target in targets(container):
        if not is_trusted(target):
            raise UserError(
                f"{source}: refusing {key}={target}: building it could run any code, and it "
                "is not a target of conf/ nor a class of regenlab's nets/models/data/"
                "metrics, torch.nn, torch.optim, torchmetrics or Lightning; if you trust "
                f"this run, set {ENV}={target}"
            )
