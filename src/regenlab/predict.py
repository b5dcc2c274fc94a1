"""``regenlab-predict``: restore your own images with a finished restoration run.

    regenlab-predict run_dir=<run> input=photo.png output=restored/
    regenlab-predict run_dir=<run> input=scans/ output=restored/ tile=256 tile_overlap=16
    regenlab-predict run_dir=<run> input=scans/ output=restored/ device=cuda

Uses the run's saved config and best checkpoint; writes each image under the same name
(and relative path) with the same bit depth into ``output``; tiles large images with
overlap (``tile=null`` by default: whole images); never overwrites an input.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from rich.progress import track

from regenlab.data.images import bit_depth, list_images, read_image, write_image
from regenlab.errors import UserError
from regenlab.eval import load_run
from regenlab.inference import tiled
from regenlab.models.restoration import RestorationModule
from regenlab.utils.console import console, flag, parse_cli, report_user_errors

USAGE = __doc__


def inputs_and_outputs(source: Path, output: Path) -> list[tuple[Path, Path]]:
    """(input, output) paths; an output that would replace an input is refused."""
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
    return pairs


def restore_images(
    run_dir: str,
    input: str,
    output: str,
    ckpt_path: str | None = None,
    tile: int | None = None,
    tile_overlap: int = 16,
    device: str = "auto",
    allow_pickle: bool = False,
    overrides: list[str] = (),
) -> list[Path]:
    """Restore ``input`` (a file or a folder, recursively) into ``output``; returns the files."""
    pairs = inputs_and_outputs(Path(input).expanduser(), Path(output).expanduser())
    cfg, model, _ = load_run(run_dir, ckpt_path, overrides, allow_pickle)
    if not isinstance(model, RestorationModule):
        raise UserError(
            f"regenlab-predict needs a restoration run; {run_dir} trained {cfg.model._target_}"
        )
    device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    model = model.eval().to(device)
    channels = int(cfg.data.channels)
    for source, target in track(pairs, description="restoring", console=console):
        x = read_image(source, channels)[None].to(device)
        write_image(tiled(model.restore, x, tile, tile_overlap)[0], target, bit_depth(source))
    return [target for _, target in pairs]


@report_user_errors
def main(argv: list[str] | None = None) -> None:
    options = {"run_dir": str, "input": str, "output": str, "ckpt_path": str, "tile": int,
               "tile_overlap": int, "device": str, "allow_pickle": flag}  # fmt: skip
    args = parse_cli(sys.argv[1:] if argv is None else argv, USAGE, options)
    missing = [k for k in ("run_dir", "input", "output") if k not in args]
    if missing:
        raise UserError(
            f"missing {', '.join(f'{k}=...' for k in missing)}; see regenlab-predict --help"
        )
    written = restore_images(**args)
    console.print(f"wrote {len(written)} image(s) to {args['output']}")


if __name__ == "__main__":
    main()
