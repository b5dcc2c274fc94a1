"""Tiny on-disk copies of the real datasets' file formats, read by torchvision's own classes."""

from __future__ import annotations

import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat
from torchvision.datasets import celeba, cifar, svhn

MNIST_TRAIN_LABELS = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]
MNIST_TEST_LABELS = [7, 0, 2, 8]
CIFAR_TRAIN_PER_BATCH = 3  # x 5 batches
CIFAR_TEST_LABELS = [9, 0, 4, 2]


def pixels(n: int, *shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


def skip_md5(monkeypatch: pytest.MonkeyPatch, *modules) -> None:
    """Keep torchvision's existence checks but not its md5 of the real files (ours differ).

    Only ``check_integrity`` as seen by those dataset modules is replaced; the loading code
    that follows it (pickle, .mat, csv parsing, image decoding) is torchvision's own.
    """
    for module in modules:
        monkeypatch.setattr(module, "check_integrity", lambda path, md5=None: os.path.isfile(path))


def write_idx(path: Path, data: np.ndarray) -> None:
    """The IDX format of the MNIST files: magic 0x08 0x<ndim> (uint8), big-endian dims, data."""
    magic = 0x0800 + data.ndim  # 2051 for images, 2049 for labels
    path.write_bytes(struct.pack(f">{1 + data.ndim}i", magic, *data.shape) + data.tobytes())


def write_mnist(root: Path, folder: str = "MNIST") -> Path:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    for prefix, labels in (("train", MNIST_TRAIN_LABELS), ("t10k", MNIST_TEST_LABELS)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", pixels(len(labels), 28, 28))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.array(labels, np.uint8))
    return root


@pytest.fixture
def mnist_root(tmp_path: Path) -> Path:
    return write_mnist(tmp_path / "mnist")


def cifar_train_labels() -> list[int]:
    return [(3 * i + 1) % 10 for i in range(5 * CIFAR_TRAIN_PER_BATCH)]


@pytest.fixture
def cifar_root(tmp_path: Path) -> Path:
    """cifar-10-batches-py/ with the real pickle layout: rows of 3072 uint8 (R, G, B planes)."""
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    n, labels = CIFAR_TRAIN_PER_BATCH, cifar_train_labels()
    batches = {f"data_batch_{b + 1}": labels[b * n : (b + 1) * n] for b in range(5)}
    batches["test_batch"] = CIFAR_TEST_LABELS
    for seed, (name, batch_labels) in enumerate(batches.items()):
        entry = {"data": pixels(len(batch_labels), 3072, seed=seed), "labels": batch_labels}
        (folder / name).write_bytes(pickle.dumps(entry))
    meta = {"label_names": [f"class {i}" for i in range(10)]}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))
    return folder.parent


@pytest.fixture
def svhn_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """train/test_32x32.mat as scipy writes them: X is (32, 32, 3, N), y is (N, 1), 10 = digit 0."""
    skip_md5(monkeypatch, svhn)
    root = tmp_path / "svhn"
    root.mkdir()
    for split, labels in (("train", [10, 1, 2, 3, 4, 5]), ("test", [10, 7])):
        images = pixels(len(labels), 32, 32, 3).transpose(1, 2, 3, 0)
        savemat(root / f"{split}_32x32.mat", {"X": images, "y": np.array(labels)[:, None]})
    return root


@pytest.fixture
def celeba_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """celeba/ with 178x218 JPEGs and the five space-separated annotation files."""
    skip_md5(monkeypatch, celeba)
    folder = tmp_path / "celeba" / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    names = [f"{i:06d}.jpg" for i in range(1, 7)]
    for name, image in zip(names, pixels(len(names), 218, 178, 3)):
        Image.fromarray(image).save(folder / "img_align_celeba" / name)
    partition = [0, 0, 0, 1, 2, 2]  # train, train, train, valid, test, test

    def write(filename: str, header: list[str] | None, rows: list[list[int]]) -> None:
        lines = [str(len(rows)), " ".join(header)] if header is not None else []
        lines += [" ".join([name, *map(str, row)]) for name, row in zip(names, rows)]
        (folder / filename).write_text("\n".join(lines) + "\n")

    write("list_eval_partition.txt", None, [[p] for p in partition])
    write("identity_CelebA.txt", None, [[i] for i in range(len(names))])
    write("list_attr_celeba.txt", ["Smiling", "Young"], [[1, -1]] * len(names))
    write("list_bbox_celeba.txt", ["image_id", "x_1", "y_1", "width", "height"], [[1, 2, 3, 4]] * 6)
    write("list_landmarks_align_celeba.txt", [f"p{i}" for i in range(10)], [list(range(10))] * 6)
    return folder.parent


@pytest.fixture
def cifar_md5_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    skip_md5(monkeypatch, cifar)
