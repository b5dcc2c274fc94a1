"""Convolutional VAE: a DCGAN-shaped encoder (to mean and log-variance) and decoder."""

from __future__ import annotations

from torch import Tensor, nn

from regenlab.nets.dcgan import DCGANDiscriminator, DCGANGenerator


class ConvVAE(nn.Module):
    """x (B, C, s, s) -> q(z|x) = N(mu, exp(logvar)); z -> decoder output (B, C, s, s).

    The decoder output is unbounded: logits for a Bernoulli likelihood, means for a Gaussian
    one; the LightningModule decides which (it owns the likelihood).
    """

    def __init__(self, z_dim: int = 32, channels: int = 3, size: int = 32, width: int = 32):
        super().__init__()
        self.encoder = DCGANDiscriminator(channels, size, width, norm="batch", outputs=2 * z_dim)
        self.decoder = DCGANGenerator(z_dim, channels, size, width, tanh=False)
        self.z_dim = z_dim

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z)
