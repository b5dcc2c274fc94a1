"""Parameter ranges shared by every degradation: validated once, sampled per image."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from regenlab.errors import ConfigError

Range = tuple[float, float]


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
        raise ConfigError(f"{name} must be >= {low:g}, got {lo:g}")
    if high is not None and hi > high:
        raise ConfigError(f"{name} must be <= {high:g}, got {hi:g}")
    return lo, hi


def sample(r: Range, n: int, generator: torch.Generator, device: torch.device) -> Tensor:
    """Draw ``n`` values uniformly from ``r`` (one per image) on ``device``."""
    lo, hi = r
    out = torch.empty(n, device=device)
    if lo == hi:
        return out.fill_(lo)
    return out.uniform_(lo, hi, generator=generator)
