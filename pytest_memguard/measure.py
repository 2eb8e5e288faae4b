"""Measure a stretch of code with the probes a plan needs, into a :class:`TestResult`'s figures.

Probes start from the cheapest and least disturbing to the heap tracer, which starts last and stops first,
so that memguard's own work is not traced.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from dataclasses import dataclass, field
from time import perf_counter

from .probes import GCProbe, HeapProbe, RSSProbe
from .probes.heap import HeapFigures

__all__ = ["Figures", "Meter"]


@dataclass
class Figures:
    """What a :class:`Meter` measured; ``None`` where a probe was not used or could not measure."""

    duration: float = 0.0
    peak_heap: int | None = None
    retained_heap: int | None = None
    peak_rss: int | None = None
    start_rss: int = 0
    allocated_blocks: int | None = None
    gc_collections: list[int] = field(default_factory=lambda: [0, 0, 0])
    gc_pause_max: float = 0.0
    gc_pause_total: float = 0.0
    uncollectable: int = 0
    garbage_growth: int = 0
    gc_lost: bool = False
    heap: HeapFigures | None = None
    notes: list[str] = field(default_factory=list)


class Meter:
    """One measurement: ``start()``, the code, ``stop()`` → :class:`Figures`."""

    __slots__ = ("_blocks", "_gc", "_gc_enabled", "_heap", "_rss", "_started")

    def __init__(self, *, heap: bool, rss: bool, frames: int) -> None:
        self._gc = GCProbe()
        self._rss = RSSProbe() if rss else None
        self._heap = HeapProbe(frames) if heap else None
        self._blocks = 0
        self._started = 0.0
        self._gc_enabled = True

    def start(self) -> None:
        self._gc_enabled = gc.isenabled()
        self._gc.start()
        if self._rss is not None:
            self._rss.start()
        if self._heap is not None:
            # Only beside the heap tracer: sys.getallocatedblocks() walks every pymalloc pool, ~25 us on a
            # 100 MB heap, which alone would be most of what --memguard costs per test.
            self._blocks = sys.getallocatedblocks()
            self._heap.start()
        self._started = perf_counter()

    def stop(self) -> Figures:
        duration = perf_counter() - self._started
        figures = Figures(duration=duration)
        if self._heap is not None:
            figures.heap = self._heap.stop()
            figures.peak_heap, figures.retained_heap = figures.heap.peak, figures.heap.retained
            figures.notes.extend(figures.heap.notes)
            figures.allocated_blocks = sys.getallocatedblocks() - self._blocks
        if self._rss is not None:
            figures.peak_rss = self._rss.stop()
            figures.start_rss = self._rss.start_rss
        self._gc.stop()
        figures.gc_collections = list(self._gc.collections)
        figures.gc_pause_max = self._gc.pause_max
        figures.gc_pause_total = self._gc.pause_total
        figures.uncollectable = self._gc.uncollectable
        figures.garbage_growth = self._gc.garbage_growth
        figures.gc_lost = self._gc.lost
        if self._gc.lost:
            figures.notes.append("the test removed memguard's gc callback: GC figures not measured")
        if not self._gc_enabled or not gc.isenabled():
            figures.notes.append(
                "the collector was disabled during the call: only explicit collections counted"
            )
        return figures

    def abandon(self) -> None:
        """Undo what ``start()`` did without measuring (after an internal error)."""
        for stop in (
            self._heap.stop if self._heap else None,
            self._rss.stop if self._rss else None,
            self._gc.stop,
        ):
            if stop is not None:
                with contextlib.suppress(Exception):  # already failing: restoring state is what matters
                    stop()
