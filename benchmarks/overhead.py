"""Framework overhead: regenlab's LightningModule + Trainer against a plain PyTorch loop.

    python benchmarks/overhead.py [--steps 60 --rounds 3 --device cpu]

Both sides train the same model on the same data with the same optimizer and scheduler,
built from the same composed config: the default restoration experiment and WGAN-GP on
shapes (one generator step = 5 critic steps + 1 generator update). The Lightning side is a
normal run - TensorBoard logger, progress bar, LR monitor, checkpointing, every callback of
the config - except that validation is off, since the plain loop has none.

The two sides run *paired*, batch by batch: before each Lightning batch, a callback runs one
batch of the plain loop on its own copy of model, optimizer and data. Each side's time per
batch is then measured within a second of the other's, so the machine's load drift (which
moves whole runs here by +-15%) hits both alike. Timed: ``--steps`` optimizer (generator)
steps after 5 warm-up steps; ``--rounds`` repeats the run and takes medians. On a GPU
(``--device cuda``) the plain loop moves its batches there too, and each side's time ends
with a ``torch.cuda.synchronize()``, so it counts the GPU work it queued.
Target: plain time / regenlab time >= 0.97.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from typing import Any

import lightning as L
import torch
from common import sync, write_report
from hydra.utils import instantiate
from lightning.fabric.utilities.apply_func import move_data_to_device

from regenlab.models.adversarial import gradient_penalty
from regenlab.train import apply_speed_options
from regenlab.utils.config import compose_run_config, instantiate_all, instantiate_datamodule

WARMUP = 5
EXPERIMENTS = {
    "restoration (denoise, U-Net)": ["experiment=denoise"],
    "WGAN-GP step (shapes)": ["experiment=wgan_gp", "model.metrics=null"],
}


def compose(overrides: list[str], out: str) -> tuple:
    cfg = compose_run_config([*overrides, "trainer.limit_val_batches=0"], out)
    L.seed_everything(cfg.seed, workers=True)
    datamodule = instantiate_datamodule(cfg)
    return cfg, apply_speed_options(cfg, instantiate(cfg.model)), datamodule


def restoration_step(model, optimizers, batch) -> None:
    (optimizer, scheduler) = optimizers
    loss = model.loss(model.net(batch["degraded"]), batch["clean"])
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    scheduler.step()


def wgan_gp_batch(model, optimizers, batch, index: int) -> bool:
    """One critic update; every 5th batch also a generator update. True after the latter."""
    opt_g, opt_d = optimizers
    generator, critic = model.generator, model.critic
    real = batch["image"] * 2 - 1
    generator_turn = (index + 1) % 5 == 0
    with torch.set_grad_enabled(generator_turn):
        fake = generator(torch.randn(len(real), generator.z_dim, device=real.device))
    distance = critic(real).mean() - critic(fake.detach()).mean()
    loss = -distance + 10 * gradient_penalty(critic, real, fake.detach(), None)
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    if generator_turn:
        loss = -critic(fake).mean()
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
    return generator_turn


class PlainTwin(L.Callback):
    """One batch of the plain loop before each Lightning batch; times both sides.

    A Lightning batch is timed from the end of this twin's batch to the start of the next
    hook call: the rest of the hooks, ``training_step``, logging, the progress bar and the
    next batch's loading and transfer - everything a run pays per batch.
    """

    def __init__(self, overrides: list[str], out: str, steps: int, device: str = "cpu") -> None:
        _, self.model, datamodule = compose(overrides, out)
        datamodule.setup("fit")
        self.device = torch.device(device)
        self.model.to(self.device)
        configured = self.model.configure_optimizers()
        self.gan = isinstance(configured, list)
        if not self.gan:
            configured = (configured["optimizer"], configured["lr_scheduler"]["scheduler"])
        self.optimizers = configured
        self.datamodule, self.batches = datamodule, self.loop(datamodule)
        self.model.train()
        self.steps, self.done = steps, 0
        self.plain = self.regenlab = self.resumed = self.ended = 0.0
        self.timing = False

    @staticmethod
    def loop(datamodule) -> Iterator[tuple[int, Any]]:
        while True:
            yield from enumerate(datamodule.train_dataloader())

    def plain_batch(self) -> bool:
        """One batch of the hand-written loop; True when it made an optimizer (generator) step."""
        index, batch = next(self.batches)
        batch = move_data_to_device(batch, self.device)
        if self.gan:
            return wgan_gp_batch(self.model, self.optimizers, batch, index)
        batch = self.datamodule.on_after_batch_transfer(batch, 0)  # batched degradation
        restoration_step(self.model, self.optimizers, batch)
        return True

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        sync()
        start = time.perf_counter()
        if self.timing:  # Lightning's previous batch
            self.regenlab += start - self.resumed
        self.timing = WARMUP <= self.done < WARMUP + self.steps
        self.done += self.plain_batch()
        sync()
        self.resumed = time.perf_counter()
        if self.timing:
            self.plain += self.resumed - start

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        sync()
        self.ended = time.perf_counter()

    def on_train_end(self, trainer, module) -> None:
        if self.timing:  # the last batch, without the end-of-fit checkpoint
            self.regenlab += self.ended - self.resumed


def paired(overrides: list[str], steps: int, device: str = "cpu") -> tuple[float, float]:
    """Seconds of (plain loop, regenlab) for ``steps`` optimizer steps, run batch by batch
    on ``device`` (the Lightning side is told so by ``trainer.accelerator``)."""
    overrides = [*overrides, f"trainer.accelerator={device}"]
    with tempfile.TemporaryDirectory() as out:
        twin = PlainTwin(overrides, out, steps, device)
    lightning(overrides, steps, [twin])
    return twin.plain, twin.regenlab


class Clock(L.Callback):
    """Starts at the first batch after the warm-up steps, stops when fit ends."""

    def __init__(self) -> None:
        self.start: float | None = None
        self.seconds = 0.0

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        if self.start is None and trainer.global_step == WARMUP:
            sync()
            self.start = time.perf_counter()

    def on_train_end(self, trainer, module) -> None:
        sync()
        self.seconds = time.perf_counter() - self.start


def lightning(overrides: list[str], steps: int, extra: Sequence[L.Callback] = ()) -> float:
    """Seconds for ``steps`` optimizer steps of a normal run (validation off) after warm-up."""
    with tempfile.TemporaryDirectory() as out:
        cfg, model, datamodule = compose([*overrides, f"trainer.max_steps={steps + WARMUP}"], out)
        clock = Clock()
        trainer = instantiate(
            cfg.trainer,
            callbacks=[*instantiate_all(cfg.callbacks), clock, *extra],
            logger=instantiate_all(cfg.logger),
            enable_progress_bar=True,
        )
        trainer.fit(model, datamodule=datamodule)
        return clock.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    rows = []
    for name, overrides in EXPERIMENTS.items():
        runs = [paired(overrides, args.steps, args.device) for _ in range(args.rounds)]
        plain, regenlab = (statistics.median(side) for side in zip(*runs))
        rows.append({
            "experiment": name,
            "plain_ms_per_step": 1000 * plain / args.steps,
            "regenlab_ms_per_step": 1000 * regenlab / args.steps,
            "ratio": plain / regenlab,
        })  # fmt: skip
    write_report(
        "overhead", "Framework overhead: plain loop time / regenlab time (target >= 0.97)", rows,
        ["experiment", "plain_ms_per_step", "regenlab_ms_per_step", "ratio"],
        steps=args.steps, rounds=args.rounds, paired="batch by batch", device=args.device,
    )  # fmt: skip


if __name__ == "__main__":
    main()
