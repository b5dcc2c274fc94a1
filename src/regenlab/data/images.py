"""Clean-image sources: each yields (C, H, W) float tensors in [0, 1] with a name."""

from __future__ import annotations

import logging
import re
import struct
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import tifffile
import torch
from PIL import ExifTags, Image, UnidentifiedImageError
from skimage import data as skdata
from tifffile import PHOTOMETRIC, PLANARCONFIG
from torch import Tensor
from torch.utils.data import Dataset
from torchvision.io import ImageReadMode, decode_image, read_file
from torchvision.transforms.v2 import functional as TF

from regenlab.degradations.params import check_ints
from regenlab.errors import ConfigError, UserError
from regenlab.metrics.image import rgb_to_y

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
TIFF_SUFFIXES = (".tif", ".tiff")
log = logging.getLogger(__name__)

# A fixed split by name of the natural images scikit-image ships inside its wheel (no download).
# The test images are the classic 'camera', 'astronaut' and 'coffee'; none of them is trained on.
SKIMAGE_SPLITS: dict[str, tuple[str, ...]] = {
    "train": (
        "brick", "cell", "clock", "grass", "gravel", "hubble_deep_field",
        "immunohistochemistry", "moon", "page", "retina", "rocket", "text",
    ),
    "val": ("coins", "chelsea"),
    "test": ("camera", "astronaut", "coffee"),
}  # fmt: skip


GRAY = ("luma", "y")


def to_tensor(image: np.ndarray, channels: int, gray: str = "luma") -> Tensor:
    """HxW or HxWxC uint8/uint16/bool/float array -> (channels, H, W) float32 in [0, 1];
    alpha is dropped. RGB to 1 channel: ``gray="luma"`` is full-range BT.601 luma,
    ``gray="y"`` MATLAB's rgb2ycbcr Y (in [16, 235], 8-bit), what SR and JPEG papers
    measure on; a gray image stays as it is either way."""
    x = TF.to_dtype(TF.to_image(image), torch.float32, scale=True)
    if x.shape[0] in (2, 4):  # gray or RGB with alpha: drop alpha
        x = x[:-1]
    if channels == 1 and x.shape[0] == 3:
        if gray not in GRAY:
            raise ConfigError(f"data.gray must be one of {', '.join(GRAY)}; got {gray!r}")
        return rgb_to_y(x[None])[0] if gray == "y" else TF.rgb_to_grayscale(x)
    if channels == 3 and x.shape[0] == 1:
        return x.expand(3, -1, -1).clone()
    if channels not in (1, 3):
        raise ConfigError(f"data.channels must be 1 (gray) or 3 (RGB), got {channels}")
    return x


class NamedImages(torch.utils.data.Dataset):
    """A list of clean images held in memory; item i is ``(image, name)``."""

    scale = 1  # clean pixels per degraded pixel, on each axis: real SR pairs (ImagePairs)

    def __init__(self, images: list[Tensor], names: list[str]):
        self.images, self.names = images, names

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[Tensor, str]:
        return self.images[i], self.names[i]

    def sizes(self) -> list[tuple[int, int]]:
        """(H, W) of each image."""
        return [tuple(im.shape[-2:]) for im in self.images]


class LazyImages(NamedImages):
    """Image files decoded per item, so a training folder larger than RAM trains and the
    DataLoader's workers decode in parallel. Item i holds the same floats as ``read_folder``
    gives in RAM (``read``: e.g. ``read_image`` with the channels bound)."""

    def __init__(
        self, paths: list[Path], names: list[str], sizes: list[tuple[int, int]], read: Callable
    ):
        self.paths, self.names, self._sizes, self.read = paths, names, sizes, read

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[Tensor, str]:
        return self.read(self.paths[i]), self.names[i]

    def sizes(self) -> list[tuple[int, int]]:
        return self._sizes


# More natural photographs that installed packages ship, for recipes that choose their own
# training images (the texture-heavy default split has few photos like the test's).
EXTRA_IMAGES: dict[str, Callable[[], np.ndarray]] = {
    "motorcycle_left": lambda: skdata.stereo_motorcycle()[0],
    "motorcycle_right": lambda: skdata.stereo_motorcycle()[1],
    "grace_hopper": lambda: matplotlib_sample("grace_hopper.jpg"),
}


