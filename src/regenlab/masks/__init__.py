"""Inpainting masks: batched, seeded generators of (n, 1, H, W) float32 masks, 1 = hole.

Each generator is a small config class for Hydra (``_target_: regenlab.masks.box.BoxMask``)
called as ``mask(n, height, width, generator, device)``; all randomness comes from that
generator, so a generator seeded per (seed, index) gives a fixed evaluation set.
"""

from regenlab.masks.box import BoxMask, box_masks
from regenlab.masks.folder import FolderMask
from regenlab.masks.holes import Holes
from regenlab.masks.ops import apply_mask, check_mask, composite, mask_ratio
from regenlab.masks.strokes import Segments, StrokeMask, paint_until, segment_arc, stroke_arc

__all__ = [
    "BoxMask",
    "FolderMask",
    "Holes",
    "Segments",
    "StrokeMask",
    "apply_mask",
    "box_masks",
    "check_mask",
    "composite",
    "mask_ratio",
    "paint_until",
    "segment_arc",
    "stroke_arc",
]
