from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from pytest_memguard import __version__
from pytest_memguard.baseline import (
    SCHEMA,
    SCHEMA_VERSION,
    Baseline,
    compare,
    current_environment,
    format_comparison,
    load_figures,
    merge,
    parse_rule,
)
from pytest_memguard.errors import MemguardUsageError
from pytest_memguard.jsonreport import build_report, write_report
from pytest_memguard.results import CheckResult, TestResult
from pytest_memguard.rules import Rule

KiB = 1024
MiB = 1024 * 1024


def result(nodeid: str, **figures: Any) -> TestResult:
    return TestResult(nodeid, **figures)


def baseline(*results: TestResult, **environment: Any) -> Baseline:
    made = Baseline.from_results(results)
    return dataclasses.replace(made, **environment) if environment else made


RESULTS = [
    result(
        "tests/test_a.py::test_one",
        duration=0.5,
        peak_heap=2 * MiB,
        peak_rss=10 * MiB,
        gc_collections=[3, 1, 0],
        gc_pause_max=0.002,
        leak_per_run=0,
        leak_verdict="none",
        checks=[CheckResult("max_heap", True, "4 MiB")],
        notes=["traced"],
    ),
    result("tests/test_a.py::test_two[a|b]", peak_rss=1 * MiB),
]


# -- save and load ---------------------------------------------------------------------------------------


def test_save_load_round_trip(tmp_path: Path) -> None:
    saved = Baseline.from_results(RESULTS)
    path = tmp_path / "baseline.json"
    saved.save(path)
    loaded = Baseline.load(path)
    assert loaded == saved
    assert loaded.tests["tests/test_a.py::test_one"] == RESULTS[0]
    assert loaded.source == str(path)
    data = json.loads(path.read_text())
    assert data["schema"] == SCHEMA == "pytest-memguard/baseline"
    assert data["version"] == SCHEMA_VERSION == 1
    assert data["plugin_version"] == __version__
    assert sorted(data["tests"]) == sorted(result.nodeid for result in RESULTS)
    assert [p.name for p in tmp_path.iterdir()] == ["baseline.json"]


def test_environment_is_recorded() -> None:
    made = Baseline.from_results([])
    environment = current_environment()
    assert made.python == environment["python"] and made.implementation == environment["implementation"]
    assert made.platform.count("-") >= 1  # sys.platform + machine
    assert made.created.endswith("Z") and "T" in made.created


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def saved_dict() -> dict[str, Any]:
    return Baseline.from_results(RESULTS).to_dict()


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda d: d.update(schema="something/else"), ["not a memguard baseline", "'something/else'"]),
        (lambda d: d.pop("schema"), ["not a memguard baseline", "None"]),
        (lambda d: d.update(schema="pytest-memguard/report"), ["JSON report, not a baseline"]),
        (lambda d: d.update(version=2), ["schema version 2", "reads version 1", "newer"]),
        (lambda d: d.update(version="1"), ["schema version '1'", "reads version 1"]),
        (lambda d: d.pop("version"), ["schema version None"]),
        (lambda d: d.pop("python"), ["missing field 'python'"]),
        (lambda d: d.update(platform=3), ["field 'platform' must be a string"]),
        (lambda d: d.update(tests=[]), ["field 'tests' must be an object"]),
        (lambda d: d["tests"].update(x=5), ["test 'x'", "must be an object"]),
        (
            lambda d: d["tests"]["tests/test_a.py::test_one"].update(peak_heap="2 MiB"),
            ["'tests/test_a.py::test_one'", "field 'peak_heap' must be an integer or null", "'2 MiB'"],
        ),
        (
            lambda d: d["tests"]["tests/test_a.py::test_one"].update(gc_collections=[1, "x"]),
            ["field 'gc_collections' must be an array of integers"],
        ),
        (
            lambda d: d["tests"]["tests/test_a.py::test_one"].update(duration=True),
            ["field 'duration' must be a number"],
        ),
        (
            lambda d: d["tests"]["tests/test_a.py::test_one"]["checks"][0].pop("passed"),
            ["checks[0] is missing 'passed'"],
        ),
    ],
    ids=[
        "other-schema",
        "no-schema",
        "report-schema",
        "newer-version",
        "string-version",
        "no-version",
        "no-python",
        "platform-not-string",
        "tests-not-object",
        "test-not-object",
        "figure-ill-typed",
        "gc-collections-ill-typed",
        "duration-bool",
        "check-missing-field",
    ],
)
def test_load_rejects_bad_baselines_naming_the_file(tmp_path: Path, mutate: Any, words: list[str]) -> None:
    data = saved_dict()
    mutate(data)
    path = write(tmp_path / "bad.json", data)
    with pytest.raises(MemguardUsageError) as excinfo:
        Baseline.load(path)
    message = str(excinfo.value)
    assert str(path) in message
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"schema": "pytest-memguard/baseline", "version": 1, "tests": {"a": {"peak', "truncated"),
        ("{not json}", "not valid JSON: line 1, column 2"),
        ("[]", "does not hold a JSON object"),
        ("", "empty"),
    ],
)
def test_load_rejects_corrupt_files(tmp_path: Path, text: str, words: str) -> None:
    path = write(tmp_path / "corrupt.json", text)
    with pytest.raises(MemguardUsageError, match=words) as excinfo:
        Baseline.load(path)
    assert str(path) in str(excinfo.value)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MemguardUsageError, match="no such file"):
        Baseline.load(tmp_path / "nope.json")


