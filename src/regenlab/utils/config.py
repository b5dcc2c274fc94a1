"""Where the configs live and how config nodes become objects."""

from __future__ import annotations

import collections.abc
import difflib
import inspect
import logging
import os
import types
import typing
from itertools import count
from pathlib import Path, PurePath
from typing import Any

from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf

from regenlab.errors import ConfigError, UserError

log = logging.getLogger(__name__)


def conf_dir() -> Path:
    """``regenlab/conf`` inside an installed wheel, else the repository's ``conf/``."""
    packaged = Path(__file__).resolve().parents[1] / "conf"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[3] / "conf"


CONF_DIR = str(conf_dir())


def compose_run_config(
    overrides: list[str], output_dir: str | Path, config_name: str = "train"
) -> DictConfig:
    """The config ``regenlab-train`` would run with, composed in-process (notebooks,
    benchmarks, tests), with Hydra's runtime fields set so ``${hydra:...}`` resolves."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    GlobalHydra.instance().clear()
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        cfg = compose(config_name, overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
        cfg.hydra.runtime.cwd = str(output_dir)
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg.hydra
    return cfg


def unique_dir(path: str) -> str:
    """``path``, else ``path-1``, ``path-2``...: the first one this process creates itself.

    ``mkdir`` is atomic, so two runs started in the same second never share an output dir.
    """
    for i in count():
        candidate = Path(path if i == 0 else f"{path}-{i}")
        try:
            candidate.mkdir(parents=True)
        except FileExistsError:
            continue
        return str(candidate)
    raise AssertionError("unreachable")


def new_or_resumed(resume: str | None, new: str) -> str:
    """The run dir: the run being resumed, else a fresh unique one (also when ``resume``
    is not a run: the entry point then says so, and no stray dir is made in its place)."""
    if resume and (Path(resume).expanduser() / "config.yaml").is_file():
        return str(Path(resume).expanduser())
    return unique_dir(new)


def if_present(value: Any, then: Any) -> Any:
    """``then`` when ``value`` is set, else None: a setting that follows another one
    (checkpoint on val/fid only when sample metrics are configured)."""
    return None if value is None else then


def on_cpu(accelerator: str) -> bool:
    """Whether ``trainer.accelerator`` means the CPU ('auto' takes a GPU when there is one)."""
    import torch

    gpu = torch.cuda.is_available() or torch.backends.mps.is_available()
    return accelerator == "cpu" or (accelerator == "auto" and not gpu)


def native_bf16(accelerator: str = "auto") -> bool:
    """Whether the device a run trains on computes bfloat16 in hardware (AVX512-BF16 or
    AMX on a CPU, Ampere or newer on CUDA). Elsewhere bf16 is emulated: on an AVX2-only
    CPU a bf16-mixed U-Net step measured 11-26x slower than float32, not faster."""
    import torch

    if on_cpu(accelerator):
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def if_native_bf16(accelerator: str, then: Any, otherwise: Any) -> Any:
    """``then`` where the run's device computes bf16 natively, else ``otherwise``: recipes
    sized in wall time pick their precision (bf16 is 1.7-2.4x faster there) and their step
    count by it. The choice lands in the saved config."""
    return then if native_bf16(accelerator) else otherwise


# cached like Hydra's own ${now:}: the run dir is resolved once per run
OmegaConf.register_new_resolver("unique_dir", unique_dir, use_cache=True, replace=True)
OmegaConf.register_new_resolver("new_or_resumed", new_or_resumed, use_cache=True, replace=True)
OmegaConf.register_new_resolver("if_present", if_present, replace=True)
OmegaConf.register_new_resolver("add", lambda *xs: sum(xs), replace=True)  # channel counts
OmegaConf.register_new_resolver("eq", lambda a, b: a == b, replace=True)
OmegaConf.register_new_resolver("if_native_bf16", if_native_bf16, replace=True)
# where the command was started (Hydra never chdirs here); usable before HydraConfig exists,
# which ${hydra:runtime.cwd} is not (a sweep dir is resolved before any job starts)
OmegaConf.register_new_resolver("cwd", os.getcwd, replace=True)


def instantiate_all(group: DictConfig | None) -> list[Any]:
    """Objects of every ``_target_`` node in a group such as ``callbacks`` or ``logger``."""
    return [instantiate(node) for node in (group or {}).values() if node and "_target_" in node]


def check_accelerator(trainer_cfg: DictConfig) -> None:
    """Fail early, in one line, when the config asks for hardware this machine lacks;
    warn when it asks for bf16 that this CPU only emulates."""
    import torch

    accelerator = str(trainer_cfg.get("accelerator", "auto"))
    precision = str(trainer_cfg.get("precision", "32"))
    if precision.startswith("bf16") and on_cpu(accelerator) and not native_bf16("cpu"):
        log.warning(
            "trainer.precision=%s on a CPU without native bf16 (AVX512-BF16 / AMX): it is "
            "emulated and runs 11-26x slower than float32; use trainer.precision=32",
            precision,
        )
    available = {
        "gpu": torch.cuda.is_available(),
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if not available.get(accelerator, True):
        raise UserError(
            f"trainer.accelerator={accelerator} but no {accelerator.upper()} is available here; "
            "run on the CPU with trainer=cpu (or trainer=ddp_cpu for multi-process DDP)"
        )


# loggers whose package is an optional extra of regenlab (pyproject's optional-dependencies)
LOGGER_EXTRAS = {
    "lightning.pytorch.loggers.MLFlowLogger": "mlflow",
    "lightning.pytorch.loggers.WandbLogger": "wandb",
}


def check_logger_packages(cfg: DictConfig) -> None:
    """A chosen logger whose package is missing fails in one line, before any work, rather
    than with Lightning's traceback once the Trainer is built."""
    import importlib.util

    for name, node in (cfg.get("logger") or {}).items():
        package = LOGGER_EXTRAS.get(str((node or {}).get("_target_")))
        if package and importlib.util.find_spec(package) is None:
            raise UserError(
                f"logger={name} needs the {package} package, not installed here: "
                f"pip install -e '.[{package}]' (or choose another logger, e.g. logger=tensorboard)"
            )


