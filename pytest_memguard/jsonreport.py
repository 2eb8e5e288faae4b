"""The full JSON report (``--memguard-json``): every test's figures and verdicts, with session totals.

It is meant for programs (dashboards, a later CI job, ``python -m pytest_memguard compare``), so it is
versioned like the baseline and documented field by field in ``docs/json-report.md``. The totals are
computed here once and reused by the Prometheus export, so the two never disagree.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from .baseline import REPORT_SCHEMA, REPORT_VERSION, current_environment
from .fileio import StrPath, write_atomic
from .results import TestResult

__all__ = ["LEAK_CHECKS", "REPORT_SCHEMA", "REPORT_VERSION", "build_report", "compute_totals", "write_report"]

#: The checks whose failure means a test leaks; ``totals.leaks_found`` counts tests failing one of them.
LEAK_CHECKS = frozenset({"no_leaks", "max_leak"})


def compute_totals(results: Iterable[TestResult]) -> dict[str, Any]:
    """Return the session totals of ``results``; a figure no test measured is ``None``, not 0.

    ``tests`` counts results (tests measured); ``failed_checks`` counts failed check verdicts and
    ``tests_failing_checks`` the tests with at least one; the ``max_*``/``longest_*`` figures name their test
    so a reader can go straight to it.
    """
    results = list(results)
    outcomes: dict[str, int] = {}
    for result in results:
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
    peak_heap_test = _largest(results, "peak_heap")
    peak_rss_test = _largest(results, "peak_rss")
    pause_test = _largest(results, "gc_pause_max")
    generations = max((len(result.gc_collections) for result in results), default=3)
    collections = [sum(_at(result.gc_collections, g) for result in results) for g in range(generations)]
    return {
        "tests": len(results),
        "outcomes": dict(sorted(outcomes.items())),
        "failed_checks": sum(len(result.failed_checks) for result in results),
        "tests_failing_checks": sum(1 for result in results if result.failed_checks),
        "leaks_found": sum(
            1 for result in results if any(check.name in LEAK_CHECKS for check in result.failed_checks)
        ),
        "tests_leak_checked": sum(1 for result in results if result.leak_per_run is not None),
        "max_peak_heap": None if peak_heap_test is None else peak_heap_test.peak_heap,
        "max_peak_heap_test": None if peak_heap_test is None else peak_heap_test.nodeid,
        "max_peak_rss": None if peak_rss_test is None else peak_rss_test.peak_rss,
        "max_peak_rss_test": None if peak_rss_test is None else peak_rss_test.nodeid,
        "gc_collections": collections,
        "gc_collections_total": sum(collections),
        "gc_pause_total": sum(result.gc_pause_total for result in results),
        "longest_gc_pause": None if pause_test is None else pause_test.gc_pause_max,
        "longest_gc_pause_test": None if pause_test is None else pause_test.nodeid,
        "uncollectable": sum(result.uncollectable for result in results),
        "duration_total": sum(result.duration for result in results),
    }


def _largest(results: list[TestResult], attribute: str) -> TestResult | None:
    measured = [result for result in results if getattr(result, attribute) is not None]
    # The first of equal figures wins, so the report is stable across runs with ties.
    return max(measured, key=lambda result: getattr(result, attribute), default=None)


def _at(values: list[int], index: int) -> int:
    return values[index] if index < len(values) else 0


def build_report(results: Iterable[TestResult], session_info: Mapping[str, Any]) -> dict[str, Any]:
    """Return the full report of a session as a JSON-safe dict (see ``docs/json-report.md``).

    ``session_info`` is what the plugin knows about the session (duration, exit status, probes used, the
    memguard options); values JSON cannot hold (paths, sets, enums) are written as strings or lists, so a
    caller never has to pre-clean it.
    """
    results = list(results)
    environment = current_environment()
    return {
        "schema": REPORT_SCHEMA,
        "version": REPORT_VERSION,
        "plugin_version": environment["plugin_version"],
        "python": environment["python"],
        "implementation": environment["implementation"],
        "platform": environment["platform"],
        "created": environment["created"],
        "session": _json_safe(dict(session_info)),
        "totals": compute_totals(results),
        "tests": [_json_safe(result.to_dict()) for result in results],
    }


def write_report(path: StrPath, report: Mapping[str, Any]) -> None:
    """Write ``report`` to ``path`` as compact UTF-8 JSON, atomically (see :func:`fileio.write_atomic`).

    Compact, not indented: the report is for programs (``jq`` indents it for people), and json's C encoder,
    several times faster, is not used with ``indent``.
    """
    try:  # the fast path: no NaN or infinity anywhere, which is nearly always
        text = json.dumps(
            report, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_json_safe
        )
    except ValueError:
        text = json.dumps(
            _json_safe(dict(report)), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
    text += "\n"
    write_atomic(path, text, what="memguard JSON report")


def _json_safe(value: Any) -> Any:
    # Strict JSON has no NaN or infinity; readers such as jq and JavaScript reject them, so they become null.
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_json_safe(item) for item in value), key=str)
    return str(value)
