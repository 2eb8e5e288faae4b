"""The warnings and errors pytest-memguard raises, in one hierarchy."""

from __future__ import annotations

__all__ = ["MemguardError", "MemguardUsageError", "MemguardWarning"]


class MemguardWarning(UserWarning):
    """Something memguard could not measure or write; the test's own result stands."""


class MemguardError(Exception):
    """Base class of the errors memguard raises itself."""


class MemguardUsageError(MemguardError, ValueError):
    """A bad value in a marker, an option, an ini key or a file, named with where it came from."""
