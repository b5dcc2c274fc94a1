"""regenlab-eval on damaged checkpoints, read-only runs and classical runs."""

from __future__ import annotations

import functools
import os

import pytest
import torch

from regenlab.errors import UserError
from regenlab.eval import read_checkpoint

DAMAGED = "is not a checkpoint, or is truncated or damaged"


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.ckpt"
    torch.save({"state_dict": {"w": torch.arange(4096.0)}}, path)
    return path


@pytest.mark.parametrize("damage", ["random", "text", "empty", "truncated", "bit_flip", "pickle"])
def test_a_file_that_is_no_checkpoint_is_not_called_pickled(good, tmp_path, damage):
    """Random bytes were diagnosed as 'pickled objects, pass allow_pickle=true': wrong, and
    advice to unpickle a file of unknown origin."""
    data = good.read_bytes()
    bad = tmp_path / "bad.ckpt"
    payloads = {
        "random": os.urandom(5000),
        "text": b"not a checkpoint\n" * 100,
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "bit_flip": data[:64] + bytes(b ^ 0xFF for b in data[64:128]) + data[128:],
        "pickle": b"\x80\x04\x95" + os.urandom(200),  # a pickle header, then garbage
    }
    bad.write_bytes(payloads[damage])
    with pytest.raises(UserError, match=DAMAGED) as info:
        read_checkpoint(bad)
    assert "allow_pickle" not in str(info.value)


def test_a_checkpoint_with_pickled_objects_asks_for_allow_pickle(good, tmp_path):
    path = tmp_path / "objects.ckpt"
    torch.save({"state_dict": {}, "extra": functools.partial(print)}, path)
    with pytest.raises(UserError, match=r"holds pickled objects.*allow_pickle=true"):
        read_checkpoint(path)
    assert "extra" in read_checkpoint(path, allow_pickle=True)
    assert read_checkpoint(good)["state_dict"]["w"].sum() == 4095 * 4096 / 2
