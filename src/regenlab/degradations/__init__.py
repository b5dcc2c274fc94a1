"""Batched, seeded image degradations for restoration training (B, C, H, W) in [0, 1].

Each family has pure functions on tensors (per-image parameters as (B,) tensors) and small
config classes for Hydra (``_target_: regenlab.degradations.GaussianNoise``) called as
``degradation(x, generator)``; all randomness comes from that generator.
"""

from regenlab.degradations.blur import (
    AnisotropicBlur,
    DefocusBlur,
    GaussianBlur,
    MotionBlur,
    apply_blur,
    defocus_kernels,
    gaussian_kernels,
    motion_kernels,
)
from regenlab.degradations.compose import Compose
from regenlab.degradations.haze import Haze, add_haze, ground_depth, smooth_depth
from regenlab.degradations.jpeg import JPEG, jpeg_compress
from regenlab.degradations.noise import (
    GaussianNoise,
    PoissonNoise,
    SaltAndPepper,
    SpeckleNoise,
    gaussian_noise,
    poisson_noise,
    salt_and_pepper,
    speckle_noise,
)
from regenlab.degradations.resize import Downsample, downsample
from regenlab.degradations.rust import RustStains, rust_stains

__all__ = [
    "JPEG",
    "AnisotropicBlur",
    "Compose",
    "DefocusBlur",
    "Downsample",
    "GaussianBlur",
    "GaussianNoise",
    "Haze",
    "MotionBlur",
    "PoissonNoise",
    "RustStains",
    "SaltAndPepper",
    "SpeckleNoise",
    "add_haze",
    "apply_blur",
    "defocus_kernels",
    "downsample",
    "gaussian_kernels",
    "gaussian_noise",
    "ground_depth",
    "jpeg_compress",
    "motion_kernels",
    "poisson_noise",
    "rust_stains",
    "salt_and_pepper",
    "smooth_depth",
    "speckle_noise",
]