def test_missing_test_fields_take_their_defaults(tmp_path: Path) -> None:
    data = saved_dict()
    data["tests"] = {"t::x": {"peak_heap": 5}}
    loaded = Baseline.load(write(tmp_path / "old.json", data))
    assert loaded.tests["t::x"] == TestResult("t::x", peak_heap=5)


def test_save_to_an_unwritable_place_keeps_the_old_file(tmp_path: Path) -> None:
    blocker = write(tmp_path / "blocker", "sentinel")
    with pytest.raises(MemguardUsageError, match="memguard baseline"):
        Baseline.from_results(RESULTS).save(blocker / "baseline.json")
    assert blocker.read_text() == "sentinel"


def test_load_figures_reads_baselines_and_reports(tmp_path: Path) -> None:
    Baseline.from_results(RESULTS).save(tmp_path / "baseline.json")
    write_report(tmp_path / "report.json", build_report(RESULTS, {"duration": 1.0}))
    from_baseline = load_figures(tmp_path / "baseline.json")
    from_report = load_figures(tmp_path / "report.json")
    assert from_baseline.tests == from_report.tests == {r.nodeid: r for r in RESULTS}
    assert from_report.source == str(tmp_path / "report.json")


def test_load_figures_rejects_other_json(tmp_path: Path) -> None:
    path = write(tmp_path / "other.json", {"schema": "junit"})
    with pytest.raises(MemguardUsageError, match="neither a memguard baseline nor a memguard JSON report"):
        load_figures(path)
    report = build_report(RESULTS, {})
    report["version"] = 7
    with pytest.raises(MemguardUsageError, match=r"JSON report .* has schema version 7"):
        load_figures(write(tmp_path / "future.json", report))
    report["version"] = 1
    report["tests"] = [{"peak_heap": 1}]
    with pytest.raises(MemguardUsageError, match=r"tests\[0\] must be an object with a string 'nodeid'"):
        load_figures(write(tmp_path / "nonode.json", report))


# -- merge ---------------------------------------------------------------------------------------------


def test_merge_shards() -> None:
    first = baseline(result("a", peak_heap=1), result("b", peak_heap=2))
    second = baseline(result("c", peak_heap=3))
    merged, duplicates, warnings = merge([first, second])
    assert sorted(merged.tests) == ["a", "b", "c"]
    assert duplicates == {} and warnings == []


def test_merge_duplicates_the_later_wins_and_is_reported() -> None:
    first = baseline(result("a", peak_heap=1), result("b", peak_heap=2))
    second = baseline(result("b", peak_heap=20))
    third = baseline(result("b", peak_heap=200), result("a", peak_heap=10))
    merged, duplicates, _ = merge([first, second, third])
    assert merged.tests["b"].peak_heap == 200 and merged.tests["a"].peak_heap == 10
    assert duplicates == {"a": [0, 2], "b": [0, 1, 2]}


def test_merge_warns_about_other_environments() -> None:
    first = baseline(result("a"), python="3.8.1")
    second = baseline(result("b"))
    _, _, warnings = merge([first, second])
    assert len(warnings) == 1 and "3.8.1" in warnings[0] and second.python in warnings[0]


def test_merge_nothing() -> None:
    with pytest.raises(MemguardUsageError, match="nothing to merge"):
        merge([])


