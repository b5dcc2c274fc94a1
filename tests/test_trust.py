"""A run dir's config.yaml is untrusted input: only known targets are ever built from it."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from regenlab.errors import UserError
from regenlab.utils.config import conf_dir
from regenlab.utils.trust import check_trusted, is_trusted
from tests.conftest import run_cli


def test_every_target_in_conf_is_trusted():
    """Read with a regex, not the walker under test, so a target it misses shows here."""
    found = {
        target
        for path in conf_dir().rglob("*.yaml")
        for target in re.findall(r"_target_:\s*([\w.]+)", path.read_text())
    }
    assert len(found) > 50 and "regenlab.nets.unet.UNet" in found
    assert [t for t in sorted(found) if not is_trusted(t)] == []


@pytest.mark.parametrize(
    "target",
    ["torch.load", "os.system", "builtins.eval", "subprocess.run", "functools.partial",
     "regenlab.eval.load_weights", "regenlab.utils.run.atomic_write",  # regenlab, not a config's
     "regenlab.models.restoration.RestorationModule.load_from_checkpoint",  # a method
     "regenlab.models.restoration.torch", "${oc.env:TARGET}", "torch.nn._reduction"],
)  # fmt: skip
def test_targets_that_could_run_foreign_code_are_refused(target):
    assert not is_trusted(target)


def test_what_a_user_may_put_in_a_config_is_trusted():
    for target in ("torch.nn.SmoothL1Loss", "torch.optim.lr_scheduler.StepLR",
                   "torchmetrics.image.PeakSignalNoiseRatio",
                   "lightning.pytorch.callbacks.EarlyStopping"):  # fmt: skip
        assert is_trusted(target), target


def test_the_refusal_names_the_key_in_lists_and_args(monkeypatch):
    cfg = OmegaConf.create(
        {"model": {"_target_": "regenlab.nets.unet.UNet", "_args_": [{"_target_": "os.system"}]}}
    )
    with pytest.raises(UserError, match=r"refusing model\._args_\[0\]\._target_=os\.system"):
        check_trusted(cfg, "run/config.yaml")
    monkeypatch.setenv("REGENLAB_TRUSTED_TARGETS", "os.system")  # the user vouches for it
    check_trusted(cfg, "run/config.yaml")


class Payload:
    """A pickle that creates ``marker`` when loaded: what a crafted checkpoint runs."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def crafted_run(run: Path, marker: Path, where: str, target: str) -> None:
    run.mkdir()
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "last.ckpt").write_bytes(pickle.dumps(Payload(marker)))
    payloads = {
        "torch.load": {"_target_": target, "f": str(run / "checkpoints" / "last.ckpt"),
                       "weights_only": False},
        "os.system": {"_target_": target, "command": f"touch {marker}"},
        "builtins.eval": {"_target_": target, "_args_": [f"open('{marker}', 'w')"]},
        "subprocess.run": {"_target_": target, "args": ["touch", str(marker)]},
    }  # fmt: skip
    config = {
        "seed": 1,
        "model": {"_target_": "regenlab.nets.unet.UNet", "width": 4},
        "trainer": {"_target_": "lightning.pytorch.trainer.Trainer", "plugins": []},
        "callbacks": {},
    }
    if where == "model":
        config["model"] = payloads[target]
    elif where == "args":
        config["model"]["_args_"] = [payloads[target]]
    elif where == "plugins":
        config["trainer"]["plugins"] = [payloads[target]]
    else:
        config["callbacks"]["evil"] = payloads[target]
    (run / "config.yaml").write_text(yaml.safe_dump(config))


@pytest.mark.parametrize(
    ("command", "where", "target"),
    [pytest.param("regenlab-eval", "model", "torch.load", marks=pytest.mark.slow),
     ("regenlab-train", "callbacks", "os.system")],
)  # fmt: skip
def test_a_crafted_run_dir_runs_no_code(tmp_path, command, where, target):
    run, marker = tmp_path / "run", tmp_path / "marker"
    crafted_run(run, marker, where, target)
    arg = f"run_dir={run}" if command == "regenlab-eval" else f"resume={run}"
    result = run_cli(command, arg, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert not marker.exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"_target_={target}" in lines[0] and f"{run}/config.yaml" in lines[0]


@pytest.mark.parametrize(("where", "target"), [("args", "builtins.eval"),
                                                ("plugins", "subprocess.run")])  # fmt: skip
def test_eval_and_predict_build_nothing_from_a_crafted_run_dir(tmp_path, where, target):
    from regenlab.eval import load_run  # what regenlab-eval and regenlab-predict call

    run, marker = tmp_path / "run", tmp_path / "marker"
    crafted_run(run, marker, where, target)
    with pytest.raises(UserError, match=rf"_target_={target}"):
        load_run(run)
    assert not marker.exists()


@pytest.mark.parametrize("text", ["model: [unclosed\n", "- a list\n", "just text"])
def test_a_damaged_config_yaml_is_one_line(tmp_path, text):
    from regenlab.utils.run import load_run_config

    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(UserError, match=r"config.yaml.*is the run dir damaged\?"):
        load_run_config(tmp_path)
