"""Real weak references with provenance, and a registry whose callbacks run only at safe points.

The seed's ``WeakReference`` keeps an ``unsafe.Pointer`` and dereferences it after the finalizer ran;
Python has true weak references, so :class:`WeakReference` is a ``weakref.ref`` that also remembers
what the object was and where it was tracked from.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, final

from .errors import not_weakrefable

__all__ = ["WeakRefStats", "WeakReference", "WeakReferenceManager"]

_T = TypeVar("_T")
logger = logging.getLogger("pytest_memguard.engine")


class WeakReference(weakref.ref[_T]):
    """A weak reference to a tracked object, with when, where and what it was.

    ``created_at`` is wall-clock seconds since the epoch, ``created_where`` the ``file:line`` that
    called :meth:`WeakReferenceManager.track`, ``type_name`` the object's qualified type and ``size``
    its ``sys.getsizeof`` (the object itself, not what it refers to).
    """

    __slots__ = ("callback", "created_at", "created_where", "name", "size", "type_name")

    callback: Callable[[WeakReference[Any]], object] | None
    created_at: float
    created_where: str
    name: str | None
    size: int
    type_name: str

    def __new__(
        cls,
        obj: _T,
        on_death: Callable[[weakref.ref[_T]], object] | None = None,
        *,
        name: str | None = None,
        created_where: str = "<unknown>",
        callback: Callable[[WeakReference[Any]], object] | None = None,
    ) -> WeakReference[_T]:
        self = super().__new__(cls, obj, on_death)
        self.name = name
        self.callback = callback
        self.created_at = time.time()
        self.created_where = created_where
        self.type_name = qualified_type_name(obj)
        self.size = sys.getsizeof(obj, 0)
        return self

    def __init__(
        self,
        obj: _T,
        on_death: Callable[[weakref.ref[_T]], object] | None = None,
        *,
        name: str | None = None,
        created_where: str = "<unknown>",
        callback: Callable[[WeakReference[Any]], object] | None = None,
    ) -> None:
        super().__init__(obj, on_death)  # type: ignore[call-arg]  # weakref.ref takes them at runtime

    def get(self) -> _T | None:
        """Return the object, or None once it has been collected."""
        return self()

    @property
    def alive(self) -> bool:
        """Whether the object has not been collected yet."""
        return self() is not None

    def __repr__(self) -> str:
        state = "alive" if self() is not None else "dead"
        label = f" {self.name!r}" if self.name else ""
        return f"<WeakReference{label} to {self.type_name} ({state}) from {self.created_where}>"


@final
@dataclass(frozen=True, slots=True)
class WeakRefStats:
    """References ever tracked, still alive, and whose object was collected."""

    total: int
    active: int
    cleaned: int


@final
class WeakReferenceManager:
    """Track objects weakly; run each one's callback after it is collected, never during the collection.

    A weakref callback can fire in the middle of a garbage collection, on whichever thread triggered it,
    possibly while that thread holds a lock the user callback wants. So the weakref callback only appends
    the dead reference to a deque (atomic under the GIL), and the user callbacks run at the next safe
    point: any call into the manager, or :meth:`run_pending`. Replaces the seed's cleanup goroutine and
    its one-second ticker. A callback that raises is logged on the ``pytest_memguard.engine`` logger and
    does not stop the others: the code that happened to reach the safe point cannot handle it.
    """

    __slots__ = ("_cleaned", "_lock", "_pending", "_refs", "_total")

    def __init__(self) -> None:
        self._refs: dict[int, WeakReference[Any]] = {}
        self._pending: deque[weakref.ref[Any]] = deque()
        self._lock = threading.Lock()
        self._total = 0
        self._cleaned = 0

    def track(
        self,
        obj: _T,
        callback: Callable[[WeakReference[Any]], object] | None = None,
        name: str | None = None,
    ) -> WeakReference[_T]:
        """Return a :class:`WeakReference` to ``obj``; ``callback(ref)`` runs after ``obj`` is collected.

        Raises ``TypeError`` saying what to track instead when ``obj`` cannot be weakly referenced.
        """
        self.run_pending()
        caller = sys._getframe(1)
        where = f"{caller.f_code.co_filename}:{caller.f_lineno}"
        try:
            ref = WeakReference(obj, self._pending.append, name=name, created_where=where, callback=callback)
        except TypeError:
            raise not_weakrefable(obj) from None
        with self._lock:
            self._refs[id(ref)] = ref
            self._total += 1
        return ref

    def untrack(self, ref: WeakReference[Any]) -> bool:
        """Forget ``ref`` without running its callback; False when it was not tracked (any more)."""
        self.run_pending()
        with self._lock:
            return self._refs.pop(id(ref), None) is not None

    def run_pending(self) -> int:
        """Run the callbacks of references whose object has been collected; return how many ran."""
        ran = 0
        pending = self._pending
        while pending:
            try:
                ref = pending.popleft()
            except IndexError:
                break
            with self._lock:
                tracked = self._refs.pop(id(ref), None)
                if tracked is None:
                    continue
                self._cleaned += 1
            if tracked.callback is not None:
                ran += 1
                try:
                    tracked.callback(tracked)
                except Exception:
                    logger.exception("memguard: callback of %r raised", tracked)
        return ran

    def references(self) -> list[WeakReference[Any]]:
        """The tracked references whose object is still alive, oldest first."""
        self.run_pending()
        with self._lock:
            return [ref for ref in self._refs.values() if ref() is not None]

    def __len__(self) -> int:
        self.run_pending()
        return len(self._refs)

    def stats(self) -> WeakRefStats:
        """Return total, active and cleaned counts after running pending callbacks."""
        self.run_pending()
        with self._lock:
            return WeakRefStats(total=self._total, active=len(self._refs), cleaned=self._cleaned)


def qualified_type_name(obj: object) -> str:
    """``module.QualName`` of ``obj``'s type, without the module for builtins."""
    cls = type(obj)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"
