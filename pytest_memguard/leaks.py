"""Leak checks: run the test body again and see whether what it leaves behind keeps growing.

After the normal run, ``warmups`` unmeasured runs let caches that fill once fill (``lru_cache``, lazy
imports, ``re``'s cache, the warnings registry); then each of ``runs`` measured runs is followed by a full
collection and a reading of the traced heap (and, with ``native``, of the C allocator). A leak is growth in
*every* measured run above the threshold: one-time growth and noise that goes up and down are not leaks.
When a leak is found one more run counts the objects it left behind by type, and the chain of references
that keeps one of them alive.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

from .probes.heap import OWN_FILTERS, TracingState, top_sites
from .probes.rss import current_rss, native_in_use
from .settings import LeakPlan
from .units import format_size

__all__ = ["LeakReport", "check_leaks"]


@dataclass
class LeakReport:
    """The readings of a leak check and its verdict; growths are bytes per measured run."""

    plan: LeakPlan
    heap_growth: list[int]
    native_growth: list[int] | None = None
    native_method: str = ""
    sites: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    chain: str = ""

    @property
    def heap_per_run(self) -> int:
        return sum(self.heap_growth) // max(1, len(self.heap_growth))

    @property
    def native_per_run(self) -> int:
        growth = self.native_growth or [0]
        return sum(growth) // len(growth)

    @property
    def heap_leaks(self) -> bool:
        return min(self.heap_growth) > self.plan.heap_threshold

    @property
    def native_leaks(self) -> bool:
        return self.native_growth is not None and min(self.native_growth) > self.plan.native_threshold

    @property
    def leaks(self) -> bool:
        return self.heap_leaks or self.native_leaks

    def message(self) -> str:
        """The one-line verdict, ``memguard: no_leaks: ...``."""
        kind = "noise floor" if self.plan.limit is None else "limit"
        parts = []
        if self.heap_leaks:
            parts.append(
                f"heap grew {format_size(self.heap_per_run)} per run in each of "
                f"{len(self.heap_growth)} runs ({kind} {format_size(self.plan.heap_threshold)}/run)"
            )
        if self.native_leaks:
            parts.append(
                f"native memory ({self.native_method}) grew {format_size(self.native_per_run)} "
                f"per run in each of {len(self.native_growth or ())} runs "
                f"({kind} {format_size(self.plan.native_threshold)}/run)"
            )
        return f"memguard: {self.plan.check_name}: {'; '.join(parts)}"

    def details(self) -> str:
        lines = ["heap growth per run: " + ", ".join(format_size(g) for g in self.heap_growth)]
        if self.native_growth is not None:
            lines.append(
                f"native growth per run ({self.native_method}): "
                + ", ".join(format_size(g) for g in self.native_growth)
            )
        if self.sites:
            lines.append("growth by allocation site:")
            lines.extend("    " + site for site in self.sites)
        if self.types:
            lines.append("objects left behind per run, by type:")
            lines.extend("    " + kind for kind in self.types)
        if self.chain:
            lines.append("one of them is kept alive by:")
            lines.append("    " + self.chain)
        return "\n".join(lines)


def _heap_now() -> int:
    snapshot = tracemalloc.take_snapshot().filter_traces(OWN_FILTERS)
    return sum(trace.size for trace in snapshot.traces)


def _native_now() -> tuple[int, int]:
    return native_in_use()[0], current_rss()


def _run(run_once: Callable[[], object]) -> None:
    run_once()
    gc.collect()


def check_leaks(
    run_once: Callable[[], object],
    plan: LeakPlan,
    frames: int,
    top: int = 5,
    find_chain: Callable[[object], str] | None = None,
) -> LeakReport:
    """Run ``run_once`` ``plan.warmups + plan.runs`` more times and judge whether it leaks.

    An exception from ``run_once`` propagates: the caller fails the test with it.
    ``find_chain`` renders why an object is alive, for the evidence of a leak.
    """
    tracing = TracingState(frames)
    tracing.start()
    try:
        for _ in range(plan.warmups):
            _run(run_once)
        _heap_now()  # fills the caches of the trace filters themselves before anything is measured
        gc.collect()
        base_snapshot = tracemalloc.take_snapshot()
        heap = [_heap_now()]
        native = [_native_now()] if plan.native else None
        for _ in range(plan.runs):
            _run(run_once)
            heap.append(_heap_now())
            if native is not None:
                native.append(_native_now())
        report = LeakReport(plan, heap_growth=[after - before for before, after in pairwise(heap)])
        if native is not None:
            report.native_method, report.native_growth = _native_verdict(native, plan.native_threshold)

        if report.heap_leaks:
            report.sites = top_sites(tracemalloc.take_snapshot(), top, base=base_snapshot, divide=plan.runs)
        del base_snapshot
    finally:
        tracing.stop()
    if report.leaks:
        report.types, report.chain = _left_behind(run_once, top, find_chain)
    return report


def _native_verdict(readings: list[tuple[int, int]], threshold: int) -> tuple[str, list[int]]:
    """The native figure that grew in every run: malloc's bytes in use, else RSS (an ``mmap`` kept)."""
    malloc_method = native_in_use()[1]
    malloc = [b[0] - a[0] for a, b in pairwise(readings)]
    rss = [b[1] - a[1] for a, b in pairwise(readings)]
    if min(malloc) <= threshold < min(rss):
        return "RSS", rss
    return malloc_method, malloc


def _left_behind(
    run_once: Callable[[], object], top: int, find_chain: Callable[[object], str] | None
) -> tuple[list[str], str]:
    """Run twice more and count, by type, the collector-tracked objects each run left alive.

    Only types with at least one new object per run count: a one-time object is not the leak.
    """
    runs = 2
    gc.collect()
    before = {id(obj) for obj in gc.get_objects()}
    for _ in range(runs):
        _run(run_once)
    new = [obj for obj in gc.get_objects() if id(obj) not in before and obj is not before]
    del before
    counts = Counter(type(obj).__qualname__ for obj in new)
    growing = [(name, count) for name, count in counts.most_common() if count >= runs]
    types = [f"{name}: +{count // runs}" for name, count in growing[:top]]
    chain = ""
    if find_chain is not None and growing:
        kind = growing[0][0]
        # The newest object of the most common type is the least likely to be an intermediate container.
        sample = next(obj for obj in reversed(new) if type(obj).__qualname__ == kind)
        del new
        chain = find_chain(sample)
    return types, chain