def matplotlib_sample(name: str) -> np.ndarray:
    from matplotlib import cbook  # only when asked for: matplotlib is slow to import

    with Image.open(cbook.get_sample_data(name)) as im:
        return np.array(im)


def skimage_images(
    split: str, channels: int = 1, train: Sequence[str] | None = None
) -> NamedImages:
    """The embedded natural images of ``split`` ('train', 'val' or 'test'). ``train`` names
    the training images instead of the default split: any of that split and ``EXTRA_IMAGES``
    (never a val/test image)."""
    loaders = {
        n: getattr(skdata, n) for split_names in SKIMAGE_SPLITS.values() for n in split_names
    }
    loaders |= EXTRA_IMAGES
    if train is not None:
        held_out = {*SKIMAGE_SPLITS["val"], *SKIMAGE_SPLITS["test"]}
        choices = f"choose from {sorted(set(loaders) - held_out)}"
        if leaked := sorted(held_out.intersection(train)):
            raise ConfigError(f"data.images.train: {leaked} are held out for val/test; {choices}")
        unknown = sorted(set(train) - set(loaders))
        if unknown or not train:
            problem = f"unknown {unknown}" if unknown else "an empty list"
            raise ConfigError(f"data.images.train: {problem}; {choices}")
    names = list(train if split == "train" and train is not None else SKIMAGE_SPLITS[split])
    return NamedImages([to_tensor(loaders[n](), channels) for n in names], names)


def write_image(array: np.ndarray, path: str | Path) -> None:
    """(H, W, C) array -> file, in the array's own dtype (8/16-bit, float for TIFF); the
    format follows the suffix. No metadata is copied: the pixels are already upright."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in TIFF_SUFFIXES and array.dtype != np.uint8:
        photometric = "rgb" if array.shape[-1] >= 3 else "minisblack"
        extrasamples = ["unassalpha"] if array.shape[-1] in (2, 4) else None
        tifffile.imwrite(path, array, photometric=photometric, extrasamples=extrasamples)
    elif array.dtype == np.uint8 or array.shape[-1] == 1:
        Image.fromarray(array.squeeze(-1) if array.shape[-1] == 1 else array).save(path, quality=95)
    else:
        write_png16(array, path)


def write_png16(array: np.ndarray, path: Path) -> None:
    """16-bit gray+alpha, RGB or RGBA PNG, which Pillow cannot write (it has no such
    modes): unfiltered rows, zlib-compressed, as the PNG spec lays them out."""
    h, w, c = array.shape
    rows = array.astype(">u2").reshape(h, -1).view(np.uint8)
    data = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", w, h, 16, {2: 4, 3: 2, 4: 6}[c], 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(data))
        + chunk(b"IEND", b"")
    )  # fmt: skip


def dataset_images(
    dataset: Callable[..., Dataset], split: str, channels: int = 3, count: int = 1000
) -> NamedImages:
    """Images of a labelled dataset builder (``regenlab.data.torchvision_sets``, e.g. CelebA
    from its local root) as a restoration / inpainting source, held in memory: test = the
    first ``count`` test images, val = the last ``count`` of train, train = the first
    ``count`` of train. Labels are dropped."""
    source = dataset(split="test" if split == "test" else "train", channels=channels)
    n = min(count, len(source) // (1 if split == "test" else 2))
    start = len(source) - n if split == "val" else 0
    indices = range(start, start + n)
    return NamedImages([source[i][0] for i in indices], [f"{split}{i}" for i in indices])


def read_image(path: str | Path, channels: int, gray: str = "luma") -> Tensor:
    """Any image file (palette, RGBA, 16-bit, float TIFF...) -> (channels, H, W) in [0, 1];
    ``gray``: see ``to_tensor``."""
    return to_tensor(checked_range(read_array(path), path), channels, gray)


def image_size(path: str | Path) -> tuple[int, int]:
    """(H, W) of an image file as ``read_array`` turns it, from its header (no decoding);
    a file Pillow cannot open (a float TIFF, a broken file) is read in full."""
    try:
        with Image.open(path) as im:
            (w, h), orientation = im.size, im.getexif().get(ExifTags.Base.Orientation, 1)
    except (OSError, UnidentifiedImageError, SyntaxError, Image.DecompressionBombError):
        return tuple(read_array(path).shape[:2])
    return (w, h) if orientation in (5, 6, 7, 8) else (h, w)


def read_array(path: str | Path) -> np.ndarray:
    """The pixels of an image file as (H, W, C) in the file's own dtype (uint8, uint16,
    float...), turned upright by its EXIF orientation, as viewers show it.

    Pillow reads most files; what it would truncate goes to a reader that keeps it:
    16-bit colour PNGs to torchvision, 16-bit colour, float and 32-bit TIFFs to tifffile.
    """
    try:
        deep = deep_tiff(path) if Path(path).suffix.lower() in TIFF_SUFFIXES else None
        if deep is not None:
            array, orientation = deep
        else:
            with Image.open(path) as im:
                orientation = im.getexif().get(ExifTags.Base.Orientation, 1)
                array = pil_array(im, path)
    except Image.DecompressionBombError as exc:
        raise UserError(
            f"refused {path}: {exc} (a corrupt or hostile file? split a large image you trust "
            "into smaller files)"
        ) from None
    except (OSError, UnidentifiedImageError, SyntaxError, tifffile.TiffFileError) as exc:
        raise UserError(f"cannot read image {path}: {exc}") from None
    array = array if array.ndim == 3 else array[..., None]
    return np.ascontiguousarray(ORIENTATIONS.get(orientation, lambda a: a)(array))


# EXIF orientation -> the turn that makes the (H, W, C) pixels upright (ImageOps.exif_transpose)
ORIENTATIONS: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def pil_array(im: Image.Image, path: str | Path) -> np.ndarray:
    """Pillow's pixels; modes that hold indices or other colour spaces become RGB(A) or L."""
    if im.format == "PNG" and im.mode in ("RGB", "RGBA", "LA"):  # maybe 16-bit: Pillow cuts it
        with warnings.catch_warnings():  # torchvision 0.29 points to torchcodec, not installed
            warnings.simplefilter("ignore", DeprecationWarning)
            pixels = decode_image(read_file(str(path)), ImageReadMode.UNCHANGED)
        return pixels.permute(1, 2, 0).numpy()
    if im.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV"):
        im = im.convert("RGBA" if "transparency" in im.info or im.mode == "PA" else "RGB")
    elif im.mode == "1":
        im = im.convert("L")
    return np.array(im)


