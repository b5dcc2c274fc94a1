"""Degradation pipelines: steps in fixed or random order, each applied to a random subset."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from regenlab.errors import ConfigError

Step = Callable[[Tensor, torch.Generator], Tensor]
ORDERS = ("fixed", "random")


@dataclass
class Compose:
    """Apply ``steps`` (degradation objects) in sequence; e.g. blur -> downsample -> noise -> JPEG.

    ``order="random"`` shuffles the steps once per batch (from the generator). ``p[i]`` is the
    probability that step i is applied to each image, drawn per image; images not drawn keep
    their input. A step that changes the image size (``Downsample`` without upsampling) must
    have p = 1 (a ConfigError when the batch reaches it otherwise). Two chained blur / noise /
    resize / JPEG stages give Real-ESRGAN-style second-order degradation as a config.

    In a Hydra config, set ``_convert_: partial`` so that the instantiated steps arrive as a
    plain list (Hydra would otherwise re-wrap the dataclass steps in an OmegaConf container)::

        _target_: regenlab.degradations.Compose
        _convert_: partial
        p: [1.0, 0.5]
        steps:
          - {_target_: regenlab.degradations.GaussianBlur, sigma: [0.2, 3]}
          - {_target_: regenlab.degradations.JPEG, quality: [30, 95]}
    """

    steps: Sequence[Step]
    order: str = "fixed"
    p: Sequence[float] | None = None

    def __post_init__(self) -> None:
        self.steps = list(self.steps)
        if not self.steps:
            raise ConfigError("steps must list at least one degradation, got an empty list")
        if self.order not in ORDERS:
            raise ConfigError(f"order must be one of {', '.join(ORDERS)}; got {self.order!r}")
        p = [1.0] * len(self.steps) if self.p is None else [float(v) for v in self.p]
        if len(p) != len(self.steps):
            raise ConfigError(
                f"p must have one probability per step ({len(self.steps)}), got {len(p)}: {p}"
            )
        if not all(0 <= v <= 1 for v in p):
            raise ConfigError(f"p values must be in [0, 1], got {p}")
        self.p = p

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        order = range(len(self.steps))
        if self.order == "random":
            order = torch.randperm(len(self.steps), generator=generator, device=x.device).tolist()
        for i in order:
            p = self.p[i]
            if p == 0:
                continue
            y = self.steps[i](x, generator)
            if p < 1:
                if y.shape != x.shape:
                    raise ConfigError(
                        f"steps[{i}] changes the image shape {tuple(x.shape)} -> "
                        f"{tuple(y.shape)}, so it cannot be skipped per image; set p[{i}]=1"
                    )
                keep = torch.rand(x.shape[0], generator=generator, device=x.device) >= p
                y = torch.where(keep.view(-1, 1, 1, 1), x, y)
            x = y
        return x
