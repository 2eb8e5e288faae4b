"""Fixed-size reusable buffers: acquire and release in O(1), zeroed on release, misuse detected.

The seed scans an ``available []bool`` slice to allocate and the object list to release; here a free list
(a stack, so the most recently zeroed buffer, still in cache, goes out first) and a dict of outstanding
buffers keyed by ``id()`` make both directions O(1). A buffer is a writable ``memoryview`` of exactly
``object_size`` bytes, so it works with ``recv_into``, ``readinto``, ``struct.pack_into`` and slicing.
"""

from __future__ import annotations

import ctypes
import math
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, Literal, final

from .errors import PoolError, PoolExhausted

__all__ = ["ON_EXHAUSTED", "MemoryPool", "OnExhausted", "PoolStats"]

OnExhausted = Literal["allocate", "raise", "block"]

#: What a pool may do when every buffer is out.
ON_EXHAUSTED: Final[tuple[OnExhausted, ...]] = ("allocate", "raise", "block")

_PREALLOCATE_FRACTION: Final = 4
_PREALLOCATE_MAX: Final = 100
_SITE_FRAMES: Final = 8


@final
@dataclass(frozen=True, slots=True)
class PoolStats:
    """A consistent view of one pool's counters, taken under its lock."""

    name: str
    object_size: int
    max_objects: int
    size: int
    free: int
    outstanding: int
    high_water: int
    acquisitions: int
    releases: int
    hits: int
    misses: int
    exhaustions: int
    hit_rate: float
    alloc_seconds: float


