"""Garbage-collector pauses and counts, from ``gc.callbacks``.

``gc.callbacks`` sees every collection the interpreter runs, automatic or explicit, with its generation and
the uncollectable objects it found; it does not see time the collector is disabled, nor memory freed by
reference counting (most of CPython's freeing), which needs no collection at all.
"""

from __future__ import annotations

import gc
from time import perf_counter
from typing import Any


class GCProbe:
    """Counts collections per generation and times each pause while installed."""

    __slots__ = (
        "_started",
        "collections",
        "garbage_before",
        "garbage_growth",
        "installed",
        "lost",
        "pause_max",
        "pause_total",
        "uncollectable",
    )

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.pause_max = 0.0
        self.pause_total = 0.0
        self.uncollectable = 0
        self.garbage_before = 0
        self.garbage_growth = 0
        self.installed = False
        self.lost = False
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = perf_counter()
            return
        pause = perf_counter() - self._started
        self.pause_total += pause
        if pause > self.pause_max:
            self.pause_max = pause
        generation = info.get("generation", 0)
        if 0 <= generation < len(self.collections):
            self.collections[generation] += 1
        self.uncollectable += info.get("uncollectable", 0)
        # Read here, not only at the end: a test may empty gc.garbage after the collection filled it.
        growth = len(gc.garbage) - self.garbage_before
        if growth > self.garbage_growth:
            self.garbage_growth = growth

    def start(self) -> None:
        self.garbage_before = len(gc.garbage)
        gc.callbacks.append(self._callback)
        self.installed = True

    def stop(self) -> None:
        """Remove the callback; ``lost`` tells whether the code under test removed it first."""
        if not self.installed:
            return
        self.garbage_growth = max(self.garbage_growth, len(gc.garbage) - self.garbage_before)
        self.installed = False
        try:
            gc.callbacks.remove(self._callback)
        except ValueError:
            self.lost = True
