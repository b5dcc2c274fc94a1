"""Labelled image sets read from a local ``root``: torchvision's datasets and a plain folder.

Each builder is called as ``builder(root, split, size, channels)`` with split 'train' or
'test' and returns a dataset of ``(image, label)``: a (channels, size, size) float32 tensor
in [0, 1] and an int (0 where the set has no labels). Missing files are reported before
torchvision is asked, as one line that names them and says how to get them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset
from torchvision import datasets
from torchvision.datasets import VisionDataset
from torchvision.datasets.mnist import read_image_file, read_label_file
from torchvision.transforms import v2

from regenlab.data.images import list_images, read_image, split_folder
from regenlab.errors import UserError

DOWNLOAD_HINT = "run with data.download=true to download it there, or copy the files in"
CELEBA_PAGE = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"
CELEBA_FILES = (
    "list_eval_partition.txt",
    "identity_CelebA.txt",
    "list_attr_celeba.txt",
    "list_bbox_celeba.txt",
    "list_landmarks_align_celeba.txt",
)
CELEBA_CROP = 140  # the usual centre crop of the 178x218 aligned faces, before resizing


def image_transform(size: int, channels: int, crop: int | None = None) -> v2.Compose:
    """PIL image or tensor -> (channels, size, size) float32: [crop], resize short side, crop."""
    return v2.Compose(
        [
            v2.Grayscale() if channels == 1 else v2.RGB(),
            *([v2.CenterCrop(crop)] if crop else []),
            v2.Resize(size, antialias=True),
            v2.CenterCrop(size),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.ToPureTensor(),
        ]
    )


def files_error(
    name: str, root: Path, expected: list[str], hint: str, problem: str | None = None
) -> UserError | None:
    """One line naming the files under ``root`` that are missing and how to get them; when
    none is missing, ``problem`` (None: no error)."""
    missing = [file for file in expected if not (root / file).exists()]
    if not missing and problem is None:
        return None
    missing_text = "all" if len(missing) == len(expected) else ", ".join(missing) or "none"
    return UserError(
        f"{name} {'not found' if missing else problem} in {root}: torchvision expects "
        f"{', '.join(expected)} there (missing: {missing_text}); {hint}"
    )


def load_vision_dataset(
    cls: type[VisionDataset],
    root: str | Path,
    expected: list[str],
    hint: str = DOWNLOAD_HINT,
    download: bool = False,
    **kwargs: Any,
) -> VisionDataset:
    """``cls(root, download=download, **kwargs)`` once the paths ``expected`` under root exist."""
    root = Path(root).expanduser()
    if not download and (error := files_error(cls.__name__, root, expected, hint)):
        raise error
    try:
        return cls(root, download=download, **kwargs)
    except RuntimeError as exc:
        if "not found" not in str(exc):
            raise
        checksum = "fails torchvision's checksum"
        raise files_error(cls.__name__, root, expected, hint, checksum) from None


class IdxImages(Dataset):
    """One split of an MNIST-like set, read with torchvision's own IDX readers: unlike
    ``torchvision.datasets.MNIST``, it needs only that split's two files (the MNIST test
    set alone is enough). Items are made as torchvision's class makes them (a PIL image)."""

    def __init__(self, images: Path, labels: Path, transform: v2.Compose):
        self.images = read_image_file(str(images))
        self.labels = read_label_file(str(labels))
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        image = Image.fromarray(self.images[i].numpy(), mode="L")
        return self.transform(image), int(self.labels[i])


def _mnist_like(
    cls: type[datasets.MNIST],
    root: str | Path | None,
    split: str,
    size: int,
    channels: int,
    download: bool,
) -> Dataset:
    """MNIST and its drop-in replacements: ``split``'s files in ``root/<class name>/raw/``."""
    if root is None:
        raise UserError(
            f"no {cls.__name__} root is set: pass data.dataset.root=<dir holding "
            f"{cls.__name__}/raw/> (or paths.mnist_root=<dir> for the *_mnist experiments)"
        )
    prefix = {"train": "train", "test": "t10k"}[split]
    expected = [
        f"{cls.__name__}/raw/{prefix}-{kind}-ubyte" for kind in ("images-idx3", "labels-idx1")
    ]
    root = Path(root).expanduser()
    if download:  # torchvision fetches (and checks) both splits
        load_vision_dataset(cls, root, expected, download=True, train=split == "train")
    if error := files_error(cls.__name__, root, expected, DOWNLOAD_HINT):
        raise error
    return IdxImages(root / expected[0], root / expected[1], image_transform(size, channels))


