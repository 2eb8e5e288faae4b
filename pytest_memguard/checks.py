"""One function per check: figures and a limit in, a :class:`CheckResult` out.

A failure has a one-line message (``memguard: <check>: <figure> > <limit>``) and the evidence as details.
"""

from __future__ import annotations

from .results import CheckResult
from .units import format_duration, format_size

__all__ = ["check_max_gc_pause", "check_max_heap", "check_max_rss", "check_no_uncollectable"]


def check_max_heap(peak: int | None, limit: int, sites: list[str], when: str) -> CheckResult:
    shown = format_size(limit)
    if peak is None:
        return CheckResult(
            "max_heap", True, shown, details="not measured: tracemalloc was stopped by the test"
        )
    if peak <= limit:
        return CheckResult("max_heap", True, shown)
    details = ""
    if sites:
        details = f"top allocation sites {when}:\n" + "\n".join("    " + site for site in sites)
    return CheckResult(
        "max_heap", False, shown, f"memguard: max_heap: peak heap {format_size(peak)} > {shown}", details
    )


def check_max_rss(peak: int | None, limit: int, start: int, method: str) -> CheckResult:
    shown = format_size(limit)
    if peak is None or peak <= limit:
        return CheckResult("max_rss", True, shown)
    return CheckResult(
        "max_rss",
        False,
        shown,
        f"memguard: max_rss: peak RSS {format_size(peak)} above the start > {shown}",
        f"RSS at the start of the call: {format_size(start)}; peak measured by {method}; "
        "RSS includes native memory (C extensions, buffers), not only Python objects",
    )


def check_max_gc_pause(pause_max: float, limit: float, collections: list[int], lost: bool) -> CheckResult:
    shown = format_duration(limit)
    if lost:
        return CheckResult(
            "max_gc_pause", True, shown, details="not measured: the test removed memguard's gc callback"
        )
    if pause_max <= limit:
        return CheckResult("max_gc_pause", True, shown)
    counts = ", ".join(f"gen{gen}: {count}" for gen, count in enumerate(collections))
    return CheckResult(
        "max_gc_pause",
        False,
        shown,
        f"memguard: max_gc_pause: longest GC pause {format_duration(pause_max)} > {shown}",
        f"collections during the call: {counts}",
    )


def check_no_uncollectable(uncollectable: int, garbage_growth: int) -> CheckResult:
    if uncollectable <= 0 and garbage_growth <= 0:
        return CheckResult("no_uncollectable", True, "0")
    return CheckResult(
        "no_uncollectable",
        False,
        "0",
        f"memguard: no_uncollectable: the collector found {uncollectable} uncollectable "
        f"object(s); gc.garbage grew by {garbage_growth}",
        "uncollectable objects are cycles the collector cannot free (or, with "
        "gc.DEBUG_SAVEALL, everything it found); inspect gc.garbage",
    )
