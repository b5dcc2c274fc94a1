"""ImageDataModule: dict batches, a seeded val split held out of train, real images, configs."""

from __future__ import annotations

from collections import Counter
from functools import partial

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from regenlab.data.generative import ImageDataModule
from regenlab.data.shapes import shapes
from regenlab.data.torchvision_sets import mnist
from regenlab.errors import ConfigError, UserError
from tests.data.conftest import MNIST_TEST_LABELS, MNIST_TRAIN_LABELS

NEW_CONFIGS = ["shapes", "mnist", "fashion_mnist", "cifar10", "svhn", "celeba", "image_folder"]


def small_shapes(**kwargs) -> ImageDataModule:
    dataset = partial(shapes, length=40, test_length=8)
    return ImageDataModule(dataset, **{"val_size": 8, "batch_size": 4, **kwargs})


def labels_of(dm: ImageDataModule, split: str) -> list[int]:
    loader = {"train": dm.train_dataloader, "val": dm.val_dataloader, "test": dm.test_dataloader}
    return [label for batch in loader[split]() for label in batch["label"].tolist()]


def test_mnist_batches_are_dicts_with_the_written_labels(mnist_root):
    dm = ImageDataModule(partial(mnist, root=mnist_root), channels=1, val_size=4, batch_size=2)
    dm.prepare_data()
    dm.setup("fit")
    batch = next(iter(dm.test_dataloader()))
    assert set(batch) == {"image", "label"}
    assert batch["image"].shape == (2, 1, 32, 32) and batch["image"].dtype == torch.float32
    assert batch["label"].dtype == torch.int64
    assert labels_of(dm, "test") == MNIST_TEST_LABELS  # test keeps the file order
    train_val = labels_of(dm, "train") + labels_of(dm, "val")
    assert Counter(train_val) == Counter(MNIST_TRAIN_LABELS) and len(labels_of(dm, "val")) == 4


def test_download_true_keeps_files_that_are_already_there(mnist_root):
    """torchvision's download() returns at once when the files exist: no network touched."""
    dm = ImageDataModule(partial(mnist, root=mnist_root), channels=1, val_size=4, download=True)
    dm.prepare_data()
    dm.setup()
    assert len(dm.datasets["test"]) == len(MNIST_TEST_LABELS)


def test_val_is_a_seeded_held_out_part_of_train():
    first, again, other = small_shapes(seed=1), small_shapes(seed=1), small_shapes(seed=2)
    for dm in (first, again, other):
        dm.setup()
    val, train = first.datasets["val"].indices, first.datasets["train"].indices
    assert sorted(val + train) == list(range(40)) and len(val) == 8
    assert val == again.datasets["val"].indices and val != other.datasets["val"].indices
    assert torch.equal(first.real_images("val", 8), again.real_images("val", 8))


def t10k_only(root, n: int = 30):
    """An MNIST root holding only the test files (t10k), as the official test set alone is."""
    import numpy as np

    from tests.data.conftest import pixels, write_idx

    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_idx(raw / "t10k-images-idx3-ubyte", pixels(n, 28, 28))
    write_idx(raw / "t10k-labels-idx1-ubyte", np.arange(n, dtype=np.uint8) % 10)
    return root


def split_from_test(root, **kwargs) -> ImageDataModule:
    rule = {"split_from": "test", "split_sizes": [20, 4, 6], **kwargs}
    return ImageDataModule(partial(mnist, root=root), channels=1, batch_size=4, **rule)


def test_split_from_cuts_one_split_into_disjoint_seeded_parts(tmp_path):
    root = t10k_only(tmp_path)
    dm, other_run_seed, other_split = (split_from_test(root, seed=s, split_seed=k)
                                       for s, k in ((1, 0), (2, 0), (1, 5)))  # fmt: skip
    for d in (dm, other_run_seed, other_split):
        d.setup()
    parts = {name: dm.datasets[name].indices for name in ("train", "val", "test")}
    assert [len(p) for p in parts.values()] == [20, 4, 6]
    assert sorted(i for part in parts.values() for i in part) == list(range(30))
    assert labels_of(dm, "test") == [i % 10 for i in parts["test"]]
    record = dm.split_record
    assert record["source"] == "test" and record["sizes"] == [20, 4, 6] and record["seed"] == 0
    assert record == other_run_seed.split_record  # the run's seed does not move the test set
    assert record["indices_sha256"] != other_split.split_record["indices_sha256"]


