"""The terminal summary of the largest tests."""

from __future__ import annotations

from typing import Any

from .results import TestResult
from .units import format_duration, format_size

__all__ = ["manager_lines", "summary_lines"]


def _size(value: int | None) -> str:
    return "-" if value is None else format_size(value)


def summary_lines(results: list[TestResult], top: int) -> list[str]:
    """Rows for the ``top`` largest tests, by the larger of their peak heap and peak RSS."""
    traced = all(result.peak_heap is not None for result in results)

    def size(result: TestResult) -> int:
        return max(result.peak_heap or 0, result.peak_rss or 0)

    largest = sorted(results, key=size, reverse=True)[:top]
    header = ("peak heap", "peak RSS", "blocks", "GC max", "GC runs", "leak", "duration", "test")
    rows = [header]
    for result in largest:
        leak = (
            "-"
            if result.leak_verdict is None
            else (f"{format_size(result.leak_per_run or 0)}/run" if result.leak_verdict == "leak" else "none")
        )
        rows.append(
            (
                _size(result.peak_heap),
                _size(result.peak_rss),
                "-" if result.allocated_blocks is None else f"{result.allocated_blocks:+d}",
                format_duration(result.gc_pause_max),
                str(sum(result.gc_collections)),
                leak,
                format_duration(result.duration),
                result.nodeid,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header) - 1)]
    lines = [
        "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    ]
    failed = sum(1 for result in results if result.failed_checks)
    lines.append(
        f"{len(results)} tests measured, {failed} failed a memguard check"
        + ("" if traced else "; heap not traced (add --memguard-heap)")
    )
    return lines


def manager_lines(stats: dict[str, Any], where: str = "") -> list[str]:
    """The ``memory_manager`` fixture's statistics: its pools and weak references, one line each."""
    origin = f" ({where})" if where else ""
    lines = []
    for name, pool in sorted(stats.get("pools", {}).items()):
        lines.append(
            f"memory_manager{origin}: pool {name!r} of {format_size(pool['object_size'])} buffers: "
            f"{pool['acquisitions']} acquired, hit rate {pool['hit_rate']:.0%}, {pool['outstanding']} "
            f"outstanding, high water {pool['high_water']}, {pool['exhaustions']} exhaustions"
        )
    weak = stats.get("weak_refs")
    if weak:
        lines.append(
            f"memory_manager{origin}: weak references: {weak['total']} tracked, {weak['active']} alive, "
            f"{weak['cleaned']} collected"
        )
    return lines
