"""Optimizer and per-step schedule from config factories (``_partial_: true``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

OptimizerFactory = Callable[..., torch.optim.Optimizer]
SchedulerFactory = Callable[..., torch.optim.lr_scheduler.LRScheduler]


def optimizers(
    params: Iterable[torch.nn.Parameter],
    optimizer: OptimizerFactory,
    scheduler: SchedulerFactory | None = None,
) -> dict[str, Any]:
    """What ``configure_optimizers`` returns; schedules step per optimizer step, because
    regenlab's runs are sized in steps (``T_max: ${trainer.max_steps}``)."""
    opt = optimizer(params=params)
    if scheduler is None:
        return {"optimizer": opt}
    schedule = {"scheduler": scheduler(optimizer=opt), "interval": "step"}
    return {"optimizer": opt, "lr_scheduler": schedule}
