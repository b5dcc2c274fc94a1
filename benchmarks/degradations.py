"""Batched degradations vs a straightforward per-image numpy / PIL / scipy loop, on CPU.

    python benchmarks/degradations.py [--batch 64 --size 96 --repeats 3]

Both sides do the same operation with the same kind of per-image random parameters on the
same RGB crops; each is timed best-of-``repeats`` after one warm-up run. The per-image side is
single-threaded numpy; torch keeps its default thread count unless ``--threads`` is given.
Prints images/s and the speed-up (batched / per-image) and writes JSON to
outputs/bench/degradations.json and .md (under $REGENLAB_ROOT when set).

On a busy machine torch's threads stall on each other and the numbers mean little, so the
CPU time other processes used during the run is measured (Linux) and a warning printed when
it exceeds 10% of the CPUs.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
from common import best_time, busy_cpu_seconds, write_report
from PIL import Image
from scipy import ndimage
from skimage import data

from regenlab.degradations import (
    JPEG,
    Downsample,
    GaussianBlur,
    GaussianNoise,
    Haze,
    MotionBlur,
    PoissonNoise,
    RustStains,
)
from regenlab.degradations.rust import DARK, LIGHT

# torchvision 0.29 deprecates its JPEG codec (for torchcodec); irrelevant to the timing.
warnings.filterwarnings("ignore", "The image decoding and encoding", DeprecationWarning)

SIGMA, PEAK, BLUR_SIGMA, LENGTH, QUALITY = (0, 55), (10, 300), (0.2, 3.0), (3, 15), (30, 95)
BETA, AIRLIGHT, COVERAGE, OPACITY = (0.5, 2.5), (0.7, 1.0), (0.05, 0.3), (0.6, 0.95)
RUST_DARK, RUST_LIGHT = np.array(DARK), np.array(LIGHT)

Array = np.ndarray  # one image (H, W, C) float32 in [0, 1]


def crops(batch: int, size: int, seed: int = 0) -> torch.Tensor:
    """(batch, 3, size, size) random crops of skimage's astronaut, in [0, 1]."""
    img = torch.from_numpy(data.astronaut()).permute(2, 0, 1).float() / 255
    rng = np.random.default_rng(seed)
    ys, xs = rng.integers(0, img.shape[1] - size, (2, batch))
    return torch.stack([img[:, y : y + size, x : x + size] for y, x in zip(ys, xs)])


# --- per-image references -------------------------------------------------------------------


def gaussian_kernel_np(sigma: float, size: int) -> np.ndarray:
    r = np.arange(size) - size // 2
    k = np.exp(-0.5 * (r[:, None] ** 2 + r[None, :] ** 2) / max(sigma, 1e-6) ** 2)
    return k / k.sum()


def motion_kernel_np(length: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """One random-walk trajectory (curvature 1) splatted onto the grid with bilinear weights."""
    steps = 4 * size
    turns = rng.standard_normal(steps - 1) / math.sqrt(steps - 1)
    heading = rng.uniform(0, 2 * np.pi) + np.cumsum(turns)
    moves = np.stack([np.cos(heading), np.sin(heading)], -1) * length / (steps - 1)
    path = np.concatenate([np.zeros((1, 2)), np.cumsum(moves, 0)])
    path = path - path.mean(0) + size // 2
    base = np.floor(path).astype(int)
    frac = path - base
    k = np.zeros((size + 1, size + 1))  # one spare row/column for the zero-weight neighbours
    for dx in (0, 1):
        for dy in (0, 1):
            w = np.where(dx, frac[:, 0], 1 - frac[:, 0]) * np.where(dy, frac[:, 1], 1 - frac[:, 1])
            np.add.at(k, (base[:, 1] + dy, base[:, 0] + dx), w)
    return k[:size, :size] / k.sum()


def convolve_np(img: Array, k: np.ndarray) -> Array:
    return np.clip(ndimage.convolve(img, k[:, :, None], mode="mirror"), 0, 1)


def fractal_np(size: int, cells: int, octaves: int, rng: np.random.Generator) -> np.ndarray:
    """Value noise: coarse uniform grids, cubic-zoomed to size x size, summed; in [0, 1]."""
    f = np.zeros((size, size))
    for o in range(octaves):
        c = cells * 2**o + 1
        f += ndimage.zoom(rng.random((c, c)), size / c, order=3)[:size, :size] * 0.5**o
    return (f - f.min()) / (f.max() - f.min())


def jpeg_pil(img: Array, quality: int) -> Array:
    buf = io.BytesIO()
    Image.fromarray(np.round(img * 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())), dtype=np.float32) / 255