# -- rules ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "rule"),
    [
        ("peak_heap:10%", Rule("peak_heap", "percent", 10.0, "peak_heap:10%")),
        ("peak_rss:2.5%", Rule("peak_rss", "percent", 2.5, "peak_rss:2.5%")),
        ("peak_rss:5MiB", Rule("peak_rss", "absolute", 5 * MiB, "peak_rss:5MiB")),
        ("peak_heap:64 KB", Rule("peak_heap", "absolute", 64000, "peak_heap:64 KB")),
        ("peak_heap:1000", Rule("peak_heap", "absolute", 1000, "peak_heap:1000")),
        ("leak:0", Rule("leak", "absolute", 0, "leak:0")),
        ("leak:1KiB", Rule("leak", "absolute", KiB, "leak:1KiB")),
        ("leak:0%", Rule("leak", "percent", 0, "leak:0%")),
        ("gc_pause:5ms", Rule("gc_pause", "absolute", 0.005, "gc_pause:5ms")),
        ("gc_pause:0.2", Rule("gc_pause", "absolute", 0.2, "gc_pause:0.2")),
        ("gc_pause:50%", Rule("gc_pause", "percent", 50.0, "gc_pause:50%")),
        (" peak_heap : 10 % ", Rule("peak_heap", "percent", 10.0, "peak_heap : 10 %")),
    ],
)
def test_parse_rule(expr: str, rule: Rule) -> None:
    assert parse_rule(expr) == rule


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("peak_heap:ten%", "'ten%' is not a percentage"),
        ("nosuch:5%", "unknown figure 'nosuch'"),
        ("peak_heap", "no ':'"),
        ("peak_heap:", "no threshold"),
        (":5%", "unknown figure ''"),
        ("gc_pause:5MiB", "'5MiB' is not a percentage or a duration"),
        ("peak_heap:5ms", "'5ms' is not a percentage or a size"),
        ("peak_heap:-5%", "must not be negative"),
        ("peak_rss:-1MiB", "must not be negative"),
        ("leak:lots", "'lots' is not a percentage or a size"),
    ],
)
def test_parse_rule_errors_name_the_expression_and_the_figures(expr: str, words: str) -> None:
    with pytest.raises(MemguardUsageError) as excinfo:
        parse_rule(expr)
    message = str(excinfo.value)
    assert repr(expr) in message and words in message
    if "figure" in words or "':'" in words:
        assert "peak_heap, peak_rss, leak, gc_pause" in message


def test_rule_fails_returns_a_message() -> None:
    rule = parse_rule("peak_heap:10%")
    assert rule.fails(100 * KiB, 110 * KiB) is None
    message = rule.fails(1 * MiB, 2 * MiB)
    assert message is not None
    assert "1.00 MiB" in message and "2.00 MiB" in message and "+100.0%" in message and "10%" in message
    assert parse_rule("gc_pause:5ms").fails(0.001, 0.0101) == (
        "gc_pause grew from 1.00 ms to 10.1 ms (+9.10 ms, +910.0%), more than 5.00 ms (gc_pause:5ms)"
    )


# -- compare -------------------------------------------------------------------------------------------


def rules(*exprs: str) -> list[Rule]:
    return [parse_rule(expr) for expr in exprs]


def test_compare_no_change() -> None:
    comparison = compare(
        Baseline.from_results(RESULTS), RESULTS, rules("peak_heap:0%", "peak_rss:0", "leak:0")
    )
    assert comparison.regressions == [] and comparison.new == [] and comparison.gone == []
    assert comparison.compared == 2 and comparison.warnings == []
    assert "no regressions" in format_comparison(comparison)


def test_compare_grown_test_is_a_regression() -> None:
    base = baseline(result("t::grows", peak_heap=1 * MiB), result("t::same", peak_heap=1 * MiB))
    now = [result("t::grows", peak_heap=int(1.5 * MiB)), result("t::same", peak_heap=int(1.05 * MiB))]
    comparison = compare(base, now, rules("peak_heap:10%"))
    (regression,) = comparison.regressions
    assert (regression.nodeid, regression.figure) == ("t::grows", "peak_heap")
    assert (regression.baseline, regression.now, regression.change) == (MiB, 1.5 * MiB, 0.5 * MiB)
    assert regression.rule.expr == "peak_heap:10%"
    assert regression.message.startswith("t::grows: peak_heap grew from 1.00 MiB to 1.50 MiB")


