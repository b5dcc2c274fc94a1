"""regenlab-predict: the user's own images, same names, depth, alpha and orientation,
inputs and earlier outputs never touched, every failure listed."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import torch
from hydra.core.global_hydra import GlobalHydra
from PIL import ExifTags, Image, ImageOps
from rich.progress import Progress

from regenlab.data.images import read_array, write_png16
from regenlab.errors import UserError
from regenlab.models.restoration import RestorationModule
from regenlab.predict import main, restore_file, restore_images
from regenlab.train import train
from tests.conftest import QUICK, compose_config, run_cli


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny gray denoising run, trained once for the module (gray: it also restores
    colour images, by their luminance)."""
    root = tmp_path_factory.mktemp("run")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REGENLAB_ROOT", str(root))
        train(compose_config("train", root, [*QUICK, "debug=limit", "trainer.max_steps=2",
              "trainer.limit_train_batches=2", "model.net.width=4", "data.crop_size=16",
              "data.eval_crop=16"]))  # fmt: skip
    GlobalHydra.instance().clear()
    return root


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 50), dtype=np.uint8)).save(folder / "a.png")
    Image.fromarray(rng.integers(0, 65535, (30, 20), dtype=np.uint16)).save(folder / "sub/b.png")
    return folder


def restore(run_dir, source, out, **kwargs):
    """restore_images that must not fail on any file."""
    written, failed = restore_images(str(run_dir), str(source), str(out), **kwargs)
    assert not failed
    return written


def test_restores_a_folder_keeping_names_sizes_and_bit_depth(run_dir, photos, tmp_path):
    out = tmp_path / "restored"
    written = restore(run_dir, photos, out, tile=16, tile_overlap=4)
    assert sorted(p.relative_to(out).as_posix() for p in written) == ["a.png", "sub/b.png"]
    assert (
        read_array(out / "a.png").shape == (40, 50, 1)
        and read_array(out / "a.png").dtype == np.uint8
    )
    b = read_array(out / "sub/b.png")
    assert b.shape == (30, 20, 1) and b.dtype == np.uint16


def test_keeps_16bit_colour_alpha_and_float(run_dir, tmp_path):
    """Before: 16-bit RGB came out 8-bit, alpha was dropped, float TIFFs were unreadable."""
    rng = np.random.default_rng(1)
    deep = rng.integers(20000, 45000, (12, 10, 3)).astype(np.uint16)  # not clipped
    rgba = rng.integers(0, 255, (12, 10, 4)).astype(np.uint8)
    gray_alpha16 = rng.integers(0, 65535, (12, 10, 2)).astype(np.uint16)
    (tmp_path / "in").mkdir()
    write_png16(deep, tmp_path / "in/deep.png")
    tifffile.imwrite(tmp_path / "in/deep.tif", deep, photometric="rgb")
    Image.fromarray(rgba).save(tmp_path / "in/rgba.png")
    write_png16(gray_alpha16, tmp_path / "in/la16.png")
    tifffile.imwrite(
        tmp_path / "in/float.tif", rng.random((12, 10, 3), np.float32), photometric="rgb"
    )
    restore(run_dir, tmp_path / "in", tmp_path / "out")
    for name, dtype, channels in [("deep.png", np.uint16, 3), ("deep.tif", np.uint16, 3),
                                  ("rgba.png", np.uint8, 4), ("la16.png", np.uint16, 2),
                                  ("float.tif", np.float32, 3)]:  # fmt: skip
        out = read_array(tmp_path / "out" / name)
        assert (out.dtype, out.shape) == (dtype, (12, 10, channels)), name
    for name in ("deep.png", "deep.tif"):  # 16-bit values, not 8-bit ones scaled up
        assert (read_array(tmp_path / "out" / name) % 257 != 0).mean() > 0.9
    assert np.array_equal(read_array(tmp_path / "out/rgba.png")[..., 3], rgba[..., 3])
    assert np.array_equal(read_array(tmp_path / "out/la16.png")[..., 1], gray_alpha16[..., 1])


def test_gray_model_restores_luminance_and_keeps_colour(run_dir, tmp_path):
    """Before: the colour was discarded (a gray file came out)."""
    rgb = np.random.default_rng(2).uniform(0.3, 0.7, (16, 16, 3)).astype(np.float32)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")
    restore(run_dir, tmp_path / "rgb.tif", tmp_path / "out")
    out = read_array(tmp_path / "out/rgb.tif")
    change = out - rgb  # the luminance change, the same in every channel: chroma kept
    assert np.abs(change).max() > 1e-3
    assert np.allclose(change[..., 0], change[..., 1], atol=1e-5)
    assert np.allclose(change[..., 0], change[..., 2], atol=1e-5)


