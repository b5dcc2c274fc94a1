"""Peak memory and data wait when training on a folder of DIV2K-sized images.

    python benchmarks/large_folder.py [--n 800 --size 2040 1356 --workers 4 --steps 40]

Writes ``--n`` synthetic images (smooth colour gradients plus noise, JPEG) into a temporary
``train/`` folder, with one small ``val/`` and ``test/`` image, then trains the real
``train`` entry point with ``data.images.cache=none`` (each crop's image decoded in a
DataLoader worker) and reports the peak resident memory of this process and of its largest
worker (``getrusage``: a child's peak, not the sum over workers) and the share of a step
spent waiting on data (``data_wait.StepTimer``). In RAM as floats the default 800 images
would take 800 * 2040 * 1356 * 3 * 4 bytes = 26.6 GB. Target: peak under 4 GB, wait < 5%.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from common import write_report
from data_wait import StepTimer
from PIL import Image

from regenlab.train import train
from regenlab.utils.config import compose_run_config


def write_folder(root: Path, n: int, width: int, height: int) -> float:
    """``n`` training images of ``width`` x ``height`` and one small val and test image;
    returns the seconds it took."""
    start, rng = time.perf_counter(), np.random.default_rng(0)
    ramp = np.linspace(0, 1, width)[None, :, None] * np.linspace(0, 1, height)[:, None, None]
    for split, count in (("train", n), ("val", 1), ("test", 1)):
        (root / split).mkdir(parents=True)
        for i in range(count):
            colour = rng.uniform(0.2, 1.0, 3)
            pixels = 200 * ramp * colour + rng.normal(0, 8, (height, width, 3))
            image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
            image = image if split == "train" else image.crop((0, 0, 128, 128))
            image.save(root / split / f"{i:04d}.jpg", quality=90)
    return time.perf_counter() - start


def peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: kilobytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=800)
    parser.add_argument("--size", type=int, nargs=2, default=(2040, 1356), metavar=("W", "H"))
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "images"
        write_seconds = write_folder(root, args.n, *args.size)
        timer = StepTimer(skip=min(5, args.steps // 2))
        overrides = [
            "data=folder", f"data.images.root={root}", "data.images.cache=none",
            "data.channels=3", "data.eval_crop=null", f"data.num_workers={args.workers}",
            f"data.crop_size={args.crop}", f"data.batch_size={args.batch}",
            f"data.samples_per_epoch={args.batch * args.steps}", f"trainer.max_steps={args.steps}",
            "logger=csv", "trainer.enable_progress_bar=false", "callbacks.progress_bar=null",
            "trainer.limit_val_batches=0", "trainer.limit_test_batches=1",
        ]  # fmt: skip
        train(compose_run_config(overrides, Path(tmp) / "run"), extra_callbacks=[timer])
    wait, compute = sum(timer.wait), sum(timer.compute)
    row = {
        "images": args.n,
        "size": f"{args.size[0]}x{args.size[1]}",
        "workers": args.workers,
        "float_gb_if_in_ram": args.n * args.size[0] * args.size[1] * 3 * 4 / 1e9,
        "peak_main_mb": peak_mb(resource.RUSAGE_SELF),
        "peak_worker_mb": peak_mb(resource.RUSAGE_CHILDREN),
        "wait_ms_per_step": 1000 * wait / max(len(timer.wait), 1),
        "compute_ms_per_step": 1000 * compute / max(len(timer.compute), 1),
        "wait_percent": 100 * wait / max(wait + compute, 1e-9),
        "write_seconds": write_seconds,
    }
    write_report(
        "large_folder", "Training on a folder larger than RAM (target: peak < 4 GB, wait < 5%)",
        [row], list(row), steps=args.steps, crop=args.crop, batch=args.batch,
    )  # fmt: skip


if __name__ == "__main__":
    main()
