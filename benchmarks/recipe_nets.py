"""Training-step time of the paper-set recipes' nets, bf16 autocast against float32.

    python benchmarks/recipe_nets.py [--repeats 10 --rounds 3 --batch 8 --crop 64]

Why: the CPU recipes (conf/experiment/*_cpu.yaml) are sized in minutes, and a net that
trains 1.4x faster gets 1.4x the steps. One step = forward, loss, backward and an Adam step
of the net alone (no data loading), channels_last, on ``--batch`` crops of ``--crop``
pixels (the SR net: the same pixels at a quarter of the side, twice the batch). bf16 and
float32 run interleaved in the same process (median of ``--rounds``), so the ratio holds
on a loaded machine; the absolute milliseconds do not.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from common import best_time, interleaved, write_report
from torch import nn

from regenlab.nets.dncnn import DnCNN
from regenlab.nets.unet import UNet, UNetSR

NETS: dict[str, tuple[Callable[[], nn.Module], int]] = {  # name: (net, input downscale)
    "unet w48 (denoise, jpeg)": (lambda: UNet(1, 48, 2), 1),
    "unet w32, 3 levels": (lambda: UNet(1, 32, 3), 1),
    "dncnn 17x64 (the paper's)": (lambda: DnCNN(1, 17, 64), 1),
    "unet_sr w48 x4 (sr)": (lambda: UNetSR(1, 4, 48, 2), 4),
}


def step_time(make: Callable[[], nn.Module], x: torch.Tensor, bf16: bool, repeats: int):
    net = make().to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = net(x).float().pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return lambda: best_time(step, repeats) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=64)
    args = parser.parse_args()
    torch.manual_seed(0)
    rows = []
    for name, (make, down) in NETS.items():
        side, batch = args.crop // down, args.batch * (2 if down > 1 else 1)  # as the recipes
        x = torch.randn(batch, 1, side, side).contiguous(memory_format=torch.channels_last)
        timers = {p: step_time(make, x, p == "bf16", args.repeats) for p in ("bf16", "float32")}
        ms = interleaved(timers, args.rounds)
        speedup = ms["float32"] / ms["bf16"]
        shape = f"{batch}x{side}x{side}"
        rows.append({"net": name, "input": shape, "bf16 ms": ms["bf16"],
                     "float32 ms": ms["float32"], "bf16 speed-up": speedup})  # fmt: skip
    columns = ["net", "input", "bf16 ms", "float32 ms", "bf16 speed-up"]
    title = "Recipe nets: training step, bf16 vs float32"
    write_report("recipe_nets", title, rows, columns, **vars(args))


if __name__ == "__main__":
    main()