def deep_tiff(path: str | Path) -> tuple[np.ndarray, int] | None:
    """(pixels, orientation) of a TIFF that Pillow would truncate or cannot read (16-bit
    colour, float, 32-bit integer); None for the rest (8-bit, 16-bit gray, palette...),
    which Pillow reads with every compression."""
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        plain = page.dtype == np.uint8 or (page.dtype == np.uint16 and page.samplesperpixel == 1)
        if plain or page.photometric not in (PHOTOMETRIC.MINISBLACK, PHOTOMETRIC.RGB):
            return None
        pixels = page.imagelength * page.imagewidth
        if pixels > 2 * Image.MAX_IMAGE_PIXELS:
            raise Image.DecompressionBombError(
                f"Image size ({pixels} pixels) exceeds limit of {2 * Image.MAX_IMAGE_PIXELS} pixels"
            )
        try:
            array = page.asarray()
        except ValueError as exc:  # a compression only the imagecodecs package decodes
            raise OSError(exc) from None
        if page.planarconfig == PLANARCONFIG.SEPARATE and array.ndim == 3:
            array = np.moveaxis(array, 0, -1)
        return array, page.tags.valueof("Orientation", 1)


def checked_range(array: np.ndarray, path: str | Path) -> np.ndarray:
    """``array`` if its values have a known [0, 1] scale: 8/16-bit integers, or floats
    within [0, 1]. Others (32-bit integers, floats outside [0, 1]) would come out nearly
    black or clipped, so they are refused with what to do."""
    if np.issubdtype(array.dtype, np.floating):
        lo, hi = float(np.min(array)), float(np.max(array))
        if not (lo >= 0 and hi <= 1):
            raise UserError(
                f"{path} holds floats in [{lo:.4g}, {hi:.4g}]; float images are read in [0, 1]: "
                "rescale it to [0, 1] (or save it as 16-bit)"
            )
    elif array.dtype not in (np.uint8, np.uint16, np.bool_):
        raise UserError(
            f"{path} holds {array.dtype} pixels, which have no fixed range; save it as 8- or "
            "16-bit, or as float in [0, 1]"
        )
    return array


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder``, recursively, in a stable (sorted) order."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def split_folder(root: str | Path, split: str) -> Path:
    """``root/split``, checked, with a message that says which layout is expected."""
    root = Path(root).expanduser()
    folder = root / split
    if not root.is_dir():
        raise UserError(
            f"image folder {root} does not exist; expected {root}/train, {root}/val and "
            f"{root}/test holding images ({', '.join(IMAGE_SUFFIXES)})"
        )
    if not folder.is_dir() or not list_images(folder):
        raise UserError(
            f"no images in {folder}; put the {split} images (any of {', '.join(IMAGE_SUFFIXES)}, "
            "searched recursively) there"
        )
    return folder


