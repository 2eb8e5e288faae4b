from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from pytest_memguard import __version__
from pytest_memguard.errors import MemguardUsageError
from pytest_memguard.jsonreport import build_report, compute_totals, write_report
from pytest_memguard.results import CheckResult, TestResult

MiB = 1024 * 1024


def results() -> list[TestResult]:
    return [
        TestResult(
            "t::a",
            duration=0.5,
            peak_heap=4 * MiB,
            peak_rss=1 * MiB,
            gc_collections=[3, 1, 1],
            gc_pause_max=0.002,
            gc_pause_total=0.003,
            leak_per_run=4096,
            checks=[
                CheckResult("no_leaks", False, message="memguard: no_leaks: grows"),
                CheckResult("max_heap", True),
            ],
        ),
        TestResult(
            "t::b",
            outcome="failed",
            duration=0.25,
            peak_rss=9 * MiB,
            gc_collections=[1, 0, 0],
            gc_pause_max=0.02,
            uncollectable=2,
            checks=[CheckResult("max_rss", False)],
        ),
        TestResult("t::c"),
    ]


def test_build_report_shape() -> None:
    report = build_report(results(), {"duration": 3.5, "exitstatus": 1, "probes": ["heap", "rss", "gc"]})
    assert report["schema"] == "pytest-memguard/report" and report["version"] == 1
    assert report["plugin_version"] == __version__
    assert {"python", "implementation", "platform", "created"} <= set(report)
    assert report["session"] == {"duration": 3.5, "exitstatus": 1, "probes": ["heap", "rss", "gc"]}
    assert report["tests"] == [result.to_dict() for result in results()]
    json.dumps(report, allow_nan=False)


def test_totals() -> None:
    totals = compute_totals(results())
    assert totals["tests"] == 3
    assert totals["outcomes"] == {"failed": 1, "passed": 2}
    assert totals["failed_checks"] == 2 and totals["tests_failing_checks"] == 2
    assert totals["leaks_found"] == 1 and totals["tests_leak_checked"] == 1
    assert (totals["max_peak_heap"], totals["max_peak_heap_test"]) == (4 * MiB, "t::a")
    assert (totals["max_peak_rss"], totals["max_peak_rss_test"]) == (9 * MiB, "t::b")
    assert totals["gc_collections"] == [4, 1, 1] and totals["gc_collections_total"] == 6
    assert (totals["longest_gc_pause"], totals["longest_gc_pause_test"]) == (0.02, "t::b")
    assert totals["uncollectable"] == 2 and totals["duration_total"] == 0.75


def test_totals_of_nothing_measured_are_null_not_zero() -> None:
    totals = compute_totals([TestResult("t::x")])
    assert totals["max_peak_heap"] is None and totals["max_peak_heap_test"] is None
    assert compute_totals([])["tests"] == 0


def test_session_info_is_made_json_safe() -> None:
    session = {"path": Path("/x/y"), "flags": {"b", "a"}, "pair": (1, 2), "bad": math.nan}
    assert build_report([], session)["session"] == {
        "path": "/x/y",
        "flags": ["a", "b"],
        "pair": [1, 2],
        "bad": None,
    }


def test_write_report(tmp_path: Path) -> None:
    report = build_report(results(), {"duration": 1.0})
    write_report(tmp_path / "report.json", report)
    assert json.loads((tmp_path / "report.json").read_text()) == report
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_write_report_error_names_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("sentinel")
    with pytest.raises(MemguardUsageError, match=r"memguard JSON report .*blocker/report\.json"):
        write_report(blocker / "report.json", build_report([], {}))
    assert blocker.read_text() == "sentinel"
