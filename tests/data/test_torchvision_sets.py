"""torchvision's own classes read tiny real-format fixtures; missing files say what to do."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from regenlab.data.torchvision_sets import (
    celeba,
    cifar10,
    fashion_mnist,
    image_folder,
    mnist,
    svhn,
)
from regenlab.errors import UserError
from tests.data.conftest import (
    CIFAR_TEST_LABELS,
    MNIST_TEST_LABELS,
    MNIST_TRAIN_LABELS,
    cifar_train_labels,
    write_mnist,
)


def items(dataset) -> tuple[torch.Tensor, list[int]]:
    images, labels = zip(*(dataset[i] for i in range(len(dataset))))
    return torch.stack(images), list(labels)


@pytest.mark.parametrize(("builder", "folder"), [(mnist, "MNIST"), (fashion_mnist, "FashionMNIST")])
def test_mnist_like_reads_idx_files(tmp_path, builder, folder):
    root = write_mnist(tmp_path, folder)
    images, labels = items(builder(root, "train", size=32, channels=1))
    assert images.shape == (len(MNIST_TRAIN_LABELS), 1, 32, 32) and labels == MNIST_TRAIN_LABELS
    assert items(builder(root, "test", size=32, channels=3))[0].shape[1:] == (3, 32, 32)


def test_cifar10_reads_pickled_batches(cifar_root, cifar_md5_skipped):
    images, labels = items(cifar10(cifar_root, "train"))
    assert images.shape == (len(cifar_train_labels()), 3, 32, 32) and labels == cifar_train_labels()
    assert images.dtype == torch.float32 and images.min() >= 0 and images.max() <= 1
    gray, test_labels = items(cifar10(cifar_root, "test", size=64, channels=1))
    assert gray.shape == (len(CIFAR_TEST_LABELS), 1, 64, 64) and test_labels == CIFAR_TEST_LABELS


def test_svhn_reads_mat_files_and_maps_label_10_to_digit_0(svhn_root):
    images, labels = items(svhn(svhn_root, "train"))
    assert images.shape == (6, 3, 32, 32) and labels == [0, 1, 2, 3, 4, 5]


def test_celeba_is_cropped_resized_and_unlabelled(celeba_root):
    images, labels = items(celeba(celeba_root, "train", size=64))
    assert images.shape == (3, 3, 64, 64) and labels == [0, 0, 0]
    assert len(celeba(celeba_root, "test")) == 2


def test_checksum_failure_is_a_user_error(cifar_root):
    """Without the md5 bypass torchvision rejects the fixture: re-raised as one line."""
    with pytest.raises(UserError, match=r"CIFAR10 fails torchvision's checksum .*download=true"):
        cifar10(cifar_root, "train")


@pytest.mark.parametrize(
    ("builder", "expects", "how"),
    [
        (mnist, "MNIST/raw/train-images-idx3-ubyte, ", "data.download=true"),
        (fashion_mnist, "FashionMNIST/raw/train-labels-idx1-ubyte", "data.download=true"),
        (cifar10, "cifar-10-batches-py/data_batch_1, ", "data.download=true"),
        (svhn, "train_32x32.mat", "data.download=true"),
        (celeba, "celeba/img_align_celeba/, celeba/list_eval_partition.txt", "CelebA.html"),
    ],
)
def test_missing_root_names_the_expected_files_and_how_to_get_them(tmp_path, builder, expects, how):
    root = tmp_path / "nowhere"
    with pytest.raises(UserError) as error:
        builder(root, "train")
    message = str(error.value)
    assert "\n" not in message and f"not found in {root}:" in message
    assert expects in message and how in message and "missing: all" in message


def test_partly_missing_files_are_listed(mnist_root):
    (mnist_root / "MNIST/raw/t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(UserError, match=r"\(missing: MNIST/raw/t10k-labels-idx1-ubyte\)"):
        mnist(mnist_root, "test")


def test_mnist_split_reads_like_torchvision_and_needs_only_its_own_files(mnist_root):
    """The items equal torchvision's MNIST class's; the train files may then be absent."""
    from torchvision.datasets import MNIST

    from regenlab.data.torchvision_sets import image_transform

    reference = MNIST(mnist_root, train=False, transform=image_transform(32, 1))
    ours = mnist(mnist_root, "test", size=32, channels=1)
    assert torch.equal(items(ours)[0], items(reference)[0]) and items(ours)[1] == MNIST_TEST_LABELS
    for kind in ("images-idx3", "labels-idx1"):
        (mnist_root / f"MNIST/raw/train-{kind}-ubyte").unlink()
    assert items(mnist(mnist_root, "test"))[1] == MNIST_TEST_LABELS


def test_mnist_without_a_root_says_which_key_to_set():
    with pytest.raises(UserError, match=r"no MNIST root is set: pass data.dataset.root=.*_root"):
        mnist(None, "test")


def test_image_folder_resizes_and_crops_any_image(tmp_path):
    folder = tmp_path / "train" / "nested"
    folder.mkdir(parents=True)
    Image.new("RGB", (61, 45), (255, 255, 255)).save(folder / "wide.png")
    Image.fromarray(np.zeros((30, 50), np.uint8)).save(folder / "gray.png")
    data = image_folder(tmp_path, "train", size=16, channels=3)
    images, labels = items(data)
    assert images.shape == (2, 3, 16, 16) and labels == [0, 0]
    # sorted: gray.png (black), wide.png (white; resizing floats overshoots 1 unless clamped)
    assert images[0].max() == 0 and images[1].min() > 0.999 and images[1].max() <= 1
    with pytest.raises(UserError, match=r"no images in .*test"):
        image_folder(tmp_path, "test")


def test_celeba_faces_feed_inpainting(celeba_root, make_cfg):
    from regenlab.train import train

    cfg = make_cfg("experiment=inpaint", "data=celeba_faces", "debug=fast_dev_run",
                   f"data.images.dataset.root={celeba_root}", "data.batch_size=2",
                   "data.eval_repeats=1", "model.generator.width=8")  # fmt: skip
    metrics = train(cfg)
    assert metrics["test/count"] >= 1 and "test/hole_mae" in metrics
