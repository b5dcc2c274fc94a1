"""Framework overhead: regenlab's LightningModule + Trainer against a plain PyTorch loop.

    python benchmarks/overhead.py [--steps 60 --rounds 3]

Both sides train the same model on the same data with the same optimizer and scheduler,
built from the same composed config: the default restoration experiment and WGAN-GP on
shapes (one generator step = 5 critic steps + 1 generator update). The Lightning side is a
normal run - TensorBoard logger, progress bar, LR monitor, checkpointing, every callback of
the config - except that validation is off, since the plain loop has none. Timed: ``--steps``
optimizer steps after 5 warm-up steps; the two sides alternate for ``--rounds`` rounds and the
medians are compared. Target: plain time / regenlab time >= 0.97.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable

import lightning as L
import torch
from common import interleaved, write_report
from hydra.utils import instantiate

from regenlab.models.adversarial import gradient_penalty
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
    return cfg, instantiate(cfg.model), datamodule


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
        fake = generator(torch.randn(len(real), generator.z_dim))
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


def plain(overrides: list[str], steps: int) -> float:
    """Seconds for ``steps`` optimizer (generator) steps of a hand-written loop."""
    with tempfile.TemporaryDirectory() as out:
        _, model, datamodule = compose(overrides, out)
        datamodule.setup("fit")
        configured = model.configure_optimizers()
        gan = isinstance(configured, list)
        optimizers = configured if gan else (configured["optimizer"],
                                             configured["lr_scheduler"]["scheduler"])  # fmt: skip
        model.train()
        done, start = 0, None
        while done < steps + WARMUP:
            for index, batch in enumerate(datamodule.train_dataloader()):
                if done == WARMUP and start is None:
                    start = time.perf_counter()
                if gan:
                    done += wgan_gp_batch(model, optimizers, batch, index)
                else:
                    batch = datamodule.on_after_batch_transfer(batch, 0)  # batched degradation
                    restoration_step(model, optimizers, batch)
                    done += 1
                if done == steps + WARMUP:
                    break
        return time.perf_counter() - start


class Clock(L.Callback):
    """Starts at the first batch after the warm-up steps, stops when fit ends."""

    def __init__(self) -> None:
        self.start: float | None = None
        self.seconds = 0.0

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        if self.start is None and trainer.global_step == WARMUP:
            self.start = time.perf_counter()

    def on_train_end(self, trainer, module) -> None:
        self.seconds = time.perf_counter() - self.start


def lightning(overrides: list[str], steps: int) -> float:
    """Seconds for the same steps through regenlab's module and a configured Trainer."""
    with tempfile.TemporaryDirectory() as out:
        cfg, model, datamodule = compose([*overrides, f"trainer.max_steps={steps + WARMUP}"], out)
        clock = Clock()
        trainer = instantiate(
            cfg.trainer,
            callbacks=[*instantiate_all(cfg.callbacks), clock],
            logger=instantiate_all(cfg.logger),
            enable_progress_bar=True,
        )
        trainer.fit(model, datamodule=datamodule)
        return clock.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for name, overrides in EXPERIMENTS.items():
        contenders: dict[str, Callable[[], float]] = {
            "plain": lambda o=overrides: plain(o, args.steps),
            "regenlab": lambda o=overrides: lightning(o, args.steps),
        }
        times = interleaved(contenders, args.rounds)
        rows.append({
            "experiment": name,
            "plain_ms_per_step": 1000 * times["plain"] / args.steps,
            "regenlab_ms_per_step": 1000 * times["regenlab"] / args.steps,
            "ratio": times["plain"] / times["regenlab"],
        })  # fmt: skip
    write_report(
        "overhead", "Framework overhead: plain loop time / regenlab time (target >= 0.97)", rows,
        ["experiment", "plain_ms_per_step", "regenlab_ms_per_step", "ratio"],
        steps=args.steps, rounds=args.rounds,
    )  # fmt: skip


if __name__ == "__main__":
    main()
