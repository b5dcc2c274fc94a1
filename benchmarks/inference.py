"""Inference: images/s and peak memory of full-image restoration, whole and tiled.

    python benchmarks/inference.py [--run <run dir>] [--sizes 512 2048 --tile 256 --overlap 16]

The default U-Net (from a finished run's checkpoint with ``--run``, else freshly
initialised: speed and memory do not depend on the weights) restores a noisy gray image
of each size (the 'camera' image resized) in one piece and in overlapping tiles
(``model.tile`` / ``regenlab-predict tile=``). Each case runs in its own process so its
peak memory is its own: the process's peak RSS above its baseline on CPU, and
``torch.cuda.max_memory_allocated`` on a GPU. Also reports the PSNR of tiled vs whole
output against the clean image (target: within 0.05 dB).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time
from typing import Any

import torch
import torch.nn.functional as F
from common import sync, write_report
from skimage import data
from torchmetrics.functional.image import peak_signal_noise_ratio

from regenlab.inference import tiled
from regenlab.nets.unet import UNet


def load_net(run: str | None) -> torch.nn.Module:
    if run is None:
        torch.manual_seed(0)
        return UNet(channels=1, width=32, levels=2)
    from regenlab.eval import load_run

    return load_run(run)[1]


def noisy_camera(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    clean = torch.from_numpy(data.camera()).float().div(255)[None, None]
    clean = F.interpolate(clean, size=(size, size), mode="bicubic").clamp(0, 1)
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(0)) * 25 / 255
    return clean, (clean + noise).clamp(0, 1)


def case(
    run: str | None,
    size: int,
    tile: int | None,
    overlap: int,
    repeats: int,
    tiles_per_batch: int = 1,
    device: str | None = None,
) -> dict:
    """One (size, tile) case; on the CPU meant to run in a fresh process (its peak RSS)."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    net = load_net(run).eval().to(device)
    clean, noisy = (t.to(device) for t in noisy_camera(size))
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    with torch.inference_mode():
        out = tiled(net, noisy, tile, overlap, tiles_per_batch)  # warm-up; output for PSNR
        sync()
        start = time.perf_counter()
        for _ in range(repeats):
            tiled(net, noisy, tile, overlap, tiles_per_batch)
            sync()
        seconds = (time.perf_counter() - start) / repeats
    if device == "cuda":
        peak_mib = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline) / 1024
    psnr = peak_signal_noise_ratio(out.clamp(0, 1), clean, data_range=1.0)
    return {
        "size": f"{size}x{size}",
        "mode": f"tiled {tile}/{overlap}, {tiles_per_batch} per call" if tile else "whole",
        "images_per_s": 1 / seconds,
        "megapixels_per_s": size * size / seconds / 1e6,
        "peak_memory_mib": peak_mib,
        "psnr": float(psnr),
        "device": device,
    }


def in_fresh_process(*args: Any) -> dict:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(case, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", default=None, help="a finished restoration run dir")
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 2048])
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--overlap", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        whole = in_fresh_process(args.run, size, None, args.overlap, args.repeats)
        parts = in_fresh_process(args.run, size, args.tile, args.overlap, args.repeats)
        parts["psnr_vs_whole_db"] = parts["psnr"] - whole["psnr"]
        rows += [whole, parts]
    write_report(
        "inference", "Full-image restoration: whole vs tiled", rows,
        ["size", "mode", "images_per_s", "megapixels_per_s", "peak_memory_mib", "psnr",
         "psnr_vs_whole_db"],
        run=args.run or "untrained default U-Net", repeats=args.repeats,
    )  # fmt: skip


if __name__ == "__main__":
    main()
