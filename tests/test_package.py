"""The installed package (a wheel, not the editable checkout) carries and finds conf/."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_install_finds_its_configs(tmp_path):
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path, ROOT], check=True
    )
    wheel = next(tmp_path.glob("regenlab-*.whl"))
    assert "regenlab/conf/train.yaml" in zipfile.ZipFile(wheel).namelist()
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", site, wheel], check=True)
    probe = "from regenlab.utils.config import CONF_DIR; print(CONF_DIR)"
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    conf = Path(out.stdout.strip())
    assert conf == site / "regenlab" / "conf" and (conf / "model" / "unet.yaml").is_file()