def test_super_resolution_scales_colour_and_alpha_with_the_image(tmp_path):
    """A gray x2 model on an RGBA image: colour and alpha follow the larger output."""
    rgba = np.random.default_rng(4).integers(0, 255, (6, 5, 4)).astype(np.uint8)
    Image.fromarray(rgba).save(tmp_path / "small.png")

    def double(x):  # (C, H, W) -> (C, 2H, 2W), as a gray x2 model would
        assert x.shape[0] == 1
        return x.repeat_interleave(2, -1).repeat_interleave(2, -2)

    restore_file(double, 1, tmp_path / "small.png", tmp_path / "big.png", "cpu", None)
    assert read_array(tmp_path / "big.png").shape == (12, 10, 4)


def test_exif_orientation_is_applied_and_not_written(run_dir, tmp_path):
    """Before: the result kept the stored pixels but lost the tag: rotated against the input."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    pixels = np.random.default_rng(3).integers(0, 255, (12, 20, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "turned.jpg", exif=exif)
    restore(run_dir, tmp_path / "turned.jpg", tmp_path / "out")
    with Image.open(tmp_path / "out/turned.jpg") as out:
        assert out.size == (12, 20)  # upright: as a viewer shows the input
        assert ExifTags.Base.Orientation not in out.getexif()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_read_array_turns_images_as_pillow_does(tmp_path, orientation):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    Image.fromarray(np.arange(60, dtype=np.uint8).reshape(4, 5, 3)).save(
        tmp_path / "x.png", exif=exif
    )
    with Image.open(tmp_path / "x.png") as im:
        expected = np.array(ImageOps.exif_transpose(im))
    assert np.array_equal(read_array(tmp_path / "x.png"), expected)


def test_bad_files_are_listed_and_the_rest_restored(run_dir, tmp_path, monkeypatch):
    """Before: the first unreadable file stopped the folder; 32-bit integer and
    out-of-range float TIFFs came out nearly black or clipped, with exit 0."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)  # a 'decompression bomb' of 11x11
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "z.png"):
        Image.fromarray(np.full((6, 7), 90, np.uint8)).save(folder / name)
    (folder / "broken.png").write_bytes(b"not a png")
    tifffile.imwrite(folder / "counts.tif", np.arange(42, dtype=np.int32).reshape(6, 7))
    tifffile.imwrite(folder / "kelvin.tif", np.full((6, 7), 300.0, np.float32))
    Image.fromarray(np.zeros((11, 11), np.uint8)).save(folder / "bomb.png")
    written, failed = restore_images(str(run_dir), str(folder), str(tmp_path / "out"))
    assert sorted(p.name for p in written) == ["a.png", "z.png"]
    assert len(failed) == 4 and all("\n" not in line for line in failed)
    messages = " ".join(failed)
    assert "cannot read image" in messages and "broken.png" in messages
    assert "int32 pixels, which have no fixed range" in messages
    assert "floats in [300, 300]; float images are read in [0, 1]" in messages
    assert "decompression bomb" in messages