def mnist(
    root: str | Path | None, split: str, size: int = 32, channels: int = 1, download: bool = False
) -> Dataset:
    """Handwritten digits 0-9: 60k train, 10k test, 28x28 gray."""
    return _mnist_like(datasets.MNIST, root, split, size, channels, download)


def fashion_mnist(
    root: str | Path | None, split: str, size: int = 32, channels: int = 1, download: bool = False
) -> Dataset:
    """Zalando's clothing images in 10 classes, laid out like MNIST."""
    return _mnist_like(datasets.FashionMNIST, root, split, size, channels, download)


def cifar10(
    root: str | Path, split: str, size: int = 32, channels: int = 3, download: bool = False
) -> VisionDataset:
    """Tiny natural images in 10 classes: 50k train, 10k test, 32x32 RGB."""
    folder = datasets.CIFAR10.base_folder
    files = [name for name, _md5 in datasets.CIFAR10.train_list + datasets.CIFAR10.test_list]
    expected = [f"{folder}/{name}" for name in [*files, datasets.CIFAR10.meta["filename"]]]
    train = {"train": True, "test": False}[split]
    transform = image_transform(size, channels)
    return load_vision_dataset(
        datasets.CIFAR10, root, expected, download=download, train=train, transform=transform
    )


def svhn(
    root: str | Path, split: str, size: int = 32, channels: int = 3, download: bool = False
) -> VisionDataset:
    """Street-view house numbers 0-9 (digit 0 is label 0): 73k train, 26k test, 32x32 RGB."""
    expected = [datasets.SVHN.split_list[split][1]]
    transform = image_transform(size, channels)
    return load_vision_dataset(
        datasets.SVHN, root, expected, download=download, split=split, transform=transform
    )


class Unlabelled(Dataset):
    """``(image, anything)`` items of ``dataset`` as ``(image, 0)``."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        return self.dataset[i][0], 0


def celeba(root: str | Path, split: str, size: int = 64, channels: int = 3) -> Dataset:
    """Aligned celebrity faces (162,770 train, 19,962 test), unlabelled, centre-cropped to 140.

    torchvision's download goes through Google Drive, which is usually over quota, so the
    files are fetched by hand.
    """
    folder = datasets.CelebA.base_folder
    expected = [f"{folder}/img_align_celeba/", *(f"{folder}/{name}" for name in CELEBA_FILES)]
    hint = (
        f"download img_align_celeba.zip (unzip it there) and the annotation files from "
        f"{CELEBA_PAGE} into {Path(root).expanduser() / folder}/"
    )
    transform = image_transform(size, channels, crop=CELEBA_CROP)
    faces = load_vision_dataset(
        datasets.CelebA, root, expected, hint, split=split, target_type=[], transform=transform
    )
    return Unlabelled(faces)


class ImageFolderDataset(Dataset):
    """Every image under ``folder`` (recursively, sorted), resized and cropped; label 0."""

    def __init__(self, folder: str | Path, size: int = 32, channels: int = 3):
        self.paths = list_images(Path(folder).expanduser())
        self.channels = channels
        self.transform = image_transform(size, channels)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        image = self.transform(read_image(self.paths[i], self.channels))
        return image.clamp_(0, 1), 0  # resizing a float image can overshoot by rounding


def image_folder(
    root: str | Path, split: str, size: int = 32, channels: int = 3
) -> ImageFolderDataset:
    """Your own images in ``root/train/`` and ``root/test/``, for unconditional models."""
    return ImageFolderDataset(split_folder(root, split), size, channels)
