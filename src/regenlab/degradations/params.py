"""Parameter ranges shared by every degradation: validated once, sampled per image."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from regenlab.errors import ConfigError

Range = tuple[float, float]


def _bounds(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"in [{low:g}, {high:g}]"
    return f">= {low:g}" if low is not None else f"<= {high:g}"


def as_range(
    value: float | Sequence[float],
    name: str,
    low: float | None = None,
    high: float | None = None,
) -> Range:
    """Turn ``25`` or ``[0, 55]`` into a checked ``(lo, hi)`` pair.

    A fixed value is the degenerate range ``(v, v)``, so callers sample both cases alike.
    """
    if isinstance(value, (int, float)):
        lo = hi = float(value)
    else:
        values = [float(v) for v in value]
        if len(values) != 2:
            raise ConfigError(f"{name} must be a number or a [low, high] pair, got {list(value)}")
        lo, hi = values
    if lo > hi:
        raise ConfigError(f"{name} range is reversed: [{lo}, {hi}]; write it as [low, high]")
    if low is not None and lo < low:
        raise ConfigError(f"{name} must be {_bounds(low, high)}, got {lo:g}")
    if high is not None and hi > high:
        raise ConfigError(f"{name} must be {_bounds(low, high)}, got {hi:g}")
    return lo, hi


def as_int(value: float, name: str, low: int | None = None, high: int | None = None) -> int:
    """A whole number (``4``, or ``4.0`` from a YAML file) within bounds; ``2.5`` is an error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be an integer {_bounds(low, high)}, got {value!r}")
    lo, _ = as_range(value, name, low, high)
    if not lo.is_integer():
        raise ConfigError(f"{name} must be an integer {_bounds(low, high)}, got {value!r}")
    return int(lo)


def check_ints(prefix: str, **checks: tuple[object, int]) -> None:
    """``check_ints("data", batch_size=(value, 1))``: each value a whole number >= its bound,
    named by its config key in the error."""
    for name, (value, low) in checks.items():
        as_int(value, f"{prefix}.{name}", low=low)


def as_int_range(
    value: float | Sequence[float], name: str, low: int | None = None, high: int | None = None
) -> tuple[int, int]:
    """:func:`as_range` for whole numbers (e.g. JPEG quality ``[30, 95]``)."""
    lo, hi = as_range(value, name, low, high)
    if not (lo.is_integer() and hi.is_integer()):
        raise ConfigError(f"{name} must be integers {_bounds(low, high)}, got [{lo:g}, {hi:g}]")
    return int(lo), int(hi)


def sample(r: Range, n: int, generator: torch.Generator, device: torch.device) -> Tensor:
    """Draw ``n`` values uniformly from ``r`` (one per image) on ``device``."""
    lo, hi = r
    out = torch.empty(n, device=device)
    if lo == hi:
        return out.fill_(lo)
    return out.uniform_(lo, hi, generator=generator)


def sample_int(
    r: tuple[int, int], n: int, generator: torch.Generator, device: torch.device
) -> Tensor:
    """Draw ``n`` integers uniformly from ``[lo, hi]`` inclusive, as an int64 tensor (n,)."""
    lo, hi = r
    if lo == hi:
        return torch.full((n,), lo, device=device)
    return torch.randint(lo, hi + 1, (n,), generator=generator, device=device)


def per_image(v: Tensor, x: Tensor) -> Tensor:
    """A per-image parameter (B,) as (B, 1, 1, 1) in x's dtype, to broadcast over C, H, W."""
    return v.to(x.dtype).view(-1, 1, 1, 1)
