"""The one base class of every mistake a user can fix: a bad config, file or sample.

Each layer raises its own subclass (``ConfigError``, ``DataError``, ``CheckpointError``,
...), with a message that names the key, file or sample and says what is wrong. The
command-line tools catch :class:`UserError` and print that message as one line instead
of a traceback (:mod:`rgbpose_plugin.cli`); anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

__all__ = ["ConfigError", "UserError"]


class UserError(Exception):
    """Bad input (config, file, sample, checkpoint); ``str(err)`` says how to fix it."""


class ConfigError(UserError, ValueError):
    """A config file, override or value is wrong; the message names the key and source."""
