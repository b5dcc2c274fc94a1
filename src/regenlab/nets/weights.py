"""Published weights (a plain ``state_dict`` file) into a regenlab net, checked key by key.

Authors publish weights under their own module names (the DnCNN authors' ``dncnn.0.weight``
is regenlab's ``body.0.weight``): ``key_map`` renames key prefixes before loading. Loading is
strict: a missing or unexpected key or a shape that differs is a user error naming one of
them, never a silently half-loaded net.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from regenlab.errors import UserError


def read_state_dict(path: str | Path, entry: str | None = None) -> dict[str, Tensor]:
    """The tensors of a ``state_dict`` file, read with ``weights_only=True`` (a file cannot
    run code on load); ``entry`` picks a nested dict (BasicSR/KAIR save ``params``)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"weights file {path} does not exist; set model.weights=<file>")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UserError(
            f"weights file {path} holds pickled objects, not a plain state_dict; load it in "
            f"Python and torch.save(model.state_dict(), ...) ({str(exc).splitlines()[0]})"
        ) from None
    except (OSError, RuntimeError, EOFError, ValueError) as exc:
        raise UserError(f"cannot read weights file {path} ({type(exc).__name__}: {exc})") from None
    if entry is not None:
        if not isinstance(state, Mapping) or entry not in state:
            found = list(state)[:5] if isinstance(state, Mapping) else type(state).__name__
            raise UserError(f"weights file {path} has no entry '{entry}' (it has {found})")
        state = state[entry]
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise UserError(
            f"weights file {path} is not a state_dict (a dict of tensors); for a nested one "
            "set model.weights_entry=<key>"
        )
    return dict(state)


def rename_keys(state: Mapping[str, Tensor], key_map: Mapping[str, str]) -> dict[str, Tensor]:
    """Each key starting with a prefix of ``key_map`` gets that prefix replaced (first match)."""
    renamed = {}
    for key, value in state.items():
        for old, new in key_map.items():
            if key.startswith(old):
                key = new + key[len(old) :]
                break
        renamed[key] = value
    return renamed


def load_weights_file(
    net: nn.Module,
    path: str | Path,
    key_map: Mapping[str, str] | None = None,
    strict: bool = True,
    entry: str | None = None,
) -> None:
    """Load a published ``state_dict`` into ``net``. ``strict=False`` tolerates missing and
    unexpected keys (never a shape that differs)."""
    state = rename_keys(read_state_dict(path, entry), key_map or {})
    own = net.state_dict()
    where = f"weights {path} do not fit {type(net).__name__}"
    shapes = [
        f"{k}: file {tuple(v.shape)} vs net {tuple(own[k].shape)}"
        for k, v in state.items()
        if k in own and own[k].shape != v.shape
    ]
    if shapes:
        raise UserError(f"{where}: {len(shapes)} shapes differ, e.g. {shapes[0]}")
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if strict and (missing or unexpected):
        parts = [
            f"{len(keys)} {what}, e.g. '{keys[0]}'"
            for what, keys in (("missing", missing), ("unexpected", unexpected))
            if keys
        ]
        hint = f"net keys look like '{next(iter(own))}', file keys like '{next(iter(state))}'"
        raise UserError(
            f"{where}: {'; '.join(parts)} ({hint}; map prefixes with "
            "model.weights_key_map='{old.:new.}', or model.weights_strict=false)"
        )
    net.load_state_dict(state, strict=False)
