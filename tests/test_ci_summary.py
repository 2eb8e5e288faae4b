from __future__ import annotations

from pathlib import Path

import pytest

from pytest_memguard.baseline import Baseline, compare, parse_rule
from pytest_memguard.ci_summary import STEP_SUMMARY_ENV, append_step_summary, github_step_summary
from pytest_memguard.results import CheckResult, TestResult

MiB = 1024 * 1024


def results() -> list[TestResult]:
    return [
        TestResult("t::small", peak_heap=1 * MiB, peak_rss=2 * MiB),
        TestResult(
            "t::big[a|b]", peak_heap=30 * MiB, peak_rss=40 * MiB, checks=[CheckResult("max_heap", False)]
        ),
        TestResult("t::medium", peak_heap=5 * MiB, leak_per_run=2048, checks=[CheckResult("no_leaks", True)]),
        TestResult("t::untraced", peak_rss=99 * MiB),
    ]


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| `")]


def test_largest_tests_by_peak_heap() -> None:
    text = github_step_summary(results(), None)
    assert text.startswith("## pytest-memguard\n")
    assert "4 tests measured, 1 with failed memory checks." in text
    assert "### Largest tests by peak heap" in text
    rows = table_rows(text)
    assert [row.split(" | ")[0] for row in rows] == ["| `t::big[a\\|b]`", "| `t::medium`", "| `t::small`"]
    assert rows[0].split(" | ")[1:3] == ["30.0 MiB", "40.0 MiB"]
    assert "❌ max_heap" in rows[0] and "✅" in rows[1]
    assert "2.00 KiB" in rows[1]
    assert "Compared with the baseline" not in text


def test_top_limits_the_rows_and_rss_is_used_without_heap() -> None:
    assert len(table_rows(github_step_summary(results(), None, top=1))) == 1
    assert len(table_rows(github_step_summary(results(), None, top=0))) == 0
    only_rss = [TestResult("t::a", peak_rss=1), TestResult("t::b", peak_rss=5)]
    text = github_step_summary(only_rss, None)
    assert "### Largest tests by peak RSS" in text
    assert [row.split(" | ")[0] for row in table_rows(text)] == ["| `t::b`", "| `t::a`"]


def test_no_results() -> None:
    assert "No tests were measured." in github_step_summary([], None)


def test_regressions_are_listed() -> None:
    base = Baseline.from_results([TestResult("t::big[a|b]", peak_heap=10 * MiB), TestResult("t::gone")])
    comparison = compare(base, results(), [parse_rule("peak_heap:10%"), parse_rule("leak:0")])
    text = github_step_summary(results(), comparison)
    assert "### Compared with the baseline" in text
    assert "1 tests compared (rules: `peak_heap:10%`, `leak:0`), 3 new, 1 gone. **1 regression:**" in text
    regression_rows = [row for row in table_rows(text) if "`peak_heap:10%`" in row]
    assert regression_rows == [
        "| `t::big[a\\|b]` | peak_heap | 10.0 MiB | 30.0 MiB | +20.0 MiB, +200.0% | `peak_heap:10%` |"
    ]


def test_no_regressions() -> None:
    comparison = compare(Baseline.from_results(results()), results(), [parse_rule("peak_heap:10%")])
    assert "No regressions." in github_step_summary(results(), comparison)


def test_append_without_the_environment_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STEP_SUMMARY_ENV, raising=False)
    assert append_step_summary("# hello\n") is None


def test_append_appends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv(STEP_SUMMARY_ENV, str(summary))
    assert append_step_summary("## one") is None
    assert append_step_summary("## two\n") is None
    assert summary.read_text() == "earlier step\n## one\n## two\n"


def test_append_failure_is_a_warning_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STEP_SUMMARY_ENV, str(tmp_path))  # a directory cannot be appended to
    warning = append_step_summary("## text")
    assert warning is not None
    assert str(tmp_path) in warning and STEP_SUMMARY_ENV in warning and "Is a directory" in warning