def header_pixels(path: Path) -> int:
    """H * W of an image file from its header; 0 for a broken file (reported when read)."""
    try:
        h, w = image_size(path)
    except UserError:
        return 0
    return h * w


CACHES = ("auto", "ram", "none")
RAM_BUDGET = 2 * 1024**3  # bytes of float32 pixels that cache=auto keeps in RAM


def train_cache(cache: str, split: str) -> str:
    """``data.images.cache`` for ``split``, checked: val and test, small and fixed, are held
    in RAM whatever it says."""
    if cache not in CACHES:
        raise ConfigError(f"data.images.cache must be one of {', '.join(CACHES)}; got {cache!r}")
    return cache if split == "train" else "ram"


def resolve_cache(cache: str, files: Sequence[Path], channels: int) -> str:
    """``auto`` -> ``ram`` when ``files`` decoded as floats fit ``RAM_BUDGET``, else ``none``."""
    if cache != "auto":
        return cache
    pixels = sum(map(header_pixels, files))
    return "ram" if pixels * channels * 4 <= RAM_BUDGET else "none"


def read_folder(
    folder: Path,
    channels: int,
    skip_bad: bool = False,
    files: Sequence[Path] | None = None,
    gray: str = "luma",
    cache: str = "ram",
) -> NamedImages:
    """``files`` (default: every image under ``folder``) named relative to ``folder``.

    ``cache``: ``ram`` decodes every image now; ``none`` keeps the paths and their sizes
    (read from the headers) and decodes per item (``LazyImages``); ``auto`` is ``ram`` when
    the decoded floats fit ``RAM_BUDGET``, else ``none``.

    An unreadable file stops the run with its name, unless ``skip_bad``: then it is left out
    with one warning that counts them (with ``none``, only files whose header is unreadable
    are found now; a file broken after its header stops the run when its turn comes).
    """
    files = list_images(folder) if files is None else list(files)
    cache = resolve_cache(cache, files, channels)
    read = image_size if cache == "none" else partial(read_image, channels=channels, gray=gray)
    images, names, bad, paths = [], [], [], []
    for path in files:
        try:
            images.append(read(path))
        except ConfigError:
            raise
        except UserError as exc:
            if not skip_bad:
                raise UserError(
                    f"{exc}; set data.images.skip_bad=true to skip such files"
                ) from None
            bad.append(path)
            continue
        names.append(str(path.relative_to(folder)))
        paths.append(path)
    if bad:
        log.warning("skipped %d unreadable image(s) in %s, e.g. %s", len(bad), folder, bad[0])
    if not images:
        raise UserError(f"no readable images in {folder}")
    if cache == "none":
        return LazyImages(paths, names, images, partial(read_image, channels=channels, gray=gray))
    return NamedImages(images, names)