def check_benchmarks(cfg: DictConfig) -> None:
    """The paper_dncnn_* experiments read their sets from ``paths.benchmarks``; unset, they
    would look for 'None/set12'."""
    if cfg.paths.get("benchmarks") is None and "${paths.benchmarks}" in OmegaConf.to_yaml(cfg):
        raise UserError(
            "paths.benchmarks is not set: point it at the folder holding the benchmark sets "
            "(train400/, set12/, set5/, classic5/), e.g. paths.benchmarks=/data/benchmarks"
        )


def check_test_sets(cfg: DictConfig, model: Any) -> None:
    """Named test sets need a model that reports each on its own (the restoration module);
    another would meet several test loaders it cannot tell apart, after training."""
    if cfg.get("test_sets") and not hasattr(model, "test_stages"):
        raise UserError(
            f"test_sets (named test folders) work with restoration models (unet, dncnn, "
            f"classical/*), not {type(model).__name__}; leave test_sets out for this run"
        )


def check_trainer_keys(trainer_cfg: DictConfig) -> None:
    """Every key of ``trainer`` must be an argument of Lightning's Trainer. A typo added
    with ``+`` (``+trainer.max_step=5``, as Hydra's own hint for a missing key suggests)
    was a traceback from inside instantiate; this says which key was meant."""
    import inspect

    from lightning.pytorch import Trainer

    arguments = [k for k in inspect.signature(Trainer.__init__).parameters if k != "self"]
    for key in trainer_cfg:
        if key in arguments or (key.startswith("_") and key.endswith("_")):  # _target_...
            continue
        close = difflib.get_close_matches(str(key), arguments, n=1)
        hint = f"did you mean trainer.{close[0]}?" if close else "check its spelling"
        raise UserError(f"trainer.{key} is not an argument of Lightning's Trainer; {hint}")


