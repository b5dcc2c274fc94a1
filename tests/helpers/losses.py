"""Losses that misbehave on purpose, for the reliability tests."""

from __future__ import annotations

import torch
from torch import nn


class NaNFromCall(nn.L1Loss):
    """L1 loss that returns NaN from its ``start``-th training call on (eval calls are fine)."""

    def __init__(self, start: int = 3):
        super().__init__()
        self.start, self.calls = start, 0

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = super().forward(x, y)
        if torch.is_grad_enabled():
            self.calls += 1
            if self.calls >= self.start:
                return loss * float("nan")
        return loss