def test_split_sizes_from_a_config_load_back_from_a_weights_only_checkpoint(tmp_path):
    """Hydra passes a ListConfig; kept as one in hparams it breaks torch.load(weights_only)."""
    dm = split_from_test(t10k_only(tmp_path), split_sizes=OmegaConf.create([20, 4, 6]))
    torch.save(dict(dm.hparams), tmp_path / "hparams.pt")
    assert torch.load(tmp_path / "hparams.pt", weights_only=True)["split_sizes"] == [20, 4, 6]


def test_bad_split_rules_are_config_errors(tmp_path):
    root = t10k_only(tmp_path)
    with pytest.raises(ConfigError, match=r"split_from must be train, test or null"):
        split_from_test(root, split_from="val")
    with pytest.raises(ConfigError, match=r"give \[train, val, test\] image counts"):
        split_from_test(root, split_sizes=[20, 4])
    too_many = split_from_test(root, split_sizes=[20, 5, 6])
    with pytest.raises(ConfigError, match=r"asks for 31 images but the test split has 30"):
        too_many.setup()


def test_train_batches_are_shuffled_and_full():
    dm = small_shapes(val_size=10)  # 30 train images: 7 full batches of 4, the rest dropped
    dm.setup()
    batches = list(dm.train_dataloader())
    assert len(batches) == 7 and all(b["image"].shape == (4, 3, 32, 32) for b in batches)


def test_real_images_are_the_first_images_of_a_split():
    dm = small_shapes()
    images = dm.real_images("test", 6)  # sets itself up
    assert images.shape == (6, 3, 32, 32)
    assert torch.equal(images[5], dm.datasets["test"][5][0])
    with pytest.raises(UserError, match=r"9 real images .* test split, which has 8"):
        dm.real_images("test", 9)


def test_bad_values_are_config_errors():
    with pytest.raises(ConfigError, match=r"data.channels must be 1 \(gray\) or 3"):
        small_shapes(channels=2)
    dm = small_shapes(val_size=40)
    with pytest.raises(ConfigError, match=r"data.val_size=40 leaves no training images"):
        dm.setup()


@pytest.mark.parametrize("name", NEW_CONFIGS)
def test_config_builds_without_touching_the_disk(make_cfg, name):
    cfg = make_cfg(f"data={name}", quick=False)
    OmegaConf.resolve(cfg)  # every interpolation points somewhere
    dm = instantiate(cfg.data)
    assert isinstance(dm, ImageDataModule) and not dm.datasets
    assert dm.hparams.size in (32, 64) and dm.hparams.channels in (1, 3)


def test_shapes_config_sets_up_and_yields_a_batch(make_cfg):
    cfg = make_cfg("data=shapes", "data.dataset.length=200", "data.val_size=50")
    dm = instantiate(cfg.data)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (64, 3, 32, 32) and dm.num_classes == 4
    assert batch["image"].min() >= 0 and batch["image"].max() <= 1
    assert set(batch["label"].tolist()) <= set(range(4))


def test_mnist_config_reads_its_root(make_cfg, mnist_root):
    cfg = make_cfg("data=mnist", f"data.dataset.root={mnist_root}", "data.val_size=2")
    dm = instantiate(cfg.data)
    dm.setup("fit")
    assert dm.num_classes == 10 and labels_of(dm, "test") == MNIST_TEST_LABELS


def test_missing_data_is_reported_at_setup(make_cfg):
    dm = instantiate(make_cfg("data=cifar10").data)
    with pytest.raises(UserError, match=r"CIFAR10 not found in .*/data/cifar10: .*download=true"):
        dm.setup("fit")