def image_set(folder: str | Path, channels: int = 1, gray: str = "luma") -> NamedImages:
    """Every image under ``folder`` (a named test set such as Set12: no split subfolders)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir() or not list_images(folder):
        raise UserError(
            f"no images in {folder}; a test set is a folder of images "
            f"({', '.join(IMAGE_SUFFIXES)}, searched recursively)"
        )
    return read_folder(folder, channels, gray=gray)


def carve_val(files: list[Path], val_count: int | None, val_fraction: float, seed: int) -> set:
    """The validation files of a folder without splits: ``val_count`` of them (default
    ``val_fraction`` of the folder, at least 1), drawn with ``seed``, so the split is the same
    in every run with the same files and settings (and never overlaps training)."""
    count = round(val_fraction * len(files)) if val_count is None else val_count
    count = max(count, 1) if val_count is None else count
    if not 1 <= count < len(files):
        raise ConfigError(
            f"data.images: {count} validation images of the {len(files)} in the folder leave "
            "no training or no validation images; set data.images.val_count to 1.."
            f"{len(files) - 1}"
        )
    order = np.random.default_rng(seed).permutation(len(files))
    return {files[i] for i in order[:count]}


def folder_images(
    root: str | Path,
    split: str,
    channels: int = 1,
    skip_bad: bool = False,
    val_count: int | None = None,
    val_fraction: float = 0.05,
    split_seed: int = 0,
    gray: str = "luma",
    cache: str = "auto",
) -> NamedImages:
    """Images of ``root/<split>/`` (e.g. BSD400 in train/, Set12 in test/), names relative.

    A ``root`` without a train/ subfolder is a plain folder of training images (Train400):
    validation is carved out of it (``carve_val``) and the test images come from named test
    sets (``test_sets``). Unreadable files and ``cache``: see ``read_folder`` (it applies to
    the training images; val and test, small and fixed, are held in RAM); ``gray``:
    ``to_tensor``.
    """
    root = Path(root).expanduser()
    cache = train_cache(cache, split)
    if not root.is_dir() or any((root / s).is_dir() for s in ("train", "val", "test")):
        return read_folder(split_folder(root, split), channels, skip_bad, gray=gray, cache=cache)
    if split == "test":
        raise UserError(
            f"{root} has no train/val/test subfolders, so it is read as training images only "
            "(validation carved out of it); give the test images as named sets, e.g. "
            "+test_sets.set12=<folder>"
        )
    files = list_images(root)
    if not files:
        raise UserError(f"no images in {root} (any of {', '.join(IMAGE_SUFFIXES)}, recursively)")
    val = carve_val(files, val_count, val_fraction, split_seed)
    if split == "val":
        log.info("validation: %d of the %d images of %s (split_seed=%d)", len(val), len(files),
                 root, split_seed)  # fmt: skip
    chosen = [f for f in files if (f in val) == (split == "val")]
    return read_folder(root, channels, skip_bad, chosen, gray, cache)


class ImagePairs(NamedImages):
    """Real (degraded, clean) pairs; item i is ``({"degraded": (C, h, w), "clean": (C, h *
    scale, w * scale)}, name)``: the clean image cropped at the top left to ``scale`` times
    the degraded one, as SR sets make their low-resolution images. Each side is held in
    RAM or decoded per item, as ``read_folder`` read it."""

    def __init__(self, degraded: NamedImages, clean: NamedImages, names: list[str], scale: int):
        self.degraded, self.clean, self.names, self.scale = degraded, clean, names, scale

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i: int) -> tuple[dict[str, Tensor], str]:
        (degraded, _), (clean, _) = self.degraded[i], self.clean[i]
        h, w, r = *degraded.shape[-2:], self.scale
        return {"degraded": degraded, "clean": clean[..., : h * r, : w * r]}, self.names[i]

    def sizes(self) -> list[tuple[int, int]]:
        """(H, W) of each clean image as paired."""
        return [(h * self.scale, w * self.scale) for h, w in self.degraded.sizes()]


def pair_files(degraded: Path, clean: Path, scale: int) -> list[tuple[str, Path, Path]]:
    """(name, degraded file, clean file) of each pair, by name: a file's path under its
    folder without the extension (hazy.jpg pairs with hazy.png); a degraded name may end in
    ``x<scale>`` as SR sets name their low-resolution images (DIV2K's X4/0001x4.png pairs
    with 0001.png). Every file needs exactly one partner."""
    clean_files = {str(p.relative_to(clean).with_suffix("")): p for p in list_images(clean)}
    pairs: dict[str, tuple[Path, Path]] = {}
    lonely = []
    for path in list_images(degraded):
        stem = str(path.relative_to(degraded).with_suffix(""))
        name = stem if stem in clean_files or scale == 1 else stem.removesuffix(f"x{scale}")
        if name not in clean_files:
            lonely.append(path)
        elif name in pairs:
            raise UserError(
                f"{pairs[name][0]} and {path} are both the degraded image of {clean_files[name]}; "
                "keep one of them"
            )
        else:
            pairs[name] = (path, clean_files[name])
    lonely += sorted(set(clean_files.values()) - {c for _, c in pairs.values()})
    if lonely:
        named = f"<name>{'[x' + str(scale) + ']' if scale > 1 else ''}.<ext> in {degraded}"
        factor = (
            re.search(r"x(\d+)$", lonely[0].stem) if lonely[0].is_relative_to(degraded) else None
        )
        hint = f" (x{factor[1]} names: degradation.scale={factor[1]}?)" if factor else ""
        raise UserError(
            f"{len(lonely)} image(s) without a partner, e.g. {', '.join(map(str, lonely[:3]))}; "
            f"a pair is <name>.<ext> in {clean} and {named}{hint}"
        )
    return [(name, *pairs[name]) for name in sorted(pairs)]


def check_pair_sizes(pairs: ImagePairs, files: list[tuple[str, Path, Path]]) -> None:
    """Each degraded image is its clean image's size divided by ``scale`` (rounded down)."""
    r = pairs.scale
    for (_, d, c), (h, w), (ch, cw) in zip(files, pairs.degraded.sizes(), pairs.clean.sizes()):
        if (h, w) != (ch // r, cw // r):
            rule = (
                f"with degradation.scale={r} it must be {ch // r}x{cw // r} (the clean image's "
                f"size // {r})" if r > 1 else "a pair must be the same size (low/high-resolution "
                "pairs: degradation.scale=<factor>)"
            )  # fmt: skip
            raise UserError(f"pair {d} ({h}x{w}) and {c} ({ch}x{cw}): {rule}")


def paired_images(
    root: str | Path,
    split: str,
    channels: int = 1,
    degraded: str = "degraded",
    clean: str = "clean",
    scale: int = 1,
    gray: str = "luma",
    cache: str = "auto",
    train: Sequence[str] | None = None,
    val: Sequence[str] | None = None,
    test: Sequence[str] | None = None,
) -> ImagePairs:
    """Real (degraded, clean) pairs of ``split`` from ``root/<split>/<degraded>/`` and
    ``root/<split>/<clean>/``, or from the two folders ``train``, ``val`` or ``test`` names
    for that split (``[degraded dir, clean dir]``, relative to ``root``): official SR sets
    such as DIV2K's ``[DIV2K_train_LR_bicubic/X4, DIV2K_train_HR]``. Files pair by name
    (``pair_files``); ``scale`` is clean size / degraded size (``check_pair_sizes``);
    ``cache`` and ``gray``: see ``folder_images``.
    """
    check_ints("data.images", scale=(scale, 1))
    cache = train_cache(cache, split)
    dirs = {"train": train, "val": val, "test": test}.get(split)
    if dirs is None:
        if not (Path(root).expanduser() / split).is_dir():
            raise UserError(
                f"no {split} pairs: {root}/{split}/ does not exist; put them in {root}/{split}/"
                f"{degraded}/ and {clean}/, or give data.images.{split}=[degraded dir, clean "
                f"dir] (relative to {root})"
            )
        folder = split_folder(root, split)
        sides = [split_folder(folder, side) for side in (degraded, clean)]
    else:
        if isinstance(dirs, str) or len(dirs) != 2:
            raise ConfigError(
                f"data.images.{split} must be [degraded dir, clean dir]; got {dirs!r}"
            )
        sides = [Path(root).expanduser() / side for side in map(str, dirs)]
        if empty := [side for side in sides if not side.is_dir() or not list_images(side)]:
            raise UserError(f"no images in {empty[0]} (data.images.{split}={list(dirs)})")
    files = pair_files(*sides, scale)
    cache = resolve_cache(cache, [p for _, d, c in files for p in (d, c)], channels)
    degraded_images, clean_images = (
        read_folder(side, channels, files=[f[i] for f in files], gray=gray, cache=cache)
        for i, side in ((1, sides[0]), (2, sides[1]))
    )
    pairs = ImagePairs(degraded_images, clean_images, [name for name, _, _ in files], scale)
    check_pair_sizes(pairs, files)
    return pairs


@dataclass
class SplitPair:
    """``degradation=paired``: the degraded images are on disk (``data=paired``, whose items
    hold both halves), so nothing is computed here. ``scale`` is the clean / degraded size
    of the pairs: 1, or an SR set's factor, which ``model=unet_sr`` upsamples by."""

    scale: int = 1
