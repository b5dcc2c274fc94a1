"""Free-form brush strokes (DeepFill v2, partial convolutions) with a controlled hole area."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from regenlab.degradations.params import as_int, as_range, sample, sample_int
from regenlab.masks.params import positive_range

# Each round adds strokes to the images still below their target; with the defaults a batch
# needs under 10 rounds. The cap only bounds pathological settings (an area near 1 with a thin
# brush on a large image), where an image may then stop below its target.
MAX_ROUNDS = 100
# DeepFill v2's zig-zag: consecutive segments turn alternately left and right of the stroke's
# heading by 72 +- 24 degrees.
ZIGZAG = (2 * math.pi / 5 - 2 * math.pi / 15, 2 * math.pi / 5 + 2 * math.pi / 15)
# Pixel-segment pairs evaluated at once (16 MiB per float32 temporary): bounds the memory.
CHUNK = 2**22


class Segments(NamedTuple):
    """Straight pieces of brush strokes, one per row: from ``start`` to ``end`` (k, 2) as
    (x, y) in pixels, ``offset`` (k,) the stroke's length before the piece, brush ``radius``
    (k,) in pixels, and the ``image`` (k,) it is painted on."""

    start: Tensor
    end: Tensor
    offset: Tensor
    radius: Tensor
    image: Tensor


def segment_arc(segments: Segments, size: tuple[int, int]) -> Tensor:
    """How far along its stroke each segment paints each pixel: (k, H, W) arc lengths.

    Pixel (i, j) has its centre at (j + 0.5, i + 0.5). Within the brush radius of the
    segment (its capsule: a thick segment with round ends) the value is the stroke's arc
    length (``offset`` plus the distance along the segment) at the pixel's projection on the
    segment, capped at its end; inf outside. Behind the start it is negative, so even the
    round start cap fills gradually. No square roots: they are slow on some CPUs.
    """
    start, end, offset, radius, _ = segments
    k, device = len(start), start.device
    d = end - start
    length = d.norm(dim=1).view(k, 1, 1)
    # Unit direction; any one for a zero-length segment (a disk then, as it should be).
    u = torch.where(length.view(k, 1) > 0, d / length.view(k, 1), d.new_tensor([1, 0]))
    ys = torch.arange(size[0], device=device, dtype=torch.float32).add_(0.5) - start[:, 1:]
    xs = torch.arange(size[1], device=device, dtype=torch.float32).add_(0.5) - start[:, :1]
    ux, uy = u[:, 0].view(k, 1, 1), u[:, 1].view(k, 1, 1)
    along = xs.unsqueeze(1) * ux + ys.unsqueeze(2) * uy
    across = ys.unsqueeze(2) * ux - xs.unsqueeze(1) * uy
    arc = torch.minimum(along, length).add_(offset.view(k, 1, 1))
    beyond = along.sub_(along.clamp(min=0).minimum(length))  # to the nearest segment point
    outside = across.square_().add_(beyond.square_()) > radius.view(k, 1, 1) ** 2
    return arc.masked_fill_(outside, math.inf)


def stroke_arc(segments: Segments, n: int, size: tuple[int, int]) -> Tensor:
    """:func:`segment_arc`, the least over all segments of each image: (n, H * W).

    All strokes of an image are painted at once, each measured from its own start, so
    ``arc <= s`` is every stroke cut (square) at length ``s``, and ``arc < inf`` the full
    strokes. Segments are evaluated in chunks of ``CHUNK`` pixel-segment pairs, each
    vectorised over the segments of all images and the pixels.
    """
    arc = torch.full((n, size[0] * size[1]), math.inf, device=segments.start.device)
    rows = max(1, CHUNK // arc.shape[1])
    for i in range(0, len(segments.start), rows):
        chunk = Segments(*(t[i : i + rows] for t in segments))
        values = segment_arc(chunk, size).flatten(1)
        arc.scatter_reduce_(0, chunk.image.unsqueeze(1).expand_as(values), values, "amin")
    return arc


def paint_until(holes: Tensor, arc: Tensor, target: Tensor) -> Tensor:
    """Paint the strokes of :func:`stroke_arc` only as far as each image's target allows.

    ``holes`` (n, P) bool, ``arc`` (n, P), ``target`` (n,) hole counts. The new pixels with
    the smallest arc are added until there are ``target`` holes: the brush lifts there. An
    image whose strokes are too short gets the full strokes; ties at the cut (pixels at the
    same arc length) are the only excess.
    """
    arc = arc.masked_fill(holes, math.inf)
    need = (target - holes.sum(1)).clamp(1, holes.shape[1])
    cut = arc.sort(dim=1).values.gather(1, (need - 1).unsqueeze(1))
    return holes | ((arc <= cut) & arc.isfinite())


@dataclass
class StrokeMask:
    """Free-form holes: zig-zag brush strokes as in DeepFill v2, painted to a set hole area.

    Each image draws a target hole ratio from ``area`` ([low, high] in [0, 1]). A round gives
    every image still below its target 1 to ``max_strokes`` strokes: a random start point and
    heading, then ``(max_vertices + 1) // 2`` to ``max_vertices`` segments of random length
    (1/8 of the image diagonal on average) turning alternately left and right, painted with
    one brush ``width`` per stroke (a fraction of the shorter image side). The strokes of a
    round grow together and the brush lifts as soon as the target is reached
    (:func:`paint_until`), so the final ratio is the target to within a few pixels; images
    whose strokes fall short get another round of strokes. Loops over rounds and segment
    chunks only, each step vectorised over images and pixels.
    """

    area: float | Sequence[float] = (0.1, 0.4)
    max_vertices: int = 8
    width: float | Sequence[float] = (0.05, 0.12)
    max_strokes: int = 4

    def __post_init__(self) -> None:
        self.area = as_range(self.area, "area", low=0, high=1)
        self.max_vertices = as_int(self.max_vertices, "max_vertices", low=1)
        self.width = positive_range(self.width, "width", high=1)
        self.max_strokes = as_int(self.max_strokes, "max_strokes", low=1)

    def strokes(
        self, n: int, size: tuple[int, int], generator: torch.Generator, device: torch.device
    ) -> Segments:
        """1 to ``max_strokes`` random strokes for each of n images, as their segments."""
        s, v = self.max_strokes, self.max_vertices
        extent = torch.tensor([size[1], size[0]], device=device, dtype=torch.float32)
        point = torch.rand(n * s, 2, generator=generator, device=device) * extent
        heading = sample((0, 2 * math.pi), n * s, generator, device).view(-1, 1)
        turn = sample(ZIGZAG, n * s * v, generator, device).view(-1, v)
        direction = heading + turn * torch.tensor([1.0, -1.0], device=device).repeat(v)[:v]
        step = torch.randn(n * s, v, generator=generator, device=device).mul(0.5).add(1)
        step = step.clamp(0, 2) * (math.hypot(*size) / 8)
        moves = torch.stack([direction.cos(), direction.sin()], dim=-1) * step.unsqueeze(-1)
        points = [point]
        for move in moves.unbind(1):  # a walk that stays inside the image: clamp every vertex
            points.append(torch.minimum((points[-1] + move).clamp_min(0), extent))
        vertices = torch.stack(points, dim=1)  # (n * s, v + 1, 2)
        length = (vertices[:, 1:] - vertices[:, :-1]).norm(dim=-1)
        segments = sample_int(((v + 1) // 2, v), n * s, generator, device).unsqueeze(1)
        radius = sample(self.width, n * s, generator, device) * (min(size) / 2)
        strokes = sample_int((1, s), n, generator, device).unsqueeze(1)
        used = (torch.arange(s, device=device) < strokes).view(-1, 1)
        used = used & (torch.arange(v, device=device) < segments)  # (n * s, v)
        return Segments(
            vertices[:, :-1][used],
            vertices[:, 1:][used],
            (length.cumsum(1) - length)[used],
            radius.unsqueeze(1).expand(-1, v)[used],
            torch.arange(n, device=device).repeat_interleave(s * v).view(-1, v)[used],
        )

    def __call__(
        self,
        n: int,
        height: int,
        width: int,
        generator: torch.Generator,
        device: torch.device | str = "cpu",
    ) -> Tensor:
        """Masks (n, 1, height, width) float32 in {0, 1}; ``generator`` lives on ``device``."""
        device = torch.device(device)
        size = (height, width)
        target = (sample(self.area, n, generator, device) * (height * width)).ceil().long()
        holes = torch.zeros(n, height * width, dtype=torch.bool, device=device)
        for _ in range(MAX_ROUNDS):
            todo = (holes.sum(1) < target).nonzero().squeeze(1)
            if len(todo) == 0:
                break
            arc = stroke_arc(self.strokes(len(todo), size, generator, device), len(todo), size)
            holes[todo] = paint_until(holes[todo], arc, target[todo])
        return holes.view(n, 1, height, width).float()