def test_cli_exit_status_lists_failures_and_skip_bad(run_dir, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(np.zeros((6, 7), np.uint8)).save(folder / "a.png")
    (folder / "b.png").write_bytes(b"not a png")
    args = [f"run_dir={run_dir}", f"input={folder}"]
    with pytest.raises(SystemExit) as exit_:
        main([*args, f"output={tmp_path}/out1"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "failed: cannot read image" in err and "skip_bad=true" in err
    main([*args, f"output={tmp_path}/out2", "skip_bad=true"])  # no SystemExit: status 0
    assert "failed: cannot read image" in capsys.readouterr().err
    assert (tmp_path / "out1/a.png").is_file() and (tmp_path / "out2/a.png").is_file()


def test_refuses_to_overwrite_inputs_or_outputs(run_dir, photos, tmp_path):
    before = (photos / "a.png").read_bytes()
    with pytest.raises(UserError, match="would overwrite the inputs"):
        restore_images(str(run_dir), str(photos), str(photos))
    assert (photos / "a.png").read_bytes() == before
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "sub/b.png").write_bytes(b"an earlier result")
    with pytest.raises(UserError, match=r"1 output file\(s\) already exist .*overwrite=true"):
        restore_images(str(run_dir), str(photos), str(out))
    assert (out / "sub/b.png").read_bytes() == b"an earlier result" and not (out / "a.png").exists()
    restore(run_dir, photos, out, overwrite=True)
    assert read_array(out / "sub/b.png").dtype == np.uint16


def test_unwritable_places_are_one_line(run_dir, photos, tmp_path):
    """Before: an OSError traceback (at the first image, or halfway through a folder)."""
    (tmp_path / "a_file").write_text("")
    with pytest.raises(UserError, match=r"output=.*a_file/out: cannot create it"):
        restore_images(str(run_dir), str(photos), str(tmp_path / "a_file/out"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out/sub").write_text("a file where the folder sub/ should be")
    written, failed = restore_images(str(run_dir), str(photos), str(tmp_path / "out"))
    assert [p.name for p in written] == ["a.png"]
    assert len(failed) == 1 and failed[0].startswith(f"cannot write {tmp_path}/out/sub/b.png")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"input": ""}, "input= is empty"), ({"output": " "}, "output= is empty"),
     ({"tile": 8, "tile_overlap": 8}, "tile_overlap=8 must be smaller than tile=8"),
     ({"tile": 0}, "tile=0 must be an integer >= 1"),
     ({"tile": -4}, "tile=-4 must be an integer >= 1"),
     ({"tile_overlap": -1}, "tile_overlap=-1 must be an integer >= 0"),
     ({"device": "foo"}, "device=foo is not a device"),
     ({"device": "cuda:0"}, "no CUDA GPU")],
)  # fmt: skip
def test_bad_arguments_are_one_line_before_any_work(tmp_path, photos, kwargs, message):
    """Before: empty input/output meant the current dir; the tile and device mistakes
    were tracebacks (after loading the model)."""
    if "cuda" in str(kwargs.get("device")) and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    args = {
        "run_dir": str(tmp_path / "not_a_run"),
        "input": str(photos),
        "output": str(tmp_path / "o"),
    }
    with pytest.raises(UserError, match=message):
        restore_images(**(args | kwargs))  # checked before the run is even looked at


def test_tiny_images_and_memory_errors(run_dir, tmp_path, monkeypatch):
    """Before: a 1x1 image was a traceback (reflect padding), and so was a whole image
    too big for memory, with no word about tiles."""
    Image.fromarray(np.full((1, 1), 128, np.uint8)).save(tmp_path / "dot.png")
    restore(run_dir, tmp_path / "dot.png", tmp_path / "out")
    assert read_array(tmp_path / "out/dot.png").shape == (1, 1, 1)

    def no_memory(self, x):
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: not enough memory"
        )

    monkeypatch.setattr(RestorationModule, "restore", no_memory)
    _, failed = restore_images(str(run_dir), str(tmp_path / "dot.png"), str(tmp_path / "out2"))
    assert failed == [
        f"not enough memory for {tmp_path}/dot.png (1x1); pass tile=512 to restore it in pieces"
    ]


@pytest.mark.slow
def test_cli_restores_a_single_image(run_dir, photos, tmp_path):
    result = run_cli("regenlab-predict", f"run_dir={run_dir}", f"input={photos}/a.png",
                     f"output={tmp_path}/one", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "one" / "a.png").is_file() and "wrote 1 image" in result.stdout


class RecordingProgress(Progress):
    """The shared progress display, recording what each task was told."""

    def __init__(self, **kwargs):
        super().__init__(disable=True)
        self.updates = []

    def update(self, task_id, **kwargs):
        self.updates.append((self.tasks[task_id].description.strip(), kwargs))
        super().update(task_id, **kwargs)


def test_progress_counts_files_and_the_tiles_of_each_tiled_image(run_dir, photos, tmp_path,
                                                                 monkeypatch):  # fmt: skip
    bars = []
    monkeypatch.setattr("regenlab.predict.progress", lambda: bars.append(RecordingProgress())
                        or bars[-1])  # fmt: skip
    Image.new("L", (16, 16)).save(photos / "small.png")  # one tile's size: not tiled
    restore(run_dir, photos, tmp_path / "out", tile=16, tile_overlap=4)
    [bar] = bars
    files, tiles = bar.tasks
    assert (files.completed, files.total) == (3, 3)
    told = [(u["completed"], u["total"]) for name, u in bar.updates if "completed" in u
            and name == "tiles" and u.get("visible")]  # fmt: skip
    # a.png (40x50): 3 x 4 tiles, sub/b.png (30x20): 3 x 2, small.png: none
    assert told == [(i, 12) for i in range(1, 13)] + [(i, 6) for i in range(1, 7)]
    assert not tiles.visible  # hidden again between images
