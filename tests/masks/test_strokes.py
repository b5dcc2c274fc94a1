"""Free-form strokes: capsule geometry, and painting stops at each image's target area."""

from __future__ import annotations

import math

import pytest
import torch

from regenlab.errors import ConfigError
from regenlab.masks import StrokeMask, mask_ratio
from regenlab.masks.strokes import Segments, paint_until, segment_arc


def strokes(mask: StrokeMask, n: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    return mask(n, height, width, torch.Generator().manual_seed(seed))


def segment(start, end, offset=0.0, radius=5.0) -> Segments:
    t = torch.tensor
    return Segments(t([start]), t([end]), t([offset]), t([radius]), t([0]))


def distance_to_segment(start, end, size) -> torch.Tensor:
    """Brute force: distance of every pixel centre to the closest of 1001 points on the segment."""
    t = torch.linspace(0, 1, 1001).view(-1, 1)
    points = torch.tensor(start) + t * (torch.tensor(end) - torch.tensor(start))  # (p, 2) x, y
    ys, xs = torch.meshgrid(torch.arange(size[0]) + 0.5, torch.arange(size[1]) + 0.5, indexing="ij")
    pixels = torch.stack([xs, ys], dim=-1).view(-1, 1, 2)
    return (pixels - points).norm(dim=-1).amin(dim=1).view(size)


@pytest.mark.parametrize(
    ("start", "end"),
    [((10.2, 20.3), (40.7, 30.1)), ((30.0, 5.5), (12.0, 40.0)), ((20.0, 20.0),) * 2],
)
def test_a_segment_paints_its_capsule(start, end):
    size = (48, 64)
    arc = segment_arc(segment(start, end, offset=7.0), size)[0]
    dist = distance_to_segment(start, end, size)
    clear = (dist - 5).abs() > 0.05  # away from the rim, where the brute force is approximate
    assert torch.equal(arc.isfinite()[clear], (dist <= 5)[clear])
    # arc length grows along the segment, from about offset - radius up to offset + length
    inside = arc[arc.isfinite()]
    length = math.dist(start, end)
    assert inside.min() >= 7 - 5 and inside.max() == pytest.approx(7 + length)


def test_painting_stops_at_the_target_in_arc_order():
    arc = torch.tensor([[3.0, 1.0, math.inf, 2.0, 0.5, 4.0]])
    holes = torch.tensor([[False, False, False, False, True, False]])
    painted = paint_until(holes, arc, torch.tensor([3]))
    assert painted.tolist() == [[False, True, False, True, True, False]]
    everything = paint_until(holes, arc, torch.tensor([6]))  # strokes too short: all of them
    assert everything.tolist() == [[True, True, False, True, True, True]]


@pytest.mark.parametrize("side", [64, 128])
def test_hole_ratio_stays_in_the_area_range(side):
    ratio = mask_ratio(strokes(StrokeMask(area=[0.1, 0.4]), 64, side, side))
    assert ratio.min() >= 0.1 - 0.02 and ratio.max() <= 0.4 + 0.05
    assert ratio.min() < 0.15 and ratio.max() > 0.35  # the whole range is used


@pytest.mark.parametrize(
    ("kwargs", "size"),
    [
        ({"area": 0.3}, (64, 64)),
        ({"area": 0.3}, (40, 72)),
        ({"area": 0.3, "max_vertices": 1, "max_strokes": 1, "width": 0.2}, (32, 32)),
        ({"area": 0.02, "width": 0.3}, (64, 64)),  # less than one brush disk
    ],
)
def test_a_fixed_area_is_met_to_a_few_pixels(kwargs, size):
    area = kwargs["area"]
    ratio = mask_ratio(strokes(StrokeMask(**kwargs), 16, *size))
    assert ratio.min() >= area and ratio.max() <= area + 8 / (size[0] * size[1])


def test_zero_area_gives_empty_masks():
    assert strokes(StrokeMask(area=0), 4, 32, 32).sum() == 0


def test_strokes_are_thick_lines_not_scattered_pixels():
    masks = strokes(StrokeMask(area=0.2, width=0.1), 8, 64, 64)
    eroded = -torch.nn.functional.max_pool2d(-masks, 3, stride=1, padding=1)
    assert (eroded.sum(dim=(1, 2, 3)) > 0.5 * masks.sum(dim=(1, 2, 3))).all()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"area": [0.1, 1.2]}, "area"),
        ({"area": -0.1}, "area"),
        ({"width": -0.05}, "width"),
        ({"width": [0, 0.1]}, "width"),
        ({"max_vertices": 0}, "max_vertices"),
        ({"max_vertices": 2.5}, "max_vertices"),
        ({"max_strokes": 0}, "max_strokes"),
    ],
)
def test_invalid_parameters_are_config_errors(kwargs, name):
    with pytest.raises(ConfigError, match=name):
        StrokeMask(**kwargs)
