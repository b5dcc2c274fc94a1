"""Masks from image files, e.g. the NVIDIA irregular mask set of the partial-convolution paper."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from regenlab.data.images import IMAGE_SUFFIXES, list_images, read_image
from regenlab.degradations.params import sample_int
from regenlab.errors import ConfigError, UserError


@dataclass
class FolderMask:
    """Masks read from the images under ``root`` (searched recursively, sorted by path).

    Pixels brighter than ``threshold`` (in [0, 1)) are holes: white = hole; ``invert=True``
    for files that mark holes black. Each file is resized to the requested size with
    nearest-neighbour sampling (so it stays binary). Files are read on first use, not when
    the config is built, and kept per size as bool tensors on the CPU (1 byte per pixel).
    """

    root: str
    invert: bool = False
    threshold: float = 0.5
    _files: list[Path] | None = field(default=None, init=False, repr=False, compare=False)
    _cache: dict[tuple[int, int], Tensor] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t < 1:
            raise ConfigError(f"threshold must be a number in [0, 1), got {t!r}")

    def files(self) -> list[Path]:
        """The mask files, listed once; a missing or empty folder is a :class:`UserError`."""
        if self._files is None:
            folder = Path(self.root).expanduser()
            expected = (
                f"mask images ({', '.join(IMAGE_SUFFIXES)}, searched recursively; white = "
                "hole, or set invert=true for black = hole)"
            )
            if not folder.is_dir():
                raise UserError(f"mask folder {folder} does not exist; create it with {expected}")
            self._files = list_images(folder)
            if not self._files:
                raise UserError(f"no mask images in {folder}; put {expected} there")
        return self._files

    def masks(self, height: int, width: int) -> Tensor:
        """Every mask of the folder at (height, width): (count, 1, H, W) bool, cached."""
        if (height, width) not in self._cache:
            holes = []
            for path in self.files():  # one at a time: the files may differ in size
                x = read_image(path, 1)[None]
                x = F.interpolate(x, size=(height, width), mode="nearest-exact")[0]
                holes.append(x > self.threshold)
            stack = torch.stack(holes)
            self._cache[(height, width)] = ~stack if self.invert else stack
        return self._cache[(height, width)]

    def for_indices(
        self,
        indices: Sequence[int] | Tensor,
        height: int,
        width: int,
        device: torch.device | str = "cpu",
    ) -> Tensor:
        """The masks of items ``indices`` (n,): file ``i % count`` for item i, so a fixed
        evaluation set cycles through the folder. (n, 1, H, W) float32 in {0, 1}."""
        masks = self.masks(height, width)
        index = torch.as_tensor(indices, dtype=torch.long).cpu() % len(masks)
        return masks[index].to(device=device, dtype=torch.float32)

    def __call__(
        self,
        n: int,
        height: int,
        width: int,
        generator: torch.Generator,
        device: torch.device | str = "cpu",
    ) -> Tensor:
        """n masks (n, 1, H, W) drawn uniformly from the files; ``generator`` on ``device``."""
        count = len(self.masks(height, width))
        index = sample_int((0, count - 1), n, generator, torch.device(device))
        return self.for_indices(index, height, width, device)
