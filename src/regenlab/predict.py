"""``regenlab-predict``: restore your own images with a finished restoration run.

    regenlab-predict run_dir=<run> input=photo.png output=restored/
    regenlab-predict run_dir=<run> input=scans/ output=restored/ tile=256 tile_overlap=16
    regenlab-predict run_dir=<run> input=scans/ output=restored/ device=cuda overwrite=true
    regenlab-predict run_dir=<run> input=scans/ output=restored/ skip_bad=true

Uses the run's saved config and best checkpoint; writes each image under the same name
(and relative path) into ``output``, upright (EXIF orientation applied), with the same
bit depth (8/16-bit, float TIFF) and channels, alpha passed through unchanged; a gray
model restores the luminance of a colour image and keeps its colour. Tiles large images
with overlap (``tile=null`` by default: whole images). Never overwrites an input, nor an
existing output unless ``overwrite=true``. Files that fail are listed at the end and the
exit status is 1 (0 with ``skip_bad=true``); a mistake in the command exits 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

from regenlab.data.images import checked_range, list_images, read_array, write_image
from regenlab.errors import UserError
from regenlab.eval import load_run
from regenlab.inference import check_tiling, tiled
from regenlab.models.restoration import RestorationModule
from regenlab.utils.console import (
    console,
    err_console,
    flag,
    parse_cli,
    progress,
    report_user_errors,
)

USAGE = __doc__
Restore = Callable[[Tensor], Tensor]  # (C, H, W) -> (C, H, W), both in [0, 1]


def inputs_and_outputs(source: str, output: str, overwrite: bool) -> list[tuple[Path, Path]]:
    """(input, output) paths; an output that would replace an input is refused, and so is
    one that exists unless ``overwrite``."""
    for key, value in (("input", source), ("output", output)):
        if not value.strip():
            raise UserError(f"{key}= is empty; give a file or a folder (e.g. {key}=./{key})")
    source, output = Path(source).expanduser(), Path(output).expanduser()
    if not source.exists():
        raise UserError(f"input={source} does not exist")
    files = [source] if source.is_file() else list_images(source)
    if not files:
        raise UserError(f"no images in {source}")
    root = source.parent if source.is_file() else source
    pairs = [(f, output / f.relative_to(root)) for f in files]
    clashes = [f for f, o in pairs if o.resolve() == f.resolve()]
    if clashes:
        raise UserError(
            f"output={output} would overwrite the inputs (e.g. {clashes[0]}); choose another folder"
        )
    existing = [o for _, o in pairs if o.exists()]
    if existing and not overwrite:
        raise UserError(
            f"{len(existing)} output file(s) already exist (e.g. {existing[0]}); pass "
            "overwrite=true to replace them, or choose another output folder"
        )
    return pairs


def restore_pixels(restore: Restore, x: Tensor, channels: int) -> Tensor:
    """(C, H, W) colour in [0, 1] -> restored, same channels, by a model of ``channels``.
    A gray model restores the luminance of an RGB image and adds the change to each
    channel, which keeps the chroma (Cb, Cr) exactly; an RGB model sees a gray image as RGB
    and gives back the luminance of its result. A super-resolution model's output is
    larger: the colour is upscaled to it (bicubic) before the change is added."""
    if channels == x.shape[0]:
        return restore(x)
    if channels == 1:
        luma = TF.rgb_to_grayscale(x)
        restored = restore(luma)
        return resized(x, restored) + restored - resized(luma, restored)
    return TF.rgb_to_grayscale(restore(x.expand(3, -1, -1)))


def resized(x: Tensor, like: Tensor) -> Tensor:
    """``x`` at the size of ``like`` (bicubic): colour and alpha under a super-resolution."""
    size = list(like.shape[-2:])
    return x if list(x.shape[-2:]) == size else TF.resize(x, size, TF.InterpolationMode.BICUBIC)


def restore_file(
    restore: Restore, channels: int, source: Path, target: Path, device: str, tile: int | None
) -> None:
    """Restore the colour channels of one file; alpha (upscaled with a super-resolution
    model), size and dtype are kept."""
    array = checked_range(read_array(source), source)
    pixels = TF.to_dtype(TF.to_image(array), torch.float32, scale=True).to(device)
    colour = 3 if pixels.shape[0] >= 3 else 1
    try:
        restored = restore_pixels(restore, pixels[:colour], channels)
    except (torch.OutOfMemoryError, RuntimeError) as exc:
        if not isinstance(exc, torch.OutOfMemoryError) and "not enough memory" not in str(exc):
            raise
        smaller = f"a smaller tile= than {tile}" if tile else "tile=512"
        raise UserError(
            f"not enough memory for {source} ({array.shape[1]}x{array.shape[0]}); pass "
            f"{smaller} to restore it in pieces"
        ) from None
    alpha = resized(pixels[colour:], restored)
    out = torch.cat([restored, alpha]).clamp(0, 1).permute(1, 2, 0).cpu().numpy()
    if not np.issubdtype(array.dtype, np.floating):
        out = (out * np.iinfo(array.dtype).max).round()
    try:
        write_image(out.astype(array.dtype), target)
    except OSError as exc:  # a full disk, a file where a folder should be...
        raise UserError(f"cannot write {target}: {exc.strerror or exc}") from None


def pick_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device).type
    except RuntimeError:
        raise UserError(f"device={device} is not a device; use auto, cpu, cuda or cuda:N") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device={device} but no CUDA GPU is available here; use device=cpu")
    return device


def restore_images(
    run_dir: str,
    input: str,
    output: str,
    ckpt_path: str | None = None,
    tile: int | None = None,
    tile_overlap: int = 16,
    device: str = "auto",
    allow_pickle: bool = False,
    overwrite: bool = False,
    overrides: list[str] = (),
) -> tuple[list[Path], list[str]]:
    """Restore ``input`` (a file or a folder, recursively) into ``output``; returns the
    files written and one line for each file that failed (the others are still written)."""
    check_tiling(tile, tile_overlap)
    device = pick_device(device)
    pairs = inputs_and_outputs(input, output, overwrite)
    cfg, model, _ = load_run(run_dir, ckpt_path, overrides, allow_pickle)
    if not isinstance(model, RestorationModule):
        raise UserError(
            f"regenlab-predict needs a restoration run; {run_dir} trained {cfg.model._target_}"
        )
    try:
        Path(output).expanduser().mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"output={output}: cannot create it ({exc.strerror or exc})") from None
    model = model.eval().to(device)

    written, failed = [], []
    with progress() as bar:
        files = bar.add_task("restoring", total=len(pairs))
        tiles = bar.add_task("  tiles", visible=False)  # shown while an image is tiled

        def on_tile(done: int, total: int) -> None:
            bar.update(tiles, completed=done, total=total, visible=True)

        def restore(x: Tensor) -> Tensor:
            return tiled(model.restore, x[None], tile, tile_overlap, on_tile=on_tile)[0]

        for source, target in pairs:
            try:
                restore_file(restore, int(cfg.data.channels), source, target, device, tile)
            except UserError as exc:
                failed.append(str(exc))
            else:
                written.append(target)
            bar.advance(files)
            bar.reset(tiles, visible=False)
    return written, failed


@report_user_errors
def main(argv: list[str] | None = None) -> None:
    options = {"run_dir": str, "input": str, "output": str, "ckpt_path": str, "tile": int,
               "tile_overlap": int, "device": str, "allow_pickle": flag, "overwrite": flag,
               "skip_bad": flag}  # fmt: skip
    args = parse_cli(sys.argv[1:] if argv is None else argv, USAGE, options)
    missing = [k for k in ("run_dir", "input", "output") if k not in args]
    if missing:
        raise UserError(
            f"missing {', '.join(f'{k}=...' for k in missing)}; see regenlab-predict --help"
        )
    skip_bad = args.pop("skip_bad", False)
    written, failed = restore_images(**args)
    console.print(f"wrote {len(written)} image(s) to {args['output']}")
    for line in failed:
        err_console.print(f"failed: {line}", highlight=False, soft_wrap=True)
    if failed:
        err_console.print(
            f"{len(failed)} image(s) not restored"
            + ("" if skip_bad else "; skip_bad=true exits 0 all the same"),
            highlight=False,
        )
        if not skip_bad:
            sys.exit(1)


if __name__ == "__main__":
    main()
