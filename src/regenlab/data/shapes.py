"""Procedural shapes: a labelled image set drawn on the fly, with no files and no download.

Item i depends on (seed, i) only, so the set is identical on every machine, in every worker
and in every run; it is small and quick enough to smoke-test generative models on a CPU.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor
from torch.utils.data import Dataset, Subset

SHAPE_CLASSES = ("ellipse", "rectangle", "triangle", "star")
SUPERSAMPLE = 4  # shapes are drawn at 4x and box-filtered down: antialiased edges
MIN_CONTRAST = 0.3  # every channel of the background differs this much from the shape


def unit_polygon(label: int, rng: np.random.Generator) -> np.ndarray:
    """(N, 2) vertices of a shape of class ``label`` inside the unit circle, unrotated."""
    if label == 0:  # ellipse: axis ratio 0.55..1
        t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        return np.stack([np.cos(t), rng.uniform(0.55, 1) * np.sin(t)], 1)
    if label == 1:  # rectangle: aspect 0.5..1, corners on the circle
        aspect = rng.uniform(0.5, 1)
        w, h = np.array([1, aspect]) / np.hypot(1, aspect)
        return np.array([[w, h], [-w, h], [-w, -h], [w, -h]])
    if label == 2:  # triangle: jittered equilateral
        t = np.arange(3) * 2 * np.pi / 3 + rng.uniform(-0.25, 0.25, 3)
        return np.stack([np.cos(t), np.sin(t)], 1)
    t = np.arange(10) * np.pi / 5  # five-pointed star
    radius = np.where(np.arange(10) % 2 == 0, 1.0, rng.uniform(0.38, 0.5))
    return np.stack([radius * np.cos(t), radius * np.sin(t)], 1)


def far_colour(colour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A colour whose every channel is at least MIN_CONTRAST away from ``colour``'s, same side."""
    lo = np.where(colour < 0.5, colour + MIN_CONTRAST, 0.0)
    hi = np.where(colour < 0.5, 1.0, colour - MIN_CONTRAST)
    return lo + (hi - lo) * rng.random(colour.shape)


class ShapesDataset(Dataset):
    """``length`` images of one flat-coloured shape on a textured background; label = class.

    Item i is class ``i % 4`` (so any 4 consecutive items hold one of each, in
    ``SHAPE_CLASSES`` order) with a random colour, size, position and rotation. The
    background is a two-colour gradient plus faint stripes and noise; both gradient colours
    differ from the shape by >= 0.3 in every channel, so the shape also stands out in gray.
    """

    def __init__(self, size: int = 32, length: int = 10000, seed: int = 0, channels: int = 3):
        self.size, self.length, self.seed, self.channels = size, length, seed, channels
        self.xy = (np.mgrid[:size, :size][::-1] + 0.5) / size  # pixel centres in [0, 1]

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        if not 0 <= i < self.length:
            raise IndexError(f"index {i} out of range for {self.length} shapes")
        rng = np.random.default_rng([self.seed, i])
        label = i % len(SHAPE_CLASSES)
        colour = rng.random(self.channels)
        mask = self._mask(label, rng)
        image = self._background(colour, rng) * (1 - mask) + colour * mask
        return torch.from_numpy(image.transpose(2, 0, 1).astype(np.float32)), label

    def _mask(self, label: int, rng: np.random.Generator) -> np.ndarray:
        """(H, W, 1) coverage of a random placement of the shape, in [0, 1]."""
        radius = rng.uniform(0.22, 0.42) * self.size
        centre = rng.uniform(radius, self.size - radius, 2)
        angle = rng.uniform(0, 2 * np.pi)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        points = (unit_polygon(label, rng) @ rotation.T * radius + centre) * SUPERSAMPLE
        canvas = Image.new("L", (self.size * SUPERSAMPLE,) * 2)
        ImageDraw.Draw(canvas).polygon([tuple(p) for p in points], fill=255)
        return np.asarray(canvas.reduce(SUPERSAMPLE), np.float64)[..., None] / 255

    def _background(self, colour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(H, W, C) gradient between two colours far from ``colour``, with stripes and noise."""
        start, end = far_colour(colour, rng), far_colour(colour, rng)
        gradient_dir, stripe_dir = np.exp(1j * rng.uniform(0, 2 * np.pi, 2))
        x, y = self.xy
        t = (gradient_dir.real * (x - 0.5) + gradient_dir.imag * (y - 0.5)) / np.sqrt(2) + 0.5
        phase = 2 * np.pi * rng.uniform(2, 5) * (stripe_dir.real * x + stripe_dir.imag * y)
        texture = rng.uniform(0.01, 0.05) * np.sin(phase + rng.uniform(0, 2 * np.pi))
        texture += 0.015 * rng.standard_normal(t.shape)
        background = start + (end - start) * t[..., None] + texture[..., None]
        return np.clip(background, 0, 1)


def shapes(
    split: str,
    size: int = 32,
    channels: int = 3,
    length: int = 10000,
    test_length: int = 1000,
    seed: int = 0,
) -> Dataset:
    """The 'train' split (items 0..length-1) or 'test' split (the next test_length items)."""
    full = ShapesDataset(size, length + test_length, seed, channels)
    start, stop = {"train": (0, length), "test": (length, length + test_length)}[split]
    return Subset(full, range(start, stop))