@final
class MemoryPool:
    """A pool of ``max_objects`` buffers of ``object_size`` bytes each.

    A quarter of ``max_objects`` (at most 100) is allocated up front, as in the seed; the rest on demand,
    ``growth_factor`` times the pool's size at a time (1.0: one by one). When all ``max_objects`` are out,
    ``on_exhausted`` decides: ``"allocate"`` hands out an extra buffer that is dropped when released,
    ``"raise"`` raises :class:`PoolExhausted`, ``"block"`` waits up to ``block_timeout`` seconds (None:
    forever) for a release. With ``alignment`` each buffer's address is a multiple of it. With
    ``zero_on_release`` (the default) a released buffer is zeroed before anyone else can get it, so data
    never leaks from one user to the next. ``track_acquirers`` records where each outstanding buffer was
    acquired (a few frames of stack: useful in tests, too slow for hot paths).

    Buffers are told apart by identity, so a stale reference released after the same buffer went out
    again is indistinguishable from its new holder's: drop a buffer's references when releasing it.
    """

    __slots__ = (
        "_acquisitions",
        "_alignment",
        "_alloc_seconds",
        "_available",
        "_exhaustions",
        "_extras",
        "_free",
        "_growth_factor",
        "_high_water",
        "_hits",
        "_lock",
        "_max_objects",
        "_misses",
        "_name",
        "_object_size",
        "_on_exhausted",
        "_outstanding",
        "_owned",
        "_releases",
        "_sites",
        "_timeout",
        "_track",
        "_waiters",
        "_zero",
        "_zeros",
    )

    def __init__(
        self,
        name: str,
        object_size: int,
        max_objects: int,
        *,
        alignment: int | None = None,
        on_exhausted: OnExhausted = "allocate",
        zero_on_release: bool = True,
        block_timeout: float | None = None,
        growth_factor: float = 1.0,
        track_acquirers: bool = False,
    ) -> None:
        _check_int("object_size", object_size, minimum=1)
        _check_int("max_objects", max_objects, minimum=1)
        if alignment is not None:
            _check_int("alignment", alignment, minimum=1)
            if alignment & (alignment - 1):
                raise ValueError(f"alignment must be a power of two, got {alignment!r}")
        if on_exhausted not in ON_EXHAUSTED:
            raise ValueError(f"on_exhausted must be one of {', '.join(ON_EXHAUSTED)}, got {on_exhausted!r}")
        if block_timeout is not None and not (isinstance(block_timeout, (int, float)) and block_timeout >= 0):
            raise ValueError(f"block_timeout must be a number of seconds >= 0 or None, got {block_timeout!r}")
        if not (
            isinstance(growth_factor, (int, float)) and math.isfinite(growth_factor) and growth_factor >= 1
        ):
            raise ValueError(f"growth_factor must be a finite number >= 1.0, got {growth_factor!r}")
        self._name = name
        self._object_size = object_size
        self._max_objects = max_objects
        self._alignment = alignment
        self._on_exhausted: OnExhausted = on_exhausted
        self._zero = zero_on_release
        self._timeout = block_timeout
        self._growth_factor = float(growth_factor)
        self._track = track_acquirers
        self._zeros = bytes(object_size)
        self._lock = threading.Lock()
        self._available = threading.Condition(self._lock)
        self._waiters = 0
        self._free: list[memoryview] = []
        self._owned: dict[int, memoryview] = {}
        self._outstanding: dict[int, memoryview] = {}
        self._extras: set[int] = set()
        self._sites: dict[int, traceback.StackSummary] = {}
        self._acquisitions = self._releases = self._hits = self._misses = self._exhaustions = 0
        self._high_water = 0
        self._alloc_seconds = 0.0
        self._grow(min(max_objects // _PREALLOCATE_FRACTION, _PREALLOCATE_MAX))

    def __repr__(self) -> str:
        return (
            f"<MemoryPool {self._name!r} {self._object_size} B x {self._max_objects}: "
            f"{len(self._outstanding)} out, {len(self._free)} free>"
        )

    @property
    def name(self) -> str:
        """The pool's name, as metrics and failure messages show it."""
        return self._name

    @property
    def object_size(self) -> int:
        """Bytes in every buffer."""
        return self._object_size

    @property
    def max_objects(self) -> int:
        """Buffers the pool owns at most; more are extras (``"allocate"``) or refused."""
        return self._max_objects

    @property
    def alignment(self) -> int | None:
        """The address alignment of every buffer, or None when unspecified."""
        return self._alignment

    @property
    def on_exhausted(self) -> OnExhausted:
        """What :meth:`acquire` does when every buffer is out."""
        return self._on_exhausted

    @property
    def outstanding(self) -> int:
        """Buffers handed out and not yet released, extras included."""
        return len(self._outstanding)

    @property
    def free(self) -> int:
        """Zeroed buffers ready to hand out."""
        return len(self._free)

    def acquire(self) -> memoryview:
        """Return a buffer of ``object_size`` bytes; the caller must :meth:`release` it."""
        site = traceback.extract_stack(sys._getframe(1), limit=_SITE_FRAMES) if self._track else None
        # The lock's own methods rather than ``with``: measurably cheaper on CPython 3.11's hot path.
        lock = self._lock
        lock.acquire()
        try:
            if self._free:
                buf = self._free.pop()
                self._hits += 1
            else:
                buf = self._acquire_slow()
            key = id(buf)
            outstanding = self._outstanding
            outstanding[key] = buf
            self._acquisitions += 1
            if len(outstanding) > self._high_water:
                self._high_water = len(outstanding)
            if site is not None:
                self._sites[key] = site
        finally:
            lock.release()
        return buf

    def _acquire_slow(self) -> memoryview:
        # Called with the lock held and the free list empty.
        if len(self._owned) < self._max_objects:
            self._misses += 1
            room = self._max_objects - len(self._owned)
            batch = max(1, math.ceil(len(self._owned) * (self._growth_factor - 1.0)))
            self._grow(min(batch, room))
            return self._free.pop()
        self._exhaustions += 1
        if self._on_exhausted == "allocate":
            self._misses += 1
            buf = self._timed_allocate()
            self._extras.add(id(buf))
            return buf
        if self._on_exhausted == "raise":
            raise PoolExhausted(f"pool {self._name!r}: all {self._max_objects} buffers are out")
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        self._waiters += 1
        try:
            while not self._free:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise PoolExhausted(
                        f"pool {self._name!r}: no buffer released within {self._timeout} s "
                        f"(all {self._max_objects} are out)"
                    )
                self._available.wait(remaining)
        finally:
            self._waiters -= 1
        self._hits += 1
        return self._free.pop()

    def _grow(self, count: int) -> None:
        for _ in range(count):
            buf = self._timed_allocate()
            self._owned[id(buf)] = buf
            self._free.append(buf)

    def _timed_allocate(self) -> memoryview:
        start = time.perf_counter()
        buf = _allocate(self._object_size, self._alignment)
        self._alloc_seconds += time.perf_counter() - start
        return buf

    def release(self, buf: memoryview) -> None:
        """Give ``buf`` back. It is zeroed before reuse; an extra buffer is dropped.

        Raises :class:`PoolError` when ``buf`` was already released or never came from this pool; the
        buffer is then left untouched, so a mistaken release never wipes someone else's data.
        """
        key = id(buf)
        lock = self._lock
        lock.acquire()
        try:
            # While a buffer is outstanding the pool holds it, so no other live object can share its id().
            if self._outstanding.pop(key, None) is None:
                raise self._release_error(buf)
            self._releases += 1
            if self._sites:
                self._sites.pop(key, None)
            # Zeroing under the lock costs no concurrency: the slice assignment holds the GIL anyway, and
            # one lock round instead of two is most of a small buffer's release.
            if self._zero:
                buf[:] = self._zeros
            if self._extras and key in self._extras:
                self._extras.discard(key)
                return
            self._free.append(buf)
            if self._waiters:
                self._available.notify()
        finally:
            lock.release()

    def _release_error(self, buf: object) -> PoolError:
        if self._owned.get(id(buf)) is buf:
            return PoolError(f"pool {self._name!r}: buffer released twice")
        return PoolError(
            f"pool {self._name!r}: buffer was never handed out by this pool "
            "(or is an extra buffer already released)"
        )

    @contextmanager
    def buffer(self) -> Iterator[memoryview]:
        """Acquire a buffer for the ``with`` block and release it however the block ends."""
        buf = self.acquire()
        try:
            yield buf
        finally:
            self.release(buf)

    def outstanding_sites(self) -> list[traceback.StackSummary | None]:
        """Where each outstanding buffer was acquired (None for each when ``track_acquirers`` is off)."""
        with self._lock:
            return [self._sites.get(key) for key in self._outstanding]

    def stats(self) -> PoolStats:
        """Return the pool's counters; ``hit_rate`` is 0.0 before the first acquisition."""
        with self._lock:
            return PoolStats(
                name=self._name,
                object_size=self._object_size,
                max_objects=self._max_objects,
                size=len(self._owned),
                free=len(self._free),
                outstanding=len(self._outstanding),
                high_water=self._high_water,
                acquisitions=self._acquisitions,
                releases=self._releases,
                hits=self._hits,
                misses=self._misses,
                exhaustions=self._exhaustions,
                hit_rate=self._hits / self._acquisitions if self._acquisitions else 0.0,
                alloc_seconds=self._alloc_seconds,
            )


def _allocate(size: int, alignment: int | None) -> memoryview:
    if alignment is None or alignment == 1:
        return memoryview(bytearray(size))
    # Over-allocate and start the view at the first aligned address. The view holds an export on the
    # bytearray, which can therefore never be resized or moved.
    raw = bytearray(size + alignment - 1)
    address = ctypes.addressof(ctypes.c_char.from_buffer(raw))
    offset = -address % alignment
    return memoryview(raw)[offset : offset + size]


def _check_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