def check_override_keys(argv: list[str], config_name: str = "train") -> None:
    """A ``key=value`` override whose key the config lacks: one line that names the key
    probably meant. Hydra's own message is five lines suggesting ``+key=value``, which turns
    a typo (``trainer.max_step=5``) into a new key that nothing reads."""
    from hydra import compose, initialize_config_dir
    from hydra._internal.utils import get_args_parser
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    if {"--version", "--help", "-h", "--hydra-help", "--info", "-i"} & set(argv):
        return
    try:
        lines = get_args_parser().parse_known_args(argv)[0].overrides
        overrides = OverridesParser.create().parse_overrides(lines)
    except (HydraException, SystemExit):
        return  # Hydra reports what it cannot parse
    groups = [o for o in overrides if o.package is not None or "/" in o.key_or_group
              or (conf_dir() / o.key_or_group).is_dir()]  # fmt: skip
    keys = [o for o in overrides if o not in groups and not o.key_or_group.startswith("hydra.")
            and not (o.is_add() or o.is_delete() or o.is_force_add())]  # fmt: skip
    if not keys or any(o.is_sweep_override() for o in groups):
        return
    try:
        with initialize_config_dir(CONF_DIR, version_base="1.3"):
            cfg = compose(config_name, overrides=[o.input_line for o in groups])
    except HydraException:
        return  # a missing group option: Hydra lists the options itself
    finally:
        GlobalHydra.instance().clear()
    for override in keys:
        meant = closest_key(cfg, override.key_or_group)
        if meant != override.key_or_group:
            hint = f"did you mean {meant}?" if meant else "check its spelling"
            raise UserError(
                f"{override.key_or_group} is not in the config (from '{override.input_line}'); "
                f"{hint} (+{override.input_line} would add it as a new key)"
            )


def closest_key(cfg: DictConfig, key: str) -> str | None:
    """``key`` if the config has it, else the nearest existing key (each missing part
    replaced by its closest sibling), else None."""
    node: Any = OmegaConf.to_container(cfg, resolve=False)  # resolvers need a running Hydra
    parts = key.split(".")
    for i, part in enumerate(parts):
        if not isinstance(node, dict):
            return key  # a list index or a value: Hydra checks the rest
        if part not in node:
            close = difflib.get_close_matches(part, list(node), n=1)
            if not close:
                return None
            parts[i] = part = close[0]
        node = node[part]
    return ".".join(parts)


def check_types(cfg: DictConfig) -> None:
    """Every value given to a ``_target_`` must fit the type hint of the parameter it is
    passed to (``trainer.max_steps=abc``, ``model.net.width=x``, ``degradation.sigma=abc``),
    and ``seed`` must be an integer: one line naming the key before anything is built,
    instead of a traceback from deep inside the target. Hints it cannot judge (objects,
    callables, literals) are left to the target."""
    seed = cfg.get("seed")
    if seed is not None and fits(seed, int) is False:
        raise ConfigError(f"seed={seed!r} must be an integer")
    for key, node in target_nodes(cfg, ""):
        try:
            target = get_object(node._target_)
            hints = typing.get_type_hints(target.__init__ if inspect.isclass(target) else target)
        except Exception:  # an unknown target or unresolvable hints: instantiate says more
            continue
        for name in node:
            hint = hints.get(str(name))
            try:
                value = node[name]
            except Exception:  # an interpolation that fails: resolving it says why
                continue
            if hint is not None and fits(value, hint) is False:
                raw = OmegaConf.to_container(node)[name]  # an interpolation: the key to fix
                origin = f" (from {raw})" if OmegaConf.is_interpolation(node, name) else ""
                raise ConfigError(f"{key}{name}={value!r}{origin}: expected {describe(hint)}")


def target_nodes(node: Any, prefix: str) -> typing.Iterator[tuple[str, DictConfig]]:
    """(``"model.net."``, node) for every node with a ``_target_`` in a config tree."""
    if isinstance(node, DictConfig) and "_target_" in node:
        yield prefix, node
    items = node.items_ex(resolve=False) if isinstance(node, DictConfig) else []
    if isinstance(node, ListConfig):
        items = enumerate(node._iter_ex(resolve=False))
    for key, child in items:
        if isinstance(child, DictConfig | ListConfig):
            yield from target_nodes(child, f"{prefix}{key}.")


SEQUENCES = (list, tuple, collections.abc.Sequence)


