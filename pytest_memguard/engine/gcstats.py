"""Record every garbage collection through ``gc.callbacks``: pause, generation, collected, uncollectable.

The interpreter calls back at the start and the end of each collection, so pauses are measured exactly
instead of sampled. The callback only does arithmetic on integers and floats: no locks (a thread holding
one may be the thread that triggered the collection), no allocation of user objects, no user code.
Collections never overlap, so the callback is the only writer; readers take a :class:`GCSnapshot`, which
may be one collection behind but is never torn in a way that matters for statistics.
"""

from __future__ import annotations

import gc
import time
import weakref
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, final

__all__ = ["PAUSE_BUCKETS", "GCPause", "GCRecorder", "GCSnapshot"]

#: Upper bounds (seconds) of the pause histogram: exponential from 100 µs, doubling, 15 buckets (~1.6 s).
PAUSE_BUCKETS: Final[tuple[float, ...]] = tuple(0.0001 * 2**i for i in range(15))

_GCCallback = Callable[[str, dict[str, Any]], None]


@final
@dataclass(frozen=True, slots=True)
class GCPause:
    """One collection: its sequence number, generation, duration and what it found."""

    seq: int
    generation: int
    duration: float
    collected: int
    uncollectable: int


@final
@dataclass(frozen=True, slots=True)
class GCSnapshot:
    """Cumulative figures since the recorder started; subtract two snapshots for an interval."""

    started: float
    taken: float
    collections: tuple[int, int, int]
    collected: int
    uncollectable: int
    pause_total: float
    pause_max: float
    last_seq: int

    @property
    def elapsed(self) -> float:
        """Wall time covered by the snapshot, in seconds."""
        return max(self.taken - self.started, 0.0)

    @property
    def total_collections(self) -> int:
        """Collections of every generation."""
        return sum(self.collections)

    @property
    def gc_cpu_ratio(self) -> float:
        """Share of wall time spent inside the collector (0..1); 0.0 before any time has passed."""
        return min(self.pause_total / self.elapsed, 1.0) if self.elapsed > 0 else 0.0


@final
class GCRecorder:
    """Measure collections from :meth:`start` to :meth:`stop` through one entry in ``gc.callbacks``.

    The entry holds the recorder weakly, and a finalizer removes it, so a recorder that is dropped without
    :meth:`stop` does not stay alive or keep costing a call per collection.
    """

    __slots__ = (
        "__weakref__",
        "_bucket_counts",
        "_callback",
        "_collected",
        "_collections",
        "_finalizer",
        "_pause_max",
        "_pause_total",
        "_pauses",
        "_seq",
        "_start_time",
        "_started",
        "_uncollectable",
    )

    def __init__(self, *, keep: int = 4096) -> None:
        self._pauses: deque[GCPause] = deque(maxlen=keep)
        self._callback: _GCCallback | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._reset()

    def _reset(self) -> None:
        self._collections = [0, 0, 0]
        self._bucket_counts = [0] * (len(PAUSE_BUCKETS) + 1)
        self._collected = 0
        self._uncollectable = 0
        self._pause_total = 0.0
        self._pause_max = 0.0
        self._seq = 0
        self._start_time = 0.0
        self._started = time.perf_counter()
        self._pauses.clear()

    @property
    def running(self) -> bool:
        """Whether the recorder's entry is in ``gc.callbacks``."""
        return self._callback is not None

    def start(self) -> None:
        """Install the ``gc.callbacks`` entry and zero the figures; a no-op when already running."""
        if self._callback is not None:
            return
        self._reset()
        callback = _make_callback(weakref.ref(self))
        gc.callbacks.append(callback)
        self._callback = callback
        self._finalizer = weakref.finalize(self, _remove_callback, callback)

    def stop(self) -> None:
        """Remove exactly this recorder's entry from ``gc.callbacks``; the figures stay readable."""
        if self._finalizer is not None:
            self._finalizer()
        self._finalizer = None
        self._callback = None

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start_time = time.perf_counter()
            return
        duration = time.perf_counter() - self._start_time if self._start_time else 0.0
        self._start_time = 0.0
        generation = int(info.get("generation", 2))
        collected = int(info.get("collected", 0))
        uncollectable = int(info.get("uncollectable", 0))
        self._seq += 1
        self._collections[generation] += 1
        self._collected += collected
        self._uncollectable += uncollectable
        self._pause_total += duration
        if duration > self._pause_max:
            self._pause_max = duration
        self._bucket_counts[bisect_left(PAUSE_BUCKETS, duration)] += 1
        self._pauses.append(GCPause(self._seq, generation, duration, collected, uncollectable))

    def snapshot(self) -> GCSnapshot:
        """Return the cumulative figures now."""
        c0, c1, c2 = self._collections
        return GCSnapshot(
            started=self._started,
            taken=time.perf_counter(),
            collections=(c0, c1, c2),
            collected=self._collected,
            uncollectable=self._uncollectable,
            pause_total=self._pause_total,
            pause_max=self._pause_max,
            last_seq=self._seq,
        )

    def pauses_since(self, seq: int) -> Iterator[GCPause]:
        """Yield the kept pauses with a sequence number above ``seq`` (the newest ``keep`` at most)."""
        for pause in tuple(self._pauses):
            if pause.seq > seq:
                yield pause

    def histogram(self) -> tuple[Sequence[int], float]:
        """Return per-bucket pause counts (bounds :data:`PAUSE_BUCKETS`, then +Inf) and the pause sum."""
        return tuple(self._bucket_counts), self._pause_total


def _make_callback(recorder_ref: weakref.ref[GCRecorder]) -> _GCCallback:
    def memguard_gc_recorder(phase: str, info: dict[str, Any]) -> None:
        recorder = recorder_ref()
        if recorder is not None:
            recorder._on_gc(phase, info)

    return memguard_gc_recorder


def _remove_callback(callback: _GCCallback) -> None:
    # Identity, not equality: another recorder's callback must never be the one removed.
    for index, entry in enumerate(gc.callbacks):
        if entry is callback:
            del gc.callbacks[index]
            return
