"""Parameter checks shared by the mask generators."""

from __future__ import annotations

from collections.abc import Sequence

from regenlab.degradations.params import Range, as_range
from regenlab.errors import ConfigError


def positive_range(value: float | Sequence[float], name: str, high: float | None = None) -> Range:
    """:func:`as_range` for sizes that must be > 0 (a 0 box side or brush width is no hole)."""
    lo, hi = as_range(value, name, high=high)
    if not lo > 0:
        bounds = f"in (0, {high:g}]" if high is not None else "> 0"
        raise ConfigError(f"{name} must be {bounds}, got {lo:g}")
    return lo, hi
