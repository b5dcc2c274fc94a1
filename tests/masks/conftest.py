"""A tiny folder of mask files in different sizes and formats, and what they become."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

# The requested size differs from every file's size, so each file gets resized.
SIZE = (8, 12)
BRIGHT, DARK = 200, 30  # 0.78 and 0.12: holes at threshold 0.5, neither at 0.9


def expected_masks() -> torch.Tensor:
    """The three files at SIZE, white = hole: the left half, the top half, the top-left quarter."""
    h, w = SIZE
    rows = torch.arange(h).view(-1, 1) < h // 2
    cols = torch.arange(w).view(1, -1) < w // 2
    masks = [cols.expand(h, w), rows.expand(h, w), rows & cols]
    return torch.stack(masks).unsqueeze(1).float()


@pytest.fixture
def mask_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "masks"
    folder.mkdir()
    left = np.full((16, 16), DARK, np.uint8)
    left[:, :8] = BRIGHT
    top = np.full((32, 24), DARK, np.uint8)
    top[:16] = BRIGHT
    quarter = np.full((20, 30, 3), DARK, np.uint8)  # RGB, read as gray
    quarter[:10, :15] = BRIGHT
    Image.fromarray(left).save(folder / "a.png")
    Image.fromarray(top).save(folder / "b.png")
    Image.fromarray(quarter).save(folder / "c.png")
    (folder / "notes.txt").write_text("not a mask")
    return folder
