"""Console output through rich: final-metric tables, one-line errors, one line per event."""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from hydra.errors import InstantiationException
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from regenlab.errors import UserError

F = TypeVar("F", bound=Callable[..., Any])
console = Console()
err_console = Console(stderr=True)

# Third-party lines that say nothing about the run, kept off the console (the run's .log file
# keeps them): Lightning's litlogger advert, torch's deprecation of ``LeafSpec`` that Lightning
# triggers itself. One place to add the next one.
CONSOLE_NOISE = re.compile(r"litlogger|LeafSpec")


class ConsoleNoise(logging.Filter):
    """Drops ``CONSOLE_NOISE`` records; on the console handler only (conf/hydra/default.yaml)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return CONSOLE_NOISE.search(record.getMessage()) is None


def one_line_per_event() -> None:
    """Lightning's package logger has a console handler of its own and also propagates to the
    root's, which Hydra set up (console + the run's .log), so each line printed twice
    (hydra#2898): drop Lightning's. Warnings go through logging too, so that the console's
    noise filter sees them and the .log file keeps them."""
    import lightning  # noqa: F401  (importing it adds the handler)

    logging.getLogger("lightning").handlers.clear()
    logging.captureWarnings(True)


def progress(disable: bool = False) -> Progress:
    """A rich progress display in the style of the training bar (callbacks.ProgressBar:
    description, bar, done/total, elapsed, remaining), for the loops outside a Trainer
    (predict's files and tiles, compare's runs). Off when the console is no terminal, so
    logs and CI output get no redrawn lines."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(complete_style="#6206E0", finished_style="#6206E0"),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=disable or not console.is_terminal,
    )


def print_metrics(metrics: Mapping[str, float], title: str, footer: str | None = None) -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in sorted(metrics):
        table.add_row(key, f"{metrics[key]:.4f}")
    console.print(table)
    if footer:
        console.print(footer, highlight=False, soft_wrap=True)


def user_error(exc: BaseException | None) -> str | None:
    """The message of the UserError behind ``exc``, prefixed with the config key Hydra was
    instantiating when it raised (Hydra wraps such errors), or None for other errors. A
    TypeError, ValueError or Lightning MisconfigurationException raised while building a
    config node (a wrong key or value there) counts as a user error too."""
    key, wrapped = None, False
    while exc is not None:
        if isinstance(exc, UserError):
            return f"{key}: {exc}" if key else str(exc)
        if wrapped and (isinstance(exc, TypeError | ValueError) or is_misconfiguration(exc)):
            where = key or "the config"
            return f"{where}: {first_line(exc)} (check the keys and values of {where})"
        if not isinstance(exc, InstantiationException):
            return None
        wrapped = True
        key = key or next(
            (line.split(":", 1)[1].strip() for line in str(exc).splitlines()
             if line.startswith("full_key:")), None,
        )  # fmt: skip
        exc = exc.__cause__
    return None


def first_line(exc: BaseException) -> str:
    """An exception's message up to its first line break: for one-line reports."""
    return str(exc).partition("\n")[0]


def is_misconfiguration(exc: BaseException) -> bool:
    """Lightning's MisconfigurationException (a bad Trainer argument), without importing it."""
    module = sys.modules.get("lightning.fabric.utilities.exceptions")
    return module is not None and isinstance(exc, module.MisconfigurationException)


def is_sigterm(exc: BaseException) -> bool:
    """Lightning's SIGTERMException, checked without importing Lightning (seconds of
    startup that ``--help`` of the lighter entry points should not pay)."""
    module = sys.modules.get("lightning.pytorch.utilities.exceptions")
    return module is not None and isinstance(exc, module.SIGTERMException)


def report_user_errors(fn: F) -> F:
    """Print a UserError as one line and exit 2; SIGTERM exits 143 after its checkpoint;
    other errors keep their traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SystemExit as exc:
            if not is_sigterm(exc):
                raise
            err_console.print("terminated (SIGTERM)", highlight=False)
            sys.exit(143)
        except Exception as exc:
            message = user_error(exc)
            if message is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            err_console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def parse_cli(argv: list[str], usage: str, options: dict[str, Callable[[str], Any]]) -> dict:
    """``key=value`` arguments (Hydra style) for the non-Hydra entry points: the ``options``
    are converted and returned; anything else is collected in ``overrides``."""
    if not argv or {"-h", "--help"} & set(argv):
        print(usage)
        sys.exit(0)
    args: dict[str, Any] = {"overrides": []}
    for arg in argv:
        key, sep, value = arg.partition("=")
        if key in options and sep:
            try:
                args[key] = options[key](value)
            except ValueError:
                raise UserError(f"{arg}: expected {options[key].__name__}") from None
        else:
            args["overrides"].append(arg)
    return args


def flag(value: str) -> bool:
    """``true``/``false`` (also 1/0, yes/no) from the command line."""
    lowered = value.lower()
    if lowered not in ("1", "0", "true", "false", "yes", "no"):
        raise ValueError(value)
    return lowered in ("1", "true", "yes")
