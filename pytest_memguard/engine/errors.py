"""The engine's own exceptions, and the one message for objects that cannot be weakly referenced.

The engine imports nothing of pytest-memguard above it, so its errors derive from the built-in
exceptions callers already catch (``RuntimeError``, ``ValueError``, ``TypeError``).
"""

from __future__ import annotations

__all__ = ["PoolError", "PoolExhausted", "not_weakrefable"]


class PoolExhausted(RuntimeError):
    """A pool with ``on_exhausted="raise"`` (or ``"block"`` past its timeout) had no buffer to give."""


class PoolError(ValueError):
    """A buffer was released twice, or released to a pool that never handed it out."""


def not_weakrefable(obj: object) -> TypeError:
    """The ``TypeError`` saying why ``obj`` cannot be weakly referenced and what to track instead."""
    name = type(obj).__name__
    if obj is None or isinstance(obj, bool):
        what = repr(obj)
        hint = "it is a singleton that is never collected; track the object that owns it"
    else:
        article = "an" if name[:1].lower() in "aeiou" else "a"
        what = f"{article} {name}"
        hint = "track an object that owns it, or wrap it in a class with __weakref__"
    return TypeError(f"{what} cannot be weakly referenced; {hint}")
