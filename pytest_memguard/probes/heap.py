"""The Python heap, with tracemalloc: the peak during a stretch of code and where it was allocated.

tracemalloc sees every allocation made through Python's allocators (objects, and buffers such as bytes or
list storage) from the moment tracing starts; it does not see memory C extensions get from ``malloc``
directly (numpy's data, most native libraries), nor what was allocated before tracing began.
Tracing is started only around the code measured, because tracing the whole session costs several times
more (pytest's own work between tests would be traced too).
"""

from __future__ import annotations

import linecache
import os
import sys
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from _typeshed import TraceFunction

from ..units import format_size

_PACKAGE_DIR: Final = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Traces that are memguard's own or the interpreter's bookkeeping of tracing, never the user's.
OWN_FILTERS: Final = (
    tracemalloc.Filter(False, os.path.join(_PACKAGE_DIR, "*")),
    tracemalloc.Filter(False, tracemalloc.__file__),
)
#: Allocation sites that are pytest's and pluggy's machinery around the test, left out of the evidence.
_MACHINERY_FILTERS: Final = tuple(
    tracemalloc.Filter(False, os.path.join("*", package, "*")) for package in ("_pytest", "pluggy")
)


class TracingState:
    """Starts tracemalloc if nobody traces yet, and stops it only if it started it."""

    __slots__ = ("frames", "owned")

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.owned = False

    def start(self) -> None:
        self.owned = not tracemalloc.is_tracing()
        if self.owned:
            tracemalloc.start(self.frames)

    def stop(self) -> None:
        if self.owned and tracemalloc.is_tracing():
            tracemalloc.stop()
        self.owned = False


@dataclass
class HeapFigures:
    """What a :class:`HeapProbe` measured. ``peak`` and ``retained`` are ``None`` if tracing was lost."""

    peak: int | None
    retained: int | None
    notes: list[str] = field(default_factory=list)


_active: list[HeapProbe] = []


class HeapProbe:
    """Peak traced heap above its level at the start: exact, since tracemalloc keeps the peak itself.

    Where the peak was allocated is found afterwards, only for a test over its limit, by running the body
    again under :func:`catch_crossing`: watching the heap during every call would cost a thread and a
    millisecond poll competing for the GIL in every limited test, to explain the rare one that fails.
    """

    __slots__ = ("_folded_peak", "_start", "_tracing")

    def __init__(self, frames: int) -> None:
        self._tracing = TracingState(frames)
        self._start = 0
        self._folded_peak = 0

    def start(self) -> None:
        _active.append(self)
        self._tracing.start()
        if not self._tracing.owned:
            # Resetting the peak would lose the peak of an enclosing probe: fold it in first.
            peak = tracemalloc.get_traced_memory()[1]
            for outer in _active[:-1]:
                outer._folded_peak = max(outer._folded_peak, peak)
            tracemalloc.reset_peak()
        self._start = tracemalloc.get_traced_memory()[0]

    def stop(self) -> HeapFigures:
        if self in _active:
            _active.remove(self)
        if not tracemalloc.is_tracing():
            self._tracing.stop()
            return HeapFigures(None, None, notes=["the test stopped tracemalloc: peak heap not measured"])
        current, peak = tracemalloc.get_traced_memory()
        self._tracing.stop()
        return HeapFigures(max(0, max(peak, self._folded_peak) - self._start), current - self._start)


def catch_crossing(run_once: Callable[[], object], limit: int, frames: int) -> tracemalloc.Snapshot | None:
    """Run ``run_once`` under a trace hook that snapshots the heap the moment it first exceeds ``limit``.

    For a peak too brief for :class:`HeapProbe`'s watcher: the hook sees every line, and every pass of a
    loop, of Python code in this thread; an exception from ``run_once`` means no snapshot. A debugger's or
    coverage's trace function is set aside for that run and put back after.
    """
    tracing = TracingState(frames)
    tracing.start()
    threshold = tracemalloc.get_traced_memory()[0] + limit
    caught: list[tracemalloc.Snapshot] = []

    def trace(frame: FrameType, event: str, arg: Any) -> TraceFunction | None:
        if caught:
            return None
        if tracemalloc.get_traced_memory()[0] > threshold:
            caught.append(tracemalloc.take_snapshot())
            return None
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        run_once()
    except Exception:
        return None
    finally:
        sys.settrace(previous)
        tracing.stop()
    return caught[0] if caught else None


def top_sites(
    snapshot: tracemalloc.Snapshot, limit: int, base: tracemalloc.Snapshot | None = None, divide: int = 1
) -> list[str]:
    """The ``limit`` biggest allocation sites as ``file:line: size (blocks)  source``, ours left out.

    With ``base``, the growth since ``base``, divided by ``divide`` (the number of runs it spans). When the
    snapshot kept more than one frame per allocation, each site names its callers too.
    """
    filters = OWN_FILTERS + _MACHINERY_FILTERS
    snapshot = snapshot.filter_traces(filters)
    key = "traceback" if snapshot.traceback_limit > 1 else "lineno"
    if base is None:
        stats = [(s.traceback, s.size, s.count) for s in snapshot.statistics(key)]
    else:
        diffs = snapshot.compare_to(base.filter_traces(filters), key)
        stats = [(s.traceback, s.size_diff, s.count_diff) for s in diffs if s.size_diff > 0]
        stats.sort(key=lambda stat: stat[1], reverse=True)
    lines = []
    per_run = "/run" if base is not None else ""
    # Sites under 2% of the largest, or under 32 bytes (per run), are noise next to it.
    stats = [stat for stat in stats if stat[1] * 50 >= stats[0][1] and stat[1] >= 32 * divide]
    for traceback, size, count in stats[:limit]:
        frame = traceback[-1]  # the most recent frame: where the allocation happened
        source = linecache.getline(frame.filename, frame.lineno).strip()
        callers = " ← ".join(
            _where(caller)
            for caller in reversed(traceback[:-1])
            if not any(f"{os.sep}{package}{os.sep}" in caller.filename for package in ("_pytest", "pluggy"))
        )
        lines.append(
            f"{_where(frame)}: {format_size(size / divide)}{per_run} ({count // divide} blocks{per_run})"
            + (f"  {source}" if source else "")
            + (f"  (called from {callers})" if callers else "")
        )
    return lines


def _where(frame: tracemalloc.Frame) -> str:
    return f"{_short_path(frame.filename)}:{frame.lineno}"


def _short_path(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith(".." + os.sep + "..") else relative
