"""The shared adversarial loop and its losses, on tiny tensors."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch import nn

from regenlab.models.adversarial import Hinge, NonSaturating, WassersteinGP, gradient_penalty
from regenlab.models.gan import GANModule, standing_statistics
from regenlab.nets.dcgan import DCGANDiscriminator, DCGANGenerator


class Linear(nn.Module):
    """f(x) = <w, x>: its input gradient is w everywhere."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return (x.flatten(1) * self.w).sum(1)


def test_gradient_penalty_zero_for_unit_gradient_norm_positive_otherwise():
    real, fake = torch.rand(8, 1, 4, 4), torch.rand(8, 1, 4, 4)
    w = torch.randn(16)
    unit = gradient_penalty(Linear(w / w.norm()), real, fake, None)
    steep = gradient_penalty(Linear(3 * w / w.norm()), real, fake, None)
    assert unit.item() == pytest.approx(0, abs=1e-6)
    assert steep.item() == pytest.approx(4, rel=1e-4)  # (3 - 1)^2


def test_gradient_penalty_runs_in_float32_under_autocast():
    critic = Linear(torch.randn(16))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        gp = gradient_penalty(critic, torch.rand(4, 1, 4, 4), torch.rand(4, 1, 4, 4), None)
    assert gp.dtype == torch.float32


@pytest.mark.parametrize("loss", [NonSaturating(), Hinge(), WassersteinGP()])
def test_critic_loss_falls_when_critic_separates_real_from_fake(loss):
    real, fake = torch.ones(4, 1, 2, 2), -torch.ones(4, 1, 2, 2)
    good, bad = Linear(torch.ones(4)), Linear(-torch.ones(4))
    assert loss.critic(good, real, fake, None)["loss"] < loss.critic(bad, real, fake, None)["loss"]
    assert loss.generator(good, fake, None) > loss.generator(good, real, None)


def test_dcgan_init_statistics():
    g = DCGANGenerator(z_dim=16, channels=3, size=32, width=32)
    convs = torch.cat(
        [m.weight.flatten() for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    )
    bns = torch.cat([m.weight for m in g.modules() if isinstance(m, nn.BatchNorm2d)])
    assert convs.mean().abs() < 2e-3 and convs.std().item() == pytest.approx(0.02, rel=0.05)
    assert bns.mean().item() == pytest.approx(1.0, abs=0.01)
    d = DCGANDiscriminator(channels=3, size=32, width=32, norm="batch")
    first = next(m for m in d.net if not isinstance(m, nn.Conv2d))
    assert isinstance(first, nn.LeakyReLU)  # no BatchNorm on the input layer
    assert not any(isinstance(m, nn.BatchNorm2d) for m in DCGANDiscriminator(norm="none").modules())


class Images(torch.utils.data.Dataset):
    def __len__(self):
        return 40

    def __getitem__(self, i):
        return {"image": torch.rand(1, 8, 8)}


@pytest.mark.parametrize("critic_steps", [1, 5])
def test_critic_steps_per_generator_step_and_global_step_counts_generator(
    critic_steps, monkeypatch
):
    g = DCGANGenerator(z_dim=4, channels=1, size=8, width=4)
    d = DCGANDiscriminator(channels=1, size=8, width=4, norm="none")
    module = GANModule(
        g, d, WassersteinGP(), torch.optim.Adam, torch.optim.Adam, critic_steps=critic_steps
    )
    steps = {"generator": 0, "critic": 0}
    adam_step = torch.optim.Adam.step

    def counting_step(self, *args, **kwargs):
        owner = (
            "generator" if self.param_groups[0]["params"][0] is next(g.parameters()) else "critic"
        )
        steps[owner] += 1
        return adam_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", counting_step)
    trainer = L.Trainer(
        max_steps=3, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
    )  # fmt: skip
    trainer.fit(module, torch.utils.data.DataLoader(Images(), batch_size=2))
    assert steps == {"generator": 3, "critic": 3 * critic_steps}
    assert trainer.global_step == 3  # max_steps counts generator steps


def test_standing_statistics_are_the_average_over_fresh_inputs():
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 2, 1), torch.nn.BatchNorm2d(2)).eval()
    g = torch.Generator().manual_seed(0)
    standing_statistics(net, lambda: 5 + 2 * torch.randn(64, 2, 4, 4, generator=g), batches=8)
    norm = net[1]
    x = 5 + 2 * torch.randn(4096, 2, 4, 4, generator=g)
    expected = net[0](x).detach()
    assert torch.allclose(norm.running_mean, expected.mean((0, 2, 3)), atol=0.05)
    assert torch.allclose(norm.running_var, expected.var((0, 2, 3)), rtol=0.05)
    assert norm.momentum == 0.1 and not net.training  # left as it was found