def fits(value: Any, hint: Any) -> bool | None:
    """Whether a config value fits a type hint: True, False, or None when it cannot tell."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        verdicts = [fits(value, arg) for arg in args]
        return True if True in verdicts else (None if None in verdicts else False)
    if isinstance(value, DictConfig):  # a node that becomes an object
        return None
    if hint is type(None):
        return value is None
    if hint in (bool, int, float, str):
        number = hint in (int, float) and not isinstance(value, bool)
        return isinstance(value, hint) or (number and hint is float and isinstance(value, int))
    if inspect.isclass(hint) and issubclass(hint, PurePath):
        return isinstance(value, str)
    if hint in SEQUENCES or origin in SEQUENCES:
        if not isinstance(value, ListConfig | list | tuple):
            return False
        inner = [a for a in args if a is not Ellipsis][:1]
        verdicts = [fits(v, inner[0]) for v in value] if inner else []
        return False not in verdicts
    if inspect.isclass(hint) and isinstance(value, str | int | float | bool):
        return isinstance(value, hint)  # e.g. a Tensor (lr: float | Tensor) is never 'abc'
    return None


def describe(hint: Any) -> str:
    """'an integer', 'a number or a list'... for the hints ``fits`` judges; an object
    (a Tensor, a Module) is 'a config node', the only way to give one."""
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
             type(None): "null"}  # fmt: skip
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        parts = [describe(a) for a in typing.get_args(hint)]
        return " or ".join(dict.fromkeys(p for p in parts if p != "a config node"))
    if hint in names:
        return names[hint]
    if hint in SEQUENCES or typing.get_origin(hint) in SEQUENCES:
        return "a list"
    return "a path" if inspect.isclass(hint) and issubclass(hint, PurePath) else "a config node"


WRITE_KEYS = ("dirpath", "save_dir", "save_path", "default_root_dir")


def check_write_paths(cfg: DictConfig) -> None:
    """Every configured place regenlab writes to must lie in the run dir or the data dir:
    a typo or a stale absolute path must not scatter files (or overwrite them) elsewhere."""
    allowed = [Path(cfg.paths.output_dir).resolve(), Path(cfg.paths.data_dir).resolve()]

    def walk(node: Any, prefix: str) -> None:
        items = node.items() if isinstance(node, DictConfig) else []
        for key, value in items:
            name = f"{prefix}{key}"
            if isinstance(value, DictConfig):
                walk(value, f"{name}.")
            elif key in WRITE_KEYS and value is not None:
                path = Path(str(value)).expanduser().resolve()
                if not any(path.is_relative_to(a) for a in allowed):
                    raise UserError(
                        f"{name}={value} is outside the run dir ({allowed[0]}) and the data dir "
                        f"({allowed[1]}); regenlab writes only there (set paths.* instead)"
                    )

    walk(cfg, "")


def check_new_run_dir(cfg: DictConfig) -> None:
    """A new run must not start in a dir that holds another run's checkpoints (a reused
    ``hydra.run.dir``): it would write over that run's best.ckpt and last.ckpt."""
    if cfg.get("resume") or cfg.get("ckpt_path"):
        return
    out = Path(cfg.paths.output_dir)
    if any((out / "checkpoints").glob("*.ckpt")):
        raise UserError(
            f"{out} already holds the checkpoints of another run; start this one elsewhere "
            f"(leave out hydra.run.dir, or give a new one), or continue that run with "
            f"resume={out}"
        )


def check_run_config(cfg: DictConfig) -> None:
    """Everything about a run that can be checked from its config alone, before anything is
    built: a mistake costs one line and no time."""
    check_benchmarks(cfg)
    check_trainer_keys(cfg.trainer)
    check_types(cfg)
    check_accelerator(cfg.trainer)
    check_logger_packages(cfg)
    check_write_paths(cfg)
    check_new_run_dir(cfg)
    if not cfg.get("test", True) and not cfg.get("train", True):
        raise UserError("train=false test=false does nothing; leave one of them true")


def instantiate_datamodule(cfg: DictConfig) -> Any:
    """``data``, given the top-level ``degradation`` when the run has one (restoration), and
    the top-level ``test_sets`` (name -> folder) when there are any.

    The degradation is built on its own first, so its errors name ``degradation``.
    """
    test_sets = cfg.get("test_sets")
    if test_sets is not None and not isinstance(test_sets, DictConfig):
        raise UserError(
            f"test_sets must map names to folders (+test_sets.set12=<dir>), got {test_sets!r}"
        )
    if cfg.get("degradation") is None:
        if test_sets:
            raise UserError("test_sets (named test folders) work for restoration runs only")
        return instantiate(cfg.data)
    degradation = instantiate(cfg.degradation)  # an object, so it is passed, not merged
    named = {"test_sets": OmegaConf.to_container(test_sets, resolve=True)} if test_sets else {}
    return instantiate(cfg.data, _partial_=True)(degradation=degradation, **named)
