"""User-facing errors: a mistake in a config, a path or an input, reported as one line."""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix; the message says what is wrong and how to fix it.

    Entry points print it as a single line (no traceback) and exit with status 2;
    ``HYDRA_FULL_ERROR=1`` re-raises it with the full traceback.
    """


class ConfigError(UserError, ValueError):
    """An invalid configuration value, raised where the value is read."""