def test_compare_absolute_rules() -> None:
    base = baseline(result("t", peak_rss=10 * MiB, gc_pause_max=0.001))
    assert (
        compare(
            base, [result("t", peak_rss=14 * MiB, gc_pause_max=0.004)], rules("peak_rss:5MiB", "gc_pause:5ms")
        ).regressions
        == []
    )
    grown = compare(
        base, [result("t", peak_rss=16 * MiB, gc_pause_max=0.007)], rules("peak_rss:5MiB", "gc_pause:5ms")
    )
    assert [r.figure for r in grown.regressions] == ["peak_rss", "gc_pause"]


def test_compare_floor_ignores_small_growth_of_sizes_only() -> None:
    base = baseline(result("t", peak_heap=100, gc_pause_max=0.001))
    now = [result("t", peak_heap=60 * KiB, gc_pause_max=0.01)]
    floored = compare(base, now, rules("peak_heap:10%", "gc_pause:10%"), floor=64 * KiB)
    assert [r.figure for r in floored.regressions] == ["gc_pause"]
    unfloored = compare(base, now, rules("peak_heap:10%"), floor=0)
    assert [r.figure for r in unfloored.regressions] == ["peak_heap"]
    assert "growth under 64.0 KiB ignored" in format_comparison(floored)


@pytest.mark.parametrize(
    ("before", "after", "regresses"),
    [
        (None, 1024, True),
        (0, 1, True),
        (-512, 100, True),
        (None, 0, False),
        (0, -10, False),
        (100, 100, False),
        (100, 101, True),
        (100, None, False),
    ],
)
def test_compare_leak_zero(before: int | None, after: int | None, regresses: bool) -> None:
    comparison = compare(
        baseline(result("t", leak_per_run=before)), [result("t", leak_per_run=after)], rules("leak:0")
    )
    assert bool(comparison.regressions) is regresses
    if regresses:
        assert comparison.regressions[0].baseline == before


def test_compare_skips_figures_one_side_did_not_measure() -> None:
    base = baseline(result("t", peak_heap=None, peak_rss=1))
    comparison = compare(
        base, [result("t", peak_heap=10 * MiB, peak_rss=None)], rules("peak_heap:0", "peak_rss:0")
    )
    assert comparison.regressions == [] and comparison.compared == 1


def test_compare_new_and_gone() -> None:
    comparison = compare(
        baseline(result("t::old"), result("t::kept")), [result("t::kept"), result("t::new")], []
    )
    assert comparison.new == ["t::new"] and comparison.gone == ["t::old"] and comparison.compared == 1
    text = format_comparison(comparison)
    assert "new tests (not in the baseline): 1\n  t::new" in text
    assert "gone tests (in the baseline, not in this run): 1\n  t::old" in text


def test_compare_warns_about_another_python_or_platform() -> None:
    here = Baseline.from_results([result("t")])
    other = dataclasses.replace(here, python="3.99.0", platform="plan9-mips")
    comparison = compare(other, here, [])
    (warning,) = comparison.warnings
    assert (
        "3.99.0" in warning
        and "plan9-mips" in warning
        and here.python in warning
        and here.platform in warning
    )
    assert f"warning: {warning}" in format_comparison(comparison)
    patch = dataclasses.replace(here, python=here.python.rsplit(".", 1)[0] + ".999")
    assert compare(patch, here, []).warnings == []


def test_format_comparison_table() -> None:
    base = baseline(result("t::a", peak_heap=1 * MiB, gc_pause_max=0.001), result("t::b", leak_per_run=None))
    now = [result("t::a", peak_heap=3 * MiB, gc_pause_max=0.02), result("t::b", leak_per_run=2 * KiB)]
    text = format_comparison(compare(base, now, rules("peak_heap:10%", "gc_pause:5ms", "leak:0")))
    lines = text.splitlines()
    assert (
        lines[0]
        == "memguard: compared 2 tests with the baseline (rules: peak_heap:10%, gc_pause:5ms, leak:0)"
    )
    assert lines[1] == "3 regressions:"
    assert lines[2].split() == ["test", "figure", "baseline", "now", "change", "rule"]
    assert lines[3].split() == [
        "t::a",
        "peak_heap",
        "1.00",
        "MiB",
        "3.00",
        "MiB",
        "+2.00",
        "MiB,",
        "+200.0%",
        "peak_heap:10%",
    ]
    assert "20.0 ms" in lines[4] and "gc_pause:5ms" in lines[4]
    assert lines[5].split() == ["t::b", "leak", "-", "2.00", "KiB", "+2.00", "KiB,", "new", "leak:0"]
