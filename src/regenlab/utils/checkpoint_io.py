"""Checkpoints written so that a crash never costs the last good one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.cloud_io import _is_local_file_protocol
from lightning.pytorch.plugins.io import TorchCheckpointIO

from regenlab.utils.run import atomic_open


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO, writing local files through ``atomic_open``.

    Lightning's own writes into a temp file in /tmp and moves it over the target: across
    filesystems that move is a copy in place, so a kill mid-save left ``last.ckpt`` torn
    (0 bytes) and the temp file behind, and a full disk left it half written. Every save
    (ModelCheckpoint's best and last, the interrupt checkpoint, ``trainer.save_checkpoint``)
    goes through the trainer's checkpoint IO, set in conf/trainer/default.yaml.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None
    ) -> None:
        if storage_options is not None or not _is_local_file_protocol(path):
            return super().save_checkpoint(checkpoint, path, storage_options)
        with atomic_open(path, "wb") as f:
            torch.save(checkpoint, f)
