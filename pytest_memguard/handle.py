"""The ``memguard`` fixture's handle: track objects that must be freed, and measure a block of code."""

from __future__ import annotations

import gc
import tracemalloc
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .measure import Meter

__all__ = ["Measurement", "MemguardHandle", "Tracked"]


@dataclass
class Measurement:
    """The figures of one ``with memguard.measure():`` block; filled when the block exits.

    ``peak_heap`` and ``retained_heap`` are bytes above the heap at the start of the block (tracemalloc),
    ``peak_rss`` bytes above the RSS at the start, ``gc_collections`` per generation, durations in seconds.
    """

    peak_heap: int = 0
    retained_heap: int = 0
    peak_rss: int = 0
    gc_collections: list[int] = field(default_factory=lambda: [0, 0, 0])
    gc_pause_max: float = 0.0
    duration: float = 0.0


class Tracked:
    """A weakly tracked object: ``alive`` until it is collected."""

    __slots__ = ("_ref", "name", "type_name")

    def __init__(self, obj: object, name: str | None) -> None:
        try:
            self._ref = weakref.ref(obj)
        except TypeError:
            kind = type(obj).__name__
            raise TypeError(
                f"memguard.track: a {kind} cannot be weakly referenced, so memguard cannot tell when it is "
                f"freed; track an object that owns it (an instance of one of your classes), or hold it in "
                f"a class that has __weakref__"
            ) from None
        self.type_name = type(obj).__qualname__
        self.name = name

    @property
    def alive(self) -> bool:
        return self._ref() is not None

    def get(self) -> Any:
        return self._ref()

    def describe(self) -> str:
        return f"<{self.type_name}>" + (f" {self.name!r}" if self.name else "")

    def __repr__(self) -> str:
        return f"Tracked({self.describe()}, alive={self.alive})"


class MemguardHandle:
    """What a test gets from the ``memguard`` fixture.

    ``explain`` renders why an object is alive (the plugin passes the reference-chain search, told to
    ignore pytest's and memguard's own objects).
    """

    def __init__(self, frames: int, explain: Callable[[object], str]) -> None:
        self._frames = frames
        self._explain = explain
        self.tracked: list[Tracked] = []

    def track(self, obj: object, name: str | None = None) -> Tracked:
        """Track ``obj``: if it is still alive after the test body and a full collection, the test fails."""
        tracked = Tracked(obj, name)
        self.tracked.append(tracked)
        return tracked

    def survivors(self, handles: Iterable[Tracked] | None = None) -> list[str]:
        """Collect, then describe each tracked object still alive with the chain that keeps it alive."""
        gc.collect()
        lines = []
        for tracked in self.tracked if handles is None else handles:
            obj = tracked.get()
            if obj is not None:
                lines.append(f"{tracked.describe()} is still alive, held by:\n    {self._explain(obj)}")
                del obj
        return lines

    def assert_collected(self, *handles: Tracked) -> None:
        """Fail now if any of ``handles`` (all tracked objects when none are given) is still alive."""
        lines = self.survivors(handles or None)
        if lines:
            evidence = "\n".join("    " + line for text in lines for line in text.splitlines())
            raise AssertionError(
                f"memguard: track: {len(lines)} tracked object(s) still alive after a collection\n{evidence}"
            )

    def heap(self) -> int:
        """The traced Python heap now, in bytes (0 when tracemalloc is not tracing)."""
        return tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0

    @contextmanager
    def measure(self) -> Iterator[Measurement]:
        """Measure the block: heap (tracemalloc), RSS, GC and duration; the result is filled on exit."""
        result = Measurement()
        meter = Meter(heap=True, rss=True, frames=self._frames)
        meter.start()
        try:
            yield result
        finally:
            figures = meter.stop()
            result.peak_heap = figures.peak_heap or 0
            result.retained_heap = figures.retained_heap or 0
            result.peak_rss = figures.peak_rss or 0
            result.gc_collections = figures.gc_collections
            result.gc_pause_max = figures.gc_pause_max
            result.duration = figures.duration
