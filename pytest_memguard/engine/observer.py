"""A subject that holds its observers weakly, so subscribing never keeps an observer alive.

The seed takes the address of a local interface variable (``&observer``), so its "weak pointer" points at
a stack copy and never dies with the observer. Here bound methods are held with ``weakref.WeakMethod``
(a plain ``weakref.ref`` to a bound method dies at once) and everything else with ``weakref.ref``.
"""

from __future__ import annotations

import threading
import types
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar, final

from .errors import not_weakrefable

__all__ = ["Observer", "WeakObserver"]

_T = TypeVar("_T")
_T_contra = TypeVar("_T_contra", contravariant=True)


class Observer(Protocol[_T_contra]):
    """What :meth:`WeakObserver.subscribe` accepts besides a plain callable."""

    def on_next(self, value: _T_contra) -> object: ...
    def on_error(self, exc: BaseException) -> object: ...
    def on_complete(self) -> object: ...


class _Ref(weakref.ref[Any]):
    __slots__ = ("full", "key")

    key: tuple[int, int]
    full: bool

    def __new__(
        cls, obj: object, on_death: Callable[[Any], object], key: tuple[int, int], full: bool
    ) -> _Ref:
        self = super().__new__(cls, obj, on_death)
        self.key = key
        self.full = full
        return self

    def __init__(
        self, obj: object, on_death: Callable[[Any], object], key: tuple[int, int], full: bool
    ) -> None:
        super().__init__(obj, on_death)  # type: ignore[call-arg]  # weakref.ref takes them at runtime


class _MethodRef(weakref.WeakMethod):  # type: ignore[type-arg]
    __slots__ = ("full", "key")

    key: tuple[int, int]
    full: bool

    def __new__(
        cls, meth: types.MethodType, on_death: Callable[[Any], object], key: tuple[int, int]
    ) -> _MethodRef:
        self = super().__new__(cls, meth, on_death)
        self.key = key
        self.full = False
        return self

    def __init__(
        self, meth: types.MethodType, on_death: Callable[[Any], object], key: tuple[int, int]
    ) -> None:
        super().__init__(meth, on_death)  # type: ignore[call-arg]  # weakref.ref takes them at runtime


def _is_full_observer(observer: object) -> bool:
    # What isinstance(observer, Observer) decides, without the protocol machinery's cost per call.
    cls = type(observer)
    return all(callable(getattr(cls, name, None)) for name in ("on_next", "on_error", "on_complete"))


def _key(observer: object) -> tuple[int, int]:
    # A bound method is a new object at every attribute access: identify it by its object and function.
    if isinstance(observer, types.MethodType):
        return id(observer.__self__), id(observer.__func__)
    return id(observer), 0


@final
class WeakObserver(Generic[_T]):
    """Notify weakly held observers; a dead one is pruned, one that raises does not stop the others.

    An observer is an object with ``on_next(value)``, ``on_error(exc)`` and ``on_complete()``, or a
    callable, called for ``on_next`` only. Observers are called in subscription order, outside the lock
    (so they may subscribe or unsubscribe), on the thread that notifies. Held weakly means a lambda or
    ``functools.partial`` that nothing else holds is gone at once: keep a reference to it.
    ``notify``, ``error`` and ``complete`` return the exceptions observers raised, in call order: the
    producer decides whether they matter; nothing is logged or swallowed behind its back.
    """

    __slots__ = ("_lock", "_pending", "_subs")

    def __init__(self) -> None:
        self._subs: dict[tuple[int, int], _Ref | _MethodRef] = {}
        self._pending: deque[Any] = deque()
        self._lock = threading.Lock()

    def subscribe(self, observer: Observer[_T] | Callable[[_T], object]) -> None:
        """Hold ``observer`` weakly; subscribing the same observer twice keeps one subscription."""
        full = _is_full_observer(observer)
        if not full and not callable(observer):
            raise TypeError(
                f"an observer must be callable or have on_next, on_error and on_complete, got {observer!r}"
            )
        if isinstance(observer, types.BuiltinMethodType) and not isinstance(
            observer.__self__, (types.ModuleType, type(None))
        ):
            raise TypeError(
                f"{observer!r} is made anew at each attribute access, so a weak reference to it dies at "
                "once; subscribe an object or a function that lives as long as the subscription"
            )
        key = _key(observer)
        ref: _Ref | _MethodRef
        try:
            if isinstance(observer, types.MethodType):
                ref = _MethodRef(observer, self._pending.append, key)
            else:
                ref = _Ref(observer, self._pending.append, key, full)
        except TypeError:
            raise not_weakrefable(observer) from None
        with self._lock:
            self._drain()
            current = self._subs.get(key)
            # A dead subscription whose id() was reused before its callback was drained is replaced.
            if current is None or current() is None:
                self._subs[key] = ref

    def unsubscribe(self, observer: object) -> bool:
        """Drop ``observer``; False when it was not subscribed."""
        with self._lock:
            self._drain()
            key = _key(observer)
            current = self._subs.get(key)
            if current is None or current() is None:
                return False
            del self._subs[key]
            return True

    def __len__(self) -> int:
        with self._lock:
            self._drain()
            return sum(1 for ref in self._subs.values() if ref() is not None)

    def notify(self, value: _T) -> list[Exception]:
        """Call every live observer's ``on_next(value)``; return the exceptions they raised."""
        errors: list[Exception] = []
        for observer, full in self._live():
            try:
                if full:
                    observer.on_next(value)
                else:
                    observer(value)
            except Exception as exc:
                errors.append(exc)
        return errors

    def error(self, exc: BaseException) -> list[Exception]:
        """Call every live full observer's ``on_error(exc)``; return the exceptions they raised."""
        errors: list[Exception] = []
        for observer, full in self._live():
            if full:
                try:
                    observer.on_error(exc)
                except Exception as raised:
                    errors.append(raised)
        return errors

    def complete(self) -> list[Exception]:
        """Call every live full observer's ``on_complete()``; return the exceptions they raised."""
        errors: list[Exception] = []
        for observer, full in self._live():
            if full:
                try:
                    observer.on_complete()
                except Exception as raised:
                    errors.append(raised)
        return errors

    def _live(self) -> list[tuple[Any, bool]]:
        # Strong references for the duration of one notification, taken under the lock, used outside it.
        with self._lock:
            self._drain()
            pairs = [(ref(), ref.full) for ref in self._subs.values()]
        return [(observer, full) for observer, full in pairs if observer is not None]

    def _drain(self) -> None:
        pending = self._pending
        while pending:
            try:
                dead = pending.popleft()
            except IndexError:
                break
            key = dead.key
            if self._subs.get(key) is dead:
                del self._subs[key]
