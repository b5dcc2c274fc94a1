"""Plain networks: no losses, optimisers or logging, so several methods and eval can share them."""

from regenlab.errors import ConfigError


def check_sizes(**sizes: int) -> None:
    """Layer counts and widths must be >= 1: torch's own error for ``width=-3`` is a
    traceback about tensor shapes deep inside a layer."""
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