def downsample_pil(img: Array, scale: int) -> Array:
    h, w = img.shape[:2]
    planes = [
        np.asarray(
            Image.fromarray(img[..., c], "F").resize(
                (w // scale, h // scale), Image.Resampling.BICUBIC
            )
        )
        for c in range(img.shape[2])
    ]
    return np.clip(np.stack(planes, -1), 0, 1)


def haze_np(img: Array, rng: np.random.Generator) -> Array:
    depth = fractal_np(img.shape[0], 3, 2, rng)[..., None]
    t = np.exp(-rng.uniform(*BETA) * depth)
    return np.clip(img * t + rng.uniform(*AIRLIGHT) * (1 - t), 0, 1)


def rust_np(img: Array, rng: np.random.Generator) -> Array:
    size = img.shape[0]
    shape, texture = fractal_np(size, 4, 4, rng), fractal_np(size, 16, 3, rng)[..., None]
    edge = np.clip((shape - np.quantile(shape, 1 - rng.uniform(*COVERAGE))) / 0.06, 0, 1)
    edge = edge * edge * (3 - 2 * edge)
    mask = (edge[..., None] * rng.uniform(*OPACITY) * (0.6 + 0.4 * texture)).clip(0, 1)
    tint = 1 + (rng.random(3) - 0.5) * 0.3
    color = np.clip((RUST_DARK + (RUST_LIGHT - RUST_DARK) * texture) * tint, 0, 1)
    return np.clip(img * (1 - mask) + color * mask, 0, 1)


def per_image(rng: np.random.Generator) -> dict[str, Callable[[Array], Array]]:
    """The per-image reference of each degradation, drawing its parameters from ``rng``."""
    gauss_size = 2 * math.ceil(3 * BLUR_SIGMA[1]) + 1
    motion_size = 2 * math.ceil(LENGTH[1] / 2) + 1
    return {
        "gaussian noise": lambda im: (
            im + rng.standard_normal(im.shape, dtype=np.float32) * rng.uniform(*SIGMA) / 255
        ),
        "poisson": lambda im: np.clip(rng.poisson(im * (p := rng.uniform(*PEAK))) / p, 0, 1),
        "gaussian blur": lambda im: convolve_np(
            im, gaussian_kernel_np(rng.uniform(*BLUR_SIGMA), gauss_size)
        ),
        "motion blur": lambda im: convolve_np(
            im, motion_kernel_np(rng.uniform(*LENGTH), motion_size, rng)
        ),
        "jpeg": lambda im: jpeg_pil(im, int(rng.integers(QUALITY[0], QUALITY[1] + 1))),
        "downsample x4": lambda im: downsample_pil(im, 4),
        "haze": lambda im: haze_np(im, rng),
        "rust": lambda im: rust_np(im, rng),
    }


BATCHED = {
    "gaussian noise": GaussianNoise(sigma=SIGMA),
    "poisson": PoissonNoise(scale=PEAK),
    "gaussian blur": GaussianBlur(sigma=BLUR_SIGMA),
    "motion blur": MotionBlur(length=LENGTH),
    "jpeg": JPEG(quality=QUALITY),
    "downsample x4": Downsample(4),
    "haze": Haze(beta=BETA, airlight=AIRLIGHT, depth="smooth"),
    "rust": RustStains(coverage=COVERAGE, opacity=OPACITY),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's own default)"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    x = crops(args.batch, args.size)
    images = [im.permute(1, 2, 0).numpy().copy() for im in x]
    rng = np.random.default_rng(0)
    refs = per_image(rng)
    generator = torch.Generator().manual_seed(0)

    rows = []
    threads, cpus = torch.get_num_threads(), os.cpu_count()
    print(f"batch {args.batch} x 3 x {args.size} x {args.size}, CPU, {threads} torch threads")
    start = (time.perf_counter(), time.process_time(), busy_cpu_seconds())
    print(f"{'degradation':<16}{'batched img/s':>15}{'per-image img/s':>17}{'ratio':>8}")
    for name, degrade in BATCHED.items():
        batched = best_time(lambda d=degrade: d(x, generator), args.repeats)
        loop = best_time(lambda f=refs[name]: [f(im) for im in images], args.repeats)
        row = {
            "degradation": name,
            "batched_images_per_s": args.batch / batched,
            "per_image_images_per_s": args.batch / loop,
            "ratio": loop / batched,
        }
        rows.append(row)
        print(
            f"{name:<16}{row['batched_images_per_s']:>15.0f}"
            f"{row['per_image_images_per_s']:>17.0f}{row['ratio']:>7.1f}x"
        )

    others = None
    if start[2] is not None:
        wall = time.perf_counter() - start[0]
        ours = time.process_time() - start[1]
        others = max(0.0, busy_cpu_seconds() - start[2] - ours) / (wall * cpus)
        print(f"other processes used {others:.0%} of the {cpus} CPUs during the run")
        if others > 0.1:
            print("warning: the machine was busy; torch's threads contend, timings are unreliable")
    write_report(
        "degradations", "Batched degradations vs a per-image numpy/PIL loop", rows,
        ["degradation", "batched_images_per_s", "per_image_images_per_s", "ratio"],
        batch=args.batch, size=args.size, repeats=args.repeats,
        other_processes_cpu_fraction=others,
    )  # fmt: skip


if __name__ == "__main__":
    main()
