"""(degraded, clean) pairs for restoration: random crops for training, a fixed eval set."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler
from torchvision.transforms import v2

from regenlab.data.images import GRAY, ImagePairs, NamedImages, SplitPair, image_set
from regenlab.data.loaders import check_train_batches, eval_sampler, make_loader
from regenlab.degradations.params import check_ints
from regenlab.errors import ConfigError

Degradation = Callable[[Tensor, torch.Generator], Tensor | dict[str, Tensor]]


def degrade(degradation: Degradation, clean: Tensor, generator: torch.Generator) -> dict:
    """Batch fields from a degradation: a tensor is the degraded image; a dict (e.g. an
    inpainting mask next to the masked image) is taken as it is."""
    out = degradation(clean, generator)
    return out if isinstance(out, dict) else {"degraded": out}


def crop_to_multiple(x: Tensor, multiple: int) -> Tensor:
    """Top-left crop so H and W are multiples of ``multiple`` (x4 super-resolution: 4)."""
    h, w = x.shape[-2:]
    return x[..., : h - h % multiple, : w - w % multiple]


def item_seed(*keys: int) -> int:
    """A well-mixed 63-bit seed from integers, so (seed, i) and (seed + 1, i - 1) differ."""
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1, np.uint64)[0] >> 1)


def dihedral(x: Tensor, k: int) -> Tensor:
    """The k-th (0..7) of the 8 flips/rotations of a square-grid image."""
    x = torch.rot90(x, k % 4, dims=(-2, -1))
    return x.flip(-1) if k >= 4 else x


def crop_fields(
    fields: dict[str, Tensor], top: int, left: int, height: int, width: int
) -> dict[str, Tensor]:
    """The same region of each image, given in clean pixels: an image ``r`` times smaller
    than the clean one (the low-resolution half of an SR pair) is cropped at ``top / r``,
    ``left / r``, ``height / r`` x ``width / r`` (all multiples of ``r``)."""
    full = fields["clean"].shape[-1]
    crops = {}
    for key, x in fields.items():
        r = full // x.shape[-1]
        crops[key] = x[..., top // r : (top + height) // r, left // r : (left + width) // r]
    return crops


class EpochIndices(Sampler[int]):
    """Indices ``epoch * length + j``: with items drawn from (seed, index) the data of each
    epoch is fixed, so a run resumed from a checkpoint sees exactly the crops the
    uninterrupted run would have (no global RNG, whatever Lightning re-creates on resume).
    Lightning calls ``set_epoch`` before every epoch."""

    def __init__(self, length: int):
        self.length, self.epoch = length, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[int]:
        start = self.epoch * self.length
        return iter(range(start, start + self.length))


class RandomCrops(Dataset):
    """Random crops (with flips/rot90) of random training images; item k depends only on
    (seed, k). One 'epoch' is ``length`` crops (see ``EpochIndices``).

    Real pairs (``ImagePairs``) are cropped alike: the clean crop of ``crop_size`` at
    (y, x), multiples of the pairs' scale r, and the degraded crop of ``crop_size / r`` at
    (y / r, x / r), with the same flip/rotation; no degradation is drawn for them."""

    def __init__(
        self,
        images: NamedImages,
        crop_size: int,
        length: int,
        augment: bool = True,
        seed: int = 0,
    ):
        sizes = [(name, h, w) for name, (h, w) in zip(images.names, images.sizes())]
        name, h, w = min(sizes, key=lambda s: min(s[1:]))
        if crop_size > min(h, w):
            raise ConfigError(
                f"data.crop_size={crop_size} is larger than the smallest training image "
                f"'{name}' ({h}x{w}); use data.crop_size<={min(h, w)}"
            )
        if crop_size % images.scale:
            raise ConfigError(
                f"data.crop_size={crop_size} must be a multiple of the pairs' scale "
                f"{images.scale} (their low-resolution crop is crop_size / {images.scale})"
            )
        self.images, self.length, self.augment = images, length, augment
        self.crop_size, self.seed = crop_size, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, k: int) -> dict[str, Tensor]:
        g = torch.Generator().manual_seed(item_seed(self.seed, k))
        item = self.images[int(torch.randint(len(self.images), (), generator=g))][0]
        fields = item if isinstance(item, dict) else {"clean": item}
        (h, w), s, r = fields["clean"].shape[-2:], self.crop_size, self.images.scale
        top, left = (r * int(torch.randint((n - s) // r + 1, (), generator=g)) for n in (h, w))
        crops = crop_fields(fields, top, left, s, s)
        if self.augment:
            turn = int(torch.randint(8, (), generator=g))
            crops = {key: dihedral(x, turn) for key, x in crops.items()}
        return crops


class DegradedImages(Dataset):
    """The evaluation set: item i is degraded with a generator seeded by (seed, i) only.

    So the degraded images are identical every epoch, every run and for any num_workers.
    ``repeats`` > 1 degrades each image several times (e.g. several inpainting masks per
    image, so that every mask-ratio bin gets enough samples). Real pairs (``ImagePairs``)
    are evaluated as they are on disk (``pair_region``).
    """

    def __init__(
        self,
        images: NamedImages,
        degradation: Degradation,
        seed: int,
        crop: int | None = None,
        multiple_of: int = 1,
        repeats: int = 1,
    ):
        self.images, self.degradation, self.seed = images, degradation, seed
        self.crop = v2.CenterCrop(crop) if crop else None
        self.crop_size, self.multiple_of, self.repeats = crop, multiple_of, repeats
        self.paired = isinstance(images, ImagePairs)
        if self.paired and (multiple_of % images.scale or (crop or 0) % images.scale):
            raise ConfigError(
                f"data.multiple_of={multiple_of} and data.eval_crop={crop} must be multiples "
                f"of the pairs' scale {images.scale}"
            )

    def __len__(self) -> int:
        return len(self.images) * self.repeats

    def sizes(self) -> list[tuple[str, int, int]]:
        """(name, H, W) of each clean image as evaluated, without decoding it."""
        sizes = []
        for name, (h, w) in zip(self.images.names, self.images.sizes()):
            if self.paired:
                sizes.append((name, *self.pair_region(h, w)[2:]))
                continue
            h, w = self.crop.size if self.crop else (h, w)  # CenterCrop pads
            sizes.append((name, h - h % self.multiple_of, w - w % self.multiple_of))
        return sizes

    def pair_region(self, h: int, w: int) -> tuple[int, int, int, int]:
        """(top, left, height, width) of a real pair's h x w clean image that is evaluated,
        aligned to the pairs' scale: the centre ``crop`` within the image (not padded, which
        the degraded half could not follow), then the top left multiple of ``multiple_of``."""
        r, m = self.images.scale, self.multiple_of
        ch, cw = (min(self.crop_size, h), min(self.crop_size, w)) if self.crop else (h, w)
        return (h - ch) // 2 // r * r, (w - cw) // 2 // r * r, ch - ch % m, cw - cw % m

    def __getitem__(self, i: int) -> dict[str, Any]:
        clean, name = self.images[i // self.repeats]
        name = f"{name}#{i % self.repeats}" if self.repeats > 1 else name
        if self.paired:  # the degraded image is on disk
            return {
                **crop_fields(clean, *self.pair_region(*clean["clean"].shape[-2:])),
                "name": name,
            }
        clean = crop_to_multiple(self.crop(clean) if self.crop else clean, self.multiple_of)
        g = torch.Generator().manual_seed(item_seed(self.seed, i))
        fields = {k: v[0] for k, v in degrade(self.degradation, clean[None], g).items()}
        return {"clean": clean, **fields, "name": name}  # real pairs provide their own clean


class RestorationDataModule(L.LightningDataModule):
    """Clean images from ``images(split, channels)`` paired with a degradation.

    Training crops are degraded on the device, as one batch, after the transfer
    (``on_after_batch_transfer``), with a generator seeded from ``seed`` and the rank;
    its state is checkpointed so a resumed run draws the same degradations.

    ``test_sets`` (name -> folder of images, e.g. ``{set12: .../Set12, bsd68: .../BSD68}``)
    replace the test split by several named sets, one test dataloader each, in that order
    (``test_splits``: ``test/<name>``); each is degraded and seeded like the test split.
    ``gray`` says how their RGB images become 1 channel (``regenlab.data.images.to_tensor``).
    """

    def __init__(
        self,
        images: Callable[..., NamedImages],
        degradation: Degradation,
        channels: int = 1,
        crop_size: int = 64,
        eval_crop: int | None = None,
        batch_size: int = 16,
        eval_batch_size: int = 1,
        samples_per_epoch: int = 1600,
        augment: bool = True,
        num_workers: int = 0,
        pin_memory: bool | None = None,
        seed: int = 0,
        eval_seed: int = 0,
        multiple_of: int = 1,
        eval_repeats: int = 1,
        test_sets: Mapping[str, str | None] | None = None,
        gray: str = "luma",
    ):
        super().__init__()
        check_ints(
            "data", batch_size=(batch_size, 1), eval_batch_size=(eval_batch_size, 1),
            num_workers=(num_workers, 0), crop_size=(crop_size, 8),
            samples_per_epoch=(samples_per_epoch, 1), eval_repeats=(eval_repeats, 1),
            multiple_of=(multiple_of, 1),
        )  # fmt: skip
        if crop_size % multiple_of:
            raise ConfigError(
                f"data.crop_size={crop_size} must be a multiple of data.multiple_of={multiple_of}"
            )
        if gray not in GRAY:
            raise ConfigError(f"data.gray must be one of {', '.join(GRAY)}; got {gray!r}")
        self.test_sets = {k: v for k, v in (test_sets or {}).items() if v is not None}
        for name, folder in self.test_sets.items():
            if not re.fullmatch(r"[A-Za-z0-9_-]+", str(name)) or not isinstance(folder, str):
                raise ConfigError(
                    f"test_sets.{name}: expected a name of letters, digits, '_' or '-' (it "
                    f"becomes part of metric names, test/<name>/psnr) and a folder; got {folder!r}"
                )
        self.save_hyperparameters(ignore=["images", "degradation", "test_sets"], logger=False)
        self.images, self.degradation = images, degradation
        self.datasets: dict[str, Dataset] = {}
        self.generator: torch.Generator | None = None
        self._generator_state: Tensor | None = None

    def setup(self, stage: str | None = None) -> None:
        hp = self.hparams
        if stage in ("fit", None) and "train" not in self.datasets:
            train = self._checked("train", self.images(split="train", channels=hp.channels))
            self.datasets["train"] = RandomCrops(
                train, hp.crop_size, hp.samples_per_epoch, hp.augment, hp.seed
            )
        for split in ("val", *self.test_splits):
            if split not in self.datasets:
                self.datasets[split] = DegradedImages(
                    self._eval_images(split), self.degradation, hp.eval_seed, hp.eval_crop,
                    hp.multiple_of, hp.eval_repeats,
                )  # fmt: skip

    def check_eval_sizes(self, min_size: int) -> None:
        """Every val/test image must be at least ``min_size`` pixels high and wide (what
        the model and its metrics take): checked before training, not after an epoch."""
        self.setup("validate")
        for split, dataset in self.datasets.items():
            if not isinstance(dataset, DegradedImages):
                continue
            for name, h, w in dataset.sizes():
                if min(h, w) < min_size:
                    raise ConfigError(
                        f"{split} image '{name}' is {h}x{w}, smaller than the {min_size}x"
                        f"{min_size} this model and its metrics need; leave it out of the "
                        f"{split} images or set data.eval_crop>={min_size}"
                    )

    @property
    def test_splits(self) -> list[str]:
        """``test``, or ``test/<name>`` for each named test set."""
        return [f"test/{n}" for n in self.test_sets] if self.test_sets else ["test"]

    def _eval_images(self, split: str) -> NamedImages:
        if split.startswith("test/"):
            folder = self.test_sets[split.removeprefix("test/")]
            images = image_set(folder, self.hparams.channels, self.hparams.gray)
        else:
            images = self.images(split=split, channels=self.hparams.channels)
        return self._checked(split, images)

    def _checked(self, split: str, images: NamedImages) -> NamedImages:
        """Real pairs carry their degraded images, which ``degradation=paired`` (and no
        other) leaves as they are: a mix would degrade nothing, or nothing real."""
        paired = isinstance(images, ImagePairs)
        if paired != isinstance(self.degradation, SplitPair):
            held = "real pairs (data=paired)" if paired else "clean images"
            raise ConfigError(
                f"the {split} images are {held} and the degradation is "
                f"{type(self.degradation).__name__}; data=paired goes with degradation=paired "
                "only (test_sets are clean images: give a paired test split instead)"
            )
        return images

    def _loader(self, split: str, batch_size: int, sampler: Sampler | None) -> DataLoader:
        hp = self.hparams
        return make_loader(
            self, self.datasets[split], batch_size, hp.num_workers, hp.pin_memory,
            sampler=sampler, drop_last=split == "train",
        )  # fmt: skip

    def train_dataloader(self) -> DataLoader:
        hp = self.hparams
        check_train_batches(self, hp.samples_per_epoch, hp.batch_size, "data.samples_per_epoch")
        sampler = EpochIndices(len(self.datasets["train"]))
        return self._loader("train", self.hparams.batch_size, sampler)

    def val_dataloader(self) -> DataLoader:
        sampler = eval_sampler(self, self.datasets["val"])
        return self._loader("val", self.hparams.eval_batch_size, sampler)

    def test_dataloader(self) -> DataLoader | list[DataLoader]:
        loaders = [
            self._loader(
                split, self.hparams.eval_batch_size, eval_sampler(self, self.datasets[split])
            )
            for split in self.test_splits
        ]
        return loaders if self.test_sets else loaders[0]

    def _train_generator(self, device: torch.device) -> torch.Generator:
        if self.generator is None or self.generator.device != device:
            rank = self.trainer.global_rank if self.trainer else 0
            self.generator = torch.Generator(device).manual_seed(item_seed(self.hparams.seed, rank))
            if self._generator_state is not None:
                self.generator.set_state(self._generator_state)
                self._generator_state = None
        return self.generator

    def on_after_batch_transfer(self, batch: dict[str, Any], dataloader_idx: int) -> dict:
        if "degraded" not in batch:  # a training batch: degrade it here, batched, on device
            g = self._train_generator(batch["clean"].device)
            batch |= degrade(self.degradation, batch["clean"], g)
        return batch

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()} if self.generator is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._generator_state = state.get("generator")
