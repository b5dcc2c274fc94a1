"""The console scripts as a user runs them: help, and one clear line for each mistake."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli

BAD_TRAIN = [
    (["model=foo"], "Could not find 'model/foo'", ["dncnn", "unet"]),
    (["degradation.sigma=-5"], "error: degradation: sigma must be >= 0, got -5", []),
    (["data.crop_size=400"], "error: data.crop_size=400 is larger than the smallest", []),
]


@pytest.mark.slow
@pytest.mark.parametrize(("args", "message", "also"), BAD_TRAIN)
def test_bad_train_input_gives_one_clear_line(tmp_path, args, message, also):
    result = run_cli("regenlab-train", *args, "trainer.max_steps=1", cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
    assert all(choice in result.stderr for choice in also)
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.slow
def test_eval_on_a_dir_that_is_not_a_run(tmp_path):
    result = run_cli("regenlab-eval", f"run_dir={tmp_path}", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: {tmp_path} is not a regenlab run")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.slow
def test_train_help_lists_groups_and_examples(tmp_path):
    result = run_cli("regenlab-train", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for text in ("Examples:", "dncnn, unet", "degradation: gaussian", "regenlab-eval"):
        assert text in result.stdout


def test_eval_help(tmp_path):
    result = run_cli("regenlab-eval", "--help", cwd=tmp_path)
    assert result.returncode == 0 and "run_dir=" in result.stdout
