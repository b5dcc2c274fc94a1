"""The embedded data: a clean split, paired degradations, a fixed evaluation set."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from regenlab.data.images import (
    EXTRA_IMAGES,
    SKIMAGE_SPLITS,
    LazyImages,
    folder_images,
    paired_images,
    read_image,
    skimage_images,
    to_tensor,
)
from regenlab.data.restoration import DegradedImages, RandomCrops, RestorationDataModule
from regenlab.degradations.noise import GaussianNoise
from regenlab.errors import ConfigError, UserError


def test_splits_are_disjoint_and_test_never_trained_on():
    train, val, test = (set(SKIMAGE_SPLITS[s]) for s in ("train", "val", "test"))
    assert not (train & val or train & test or val & test)
    assert "camera" in test


def test_a_recipe_chooses_its_training_images_but_never_a_held_out_one():
    chosen = ["clock", *sorted(EXTRA_IMAGES)]
    train = skimage_images("train", 3, train=chosen)
    assert train.names == chosen
    assert all(image.shape[0] == 3 for image in train.images)
    assert skimage_images("test", 1, train=chosen).names == list(SKIMAGE_SPLITS["test"])
    assert skimage_images("train", 1).names == list(SKIMAGE_SPLITS["train"])
    with pytest.raises(ConfigError, match="\\['camera'\\] are held out for val/test; choose from"):
        skimage_images("train", 1, train=["clock", "camera"])
    with pytest.raises(ConfigError, match="unknown \\['lena'\\]; choose from"):
        skimage_images("train", 1, train=["lena"])
    with pytest.raises(ConfigError, match="an empty list; choose from"):
        skimage_images("train", 1, train=[])


@pytest.mark.parametrize("channels", [1, 3])
def test_images_have_requested_channels_and_range(channels):
    images = skimage_images("val", channels)
    for image, _name in images:
        assert image.shape[0] == channels and image.dtype == torch.float32
        assert image.min() >= 0 and image.max() <= 1


def test_to_tensor_converts_rgba_and_16bit():
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 0] = 255
    assert to_tensor(rgba, 3).shape == (3, 4, 5)
    gray = to_tensor(rgba, 1)
    assert gray.shape == (1, 4, 5) and torch.allclose(gray, torch.full_like(gray, 0.299), atol=0.01)
    deep = np.full((2, 2), 65535, np.uint16)
    assert torch.equal(to_tensor(deep, 1), torch.ones(1, 2, 2))


def test_crop_larger_than_smallest_image_is_a_config_error():
    with pytest.raises(ConfigError, match=r"data.crop_size=400 .* smallest training image"):
        RandomCrops(skimage_images("train", 1), crop_size=400, length=4)


def test_training_crops_have_crop_size():
    crops = RandomCrops(skimage_images("train", 1), crop_size=48, length=4)
    assert len(crops) == 4 and crops[0]["clean"].shape == (1, 48, 48)


def degraded_val(num_workers: int) -> list[torch.Tensor]:
    data = DegradedImages(skimage_images("val", 1), GaussianNoise(sigma=25), seed=7, crop=64)
    loader = DataLoader(data, batch_size=1, num_workers=num_workers)
    return [batch["degraded"] for batch in loader]


def test_eval_noise_is_identical_across_loaders_and_worker_counts():
    first, again, workers = degraded_val(0), degraded_val(0), degraded_val(2)
    for a, b, c in zip(first, again, workers):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert not torch.equal(first[0], first[1][..., : first[0].shape[-2], : first[0].shape[-1]])


def test_eval_noise_has_the_configured_sigma():
    data = DegradedImages(skimage_images("test", 1), GaussianNoise(sigma=25), seed=0)
    item = data[0]
    assert item["name"] == "camera"
    assert (item["degraded"] - item["clean"]).std().item() == pytest.approx(25 / 255, rel=0.02)


def test_training_batches_are_degraded_after_transfer_and_resume_exactly():
    dm = RestorationDataModule(skimage_images, GaussianNoise(sigma=[10, 50]), crop_size=16)
    clean = torch.rand(8, 1, 16, 16)
    first = dm.on_after_batch_transfer({"clean": clean}, 0)["degraded"]
    state = dm.state_dict()
    second = dm.on_after_batch_transfer({"clean": clean}, 0)["degraded"]
    resumed = RestorationDataModule(skimage_images, GaussianNoise(sigma=[10, 50]), crop_size=16)
    resumed.load_state_dict(state)
    assert torch.equal(resumed.on_after_batch_transfer({"clean": clean}, 0)["degraded"], second)
    per_image_sigma = (first - clean).flatten(1).std(dim=1)
    assert per_image_sigma.max() - per_image_sigma.min() > 5 / 255  # one sigma per image


@pytest.mark.parametrize(("device", "pin", "expect"), [
    ("cpu", None, False), ("cuda", None, True), ("cuda", False, False),
])  # fmt: skip
def test_memory_is_pinned_exactly_when_batches_go_to_a_gpu(device, pin, expect):
    dm = RestorationDataModule(skimage_images, GaussianNoise(sigma=25), crop_size=16,
                               num_workers=1, pin_memory=pin)  # fmt: skip
    strategy = SimpleNamespace(root_device=torch.device(device))
    dm.trainer = SimpleNamespace(strategy=strategy, world_size=1, global_rank=0)
    dm.setup("fit")
    loader = dm.train_dataloader()
    assert loader.pin_memory is expect and loader.persistent_workers


def write_folder(root, split: str, n: int = 2, size=(20, 24)) -> None:
    folder = root / split / "nested"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(folder / f"{i}.png")


def test_folder_images_read_recursively_in_sorted_order(tmp_path):
    write_folder(tmp_path, "test", n=3)
    images = folder_images(tmp_path, "test", channels=1)
    assert images.names == ["nested/0.png", "nested/1.png", "nested/2.png"]
    assert images[0][0].shape == (1, 20, 24)


@pytest.mark.parametrize(
    ("mode", "channels", "expect"),
    [("P", 3, 3), ("RGBA", 3, 3), ("I;16", 1, 1), ("1", 3, 3), ("LA", 1, 1), ("CMYK", 1, 1)],
)
def test_any_image_mode_is_converted(tmp_path, mode, channels, expect):
    path = tmp_path / ("x.tif" if mode == "CMYK" else "x.png")
    Image.new("RGB", (6, 5), (200, 100, 50)).convert(mode).save(path)
    x = read_image(path, channels)
    assert x.shape == (expect, 5, 6) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1


def test_missing_root_and_empty_split_and_corrupt_file_say_what_to_do(tmp_path):
    with pytest.raises(UserError, match=r"does not exist; expected .*/train"):
        folder_images(tmp_path / "nowhere", "train")
    (tmp_path / "val").mkdir()
    with pytest.raises(UserError, match=r"no images in .*val"):
        folder_images(tmp_path, "val")
    (tmp_path / "val" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match=r"cannot read image .*broken.png"):
        folder_images(tmp_path, "val")


def write_pairs(root, splits=("train", "val", "test"), n: int = 2, size=(40, 48)) -> None:
    rng = np.random.default_rng(1)
    for split in splits:
        for side in ("degraded", "clean"):
            (root / split / side).mkdir(parents=True)
        for i in range(n):
            clean = rng.integers(0, 255, size, dtype=np.uint8)
            noisy = np.clip(clean + rng.normal(0, 20, size), 0, 255).astype(np.uint8)
            Image.fromarray(clean).save(root / split / "clean" / f"im{i}.png")
            Image.fromarray(noisy).save(root / split / "degraded" / f"im{i}.jpg")


def test_paired_folders_give_both_halves_as_they_are_on_disk(tmp_path):
    write_pairs(tmp_path)
    pairs = paired_images(tmp_path, "test", channels=1)
    assert pairs.names == ["im0", "im1"] and pairs.sizes() == [(40, 48)] * 2
    item = DegradedImages(pairs, degradation=None, seed=0)[0]
    assert item["degraded"].shape == item["clean"].shape == (1, 40, 48)
    assert not torch.equal(item["degraded"], item["clean"]) and item["name"] == "im0"


def test_unmatched_pair_names_are_reported(tmp_path):
    write_pairs(tmp_path, splits=("test",))
    (tmp_path / "test" / "clean" / "im1.png").rename(tmp_path / "test" / "clean" / "other.png")
    with pytest.raises(UserError, match=r"2 image\(s\) without a partner, e.g. .*im1.jpg"):
        paired_images(tmp_path, "test")


SR_DIRS = {"train": ["LR/X4", "HR"]}  # DIV2K's layout: DIV2K_train_LR_bicubic/X4, ..._HR


def write_sr_pairs(root, names=("0001", "baby"), lr_size=(12, 16)) -> None:
    """HR/<name>.png and LR/X4/<name>x4.png, as DIV2K and the SR benchmark packs name them:
    each LR pixel is the value of its 4x4 block of the HR image, which has 2 more rows and
    columns (SR sets crop HR to a multiple of the scale before downscaling)."""
    rng = np.random.default_rng(0)
    (root / "HR").mkdir(parents=True)
    (root / "LR" / "X4").mkdir(parents=True)
    for name in names:
        h, w = lr_size
        lr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        hr = rng.integers(0, 256, (4 * h + 2, 4 * w + 2, 3), dtype=np.uint8)
        hr[: 4 * h, : 4 * w] = lr.repeat(4, 0).repeat(4, 1)
        Image.fromarray(hr).save(root / "HR" / f"{name}.png")
        Image.fromarray(lr).save(root / "LR" / "X4" / f"{name}x4.png")


def test_sr_pairs_of_different_sizes_crop_aligned_and_decode_per_item(tmp_path):
    write_sr_pairs(tmp_path)
    pairs = {
        cache: paired_images(tmp_path, "train", 3, scale=4, cache=cache, **SR_DIRS)
        for cache in ("none", "ram")
    }
    lazy = pairs["none"]
    assert isinstance(lazy.clean, LazyImages) and isinstance(lazy.degraded, LazyImages)
    assert lazy.names == ["0001", "baby"] and lazy.sizes() == [(48, 64)] * 2  # 0001x4 <-> 0001
    item, _ = lazy[1]
    assert item["degraded"].shape == (3, 12, 16) and item["clean"].shape == (3, 48, 64)
    crops = [RandomCrops(p, crop_size=8, length=16, seed=3) for p in pairs.values()]
    for k in range(16):  # the same flip/rotation of the same place: LR pixel = HR block
        crop, in_ram = crops[0][k], crops[1][k]
        assert crop["degraded"].shape == (3, 2, 2) and crop["clean"].shape == (3, 8, 8)
        blocks = crop["degraded"].repeat_interleave(4, -1).repeat_interleave(4, -2)
        assert torch.equal(blocks, crop["clean"])
        assert all(torch.equal(crop[key], in_ram[key]) for key in crop)
    with pytest.raises(ConfigError, match="crop_size=6 must be a multiple of the pairs' scale 4"):
        RandomCrops(lazy, crop_size=6, length=4)


def test_sr_pairs_evaluate_whole_and_refuse_a_wrong_size_or_a_lost_partner(tmp_path):
    write_sr_pairs(tmp_path)
    item = DegradedImages(paired_images(tmp_path, "val", 3, scale=4, val=["LR/X4", "HR"]),
                          degradation=None, seed=0, multiple_of=4)[0]  # fmt: skip
    assert item["clean"].shape == (3, 48, 64) and item["degraded"].shape == (3, 12, 16)
    lr = tmp_path / "LR" / "X4" / "babyx4.png"
    Image.fromarray(np.zeros((13, 16, 3), np.uint8)).save(lr)  # one row too many
    with pytest.raises(UserError, match=r"pair .*babyx4.png \(13x16\) and .*baby.png "
                       r"\(50x66\): with degradation.scale=4 it must be 12x16"):  # fmt: skip
        paired_images(tmp_path, "train", 3, scale=4, **SR_DIRS)
    with pytest.raises(UserError, match=r"without a partner, e.g. .*0001x4.png.* "
                       r"\(x4 names: degradation.scale=4\?\)"):  # fmt: skip
        paired_images(tmp_path, "train", 3, **SR_DIRS)  # the scale left at 1
    lr.unlink()
    with pytest.raises(UserError, match=r"no val pairs: .*/val/ does not exist; .* give "
                       r"data.images.val=\[degraded dir, clean dir\]"):  # fmt: skip
        paired_images(tmp_path, "val", 3, scale=4, **SR_DIRS)  # the train split's dirs only
    with pytest.raises(UserError, match=r"1 image\(s\) without a partner, e.g. .*HR/baby.png; "
                       r"a pair is <name>.<ext> in .*HR and <name>\[x4\].<ext> in"):  # fmt: skip
        paired_images(tmp_path, "train", 3, scale=4, **SR_DIRS)


def test_unreadable_files_can_be_skipped_with_a_count(tmp_path, caplog):
    write_folder(tmp_path, "train", n=2)
    (tmp_path / "train" / "nested" / "broken.png").write_bytes(b"\x89PNG truncated")
    with pytest.raises(UserError, match=r"broken.png.*skip_bad=true"):
        folder_images(tmp_path, "train")
    images = folder_images(tmp_path, "train", skip_bad=True)
    assert images.names == ["nested/0.png", "nested/1.png"]
    assert "skipped 1 unreadable image" in caplog.text


def write_mixed_folder(folder) -> None:
    """RGB, 16-bit gray and an EXIF-rotated JPEG (its header size is turned) of other sizes."""
    rng = np.random.default_rng(2)
    folder.mkdir(parents=True)
    Image.fromarray(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(folder / "a.png")
    Image.fromarray(rng.integers(0, 65535, (48, 36), dtype=np.uint16)).save(folder / "b.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to view
    rotated = Image.fromarray(rng.integers(0, 255, (36, 60, 3), dtype=np.uint8))
    rotated.save(folder / "c.jpg", exif=exif)


def tensors_in(value, depth: int = 0) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple) and depth < 3:
        return any(tensors_in(v, depth + 1) for v in value)
    return False


@pytest.mark.parametrize("channels", [1, 3])
def test_lazy_training_folder_gives_the_crops_of_the_in_ram_one(tmp_path, channels):
    write_mixed_folder(tmp_path / "train")
    ram = folder_images(tmp_path, "train", channels, cache="ram")
    lazy = folder_images(tmp_path, "train", channels, cache="none")
    assert type(lazy).__name__ == "LazyImages" and not tensors_in(vars(lazy))
    assert lazy.names == ram.names and lazy.sizes() == ram.sizes() == [(40, 56), (48, 36), (60, 36)]
    crops = [RandomCrops(images, crop_size=32, length=12, seed=3) for images in (ram, lazy)]
    for k in range(12):
        assert torch.equal(crops[0][k]["clean"], crops[1][k]["clean"])
    with pytest.raises(ConfigError, match=r"crop_size=37 .* image 'b.png' \(48x36\)"):
        RandomCrops(lazy, crop_size=37, length=4)


def test_cache_auto_decodes_per_item_only_what_exceeds_the_budget(tmp_path, monkeypatch):
    write_folder(tmp_path, "train", n=3)
    write_folder(tmp_path, "val", n=1)
    assert not tensors_in(vars(folder_images(tmp_path, "train", 3, cache="none")))
    assert tensors_in(vars(folder_images(tmp_path, "train", 3)))  # tiny: held in RAM
    monkeypatch.setattr("regenlab.data.images.RAM_BUDGET", 3 * 20 * 24 * 3 * 4 - 1)
    lazy = folder_images(tmp_path, "train", 3)
    assert not tensors_in(vars(lazy)) and len(lazy) == 3 and lazy[2][0].shape == (3, 20, 24)
    assert tensors_in(vars(folder_images(tmp_path, "val", 3, cache="none")))  # eval: in RAM
    with pytest.raises(ConfigError, match=r"cache must be one of auto, ram, none; got .disk."):
        folder_images(tmp_path, "val", 3, cache="disk")


def test_lazy_folder_skips_files_with_a_broken_header(tmp_path):
    write_folder(tmp_path, "train", n=2)
    (tmp_path / "train" / "nested" / "broken.png").write_bytes(b"\x89PNG truncated")
    with pytest.raises(UserError, match=r"broken.png.*skip_bad=true"):
        folder_images(tmp_path, "train", cache="none")
    images = folder_images(tmp_path, "train", skip_bad=True, cache="none")
    assert images.names == ["nested/0.png", "nested/1.png"]
