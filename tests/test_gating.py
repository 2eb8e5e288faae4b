"""Baselines, regressions, reports and metrics through the plugin, serial and under xdist."""

from __future__ import annotations

import json
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pushgateway import pushgateway_url

pytest_plugins = ["pytester"]
__all__ = ["pushgateway_url"]

SUITE = """
import os
from pytest_memguard import memguard

SIZE = int(os.environ.get("GROWTH", "1"))

def test_grows():
    blocks = [bytearray(1000) for _ in range(100 * SIZE)]

def test_steady():
    blocks = [bytearray(1000) for _ in range(100)]

@memguard.no_leaks()
def test_leak_checked():
    pass
"""


def _run(pytester: pytest.Pytester, *args: str, growth: int = 1) -> pytest.RunResult:
    pytester.makepyfile(test_suite=SUITE)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GROWTH", str(growth))
        return pytester.runpytest_subprocess("-p", "no:randomly", *args)


def test_save_then_compare_unchanged_passes(pytester: pytest.Pytester) -> None:
    _run(pytester, "--memguard-save=base.json", "--memguard-heap").assert_outcomes(passed=3)
    saved = json.loads((pytester.path / "base.json").read_text())
    assert saved["schema"] == "pytest-memguard/baseline" and saved["version"] == 1
    assert set(saved["tests"]) == {
        f"test_suite.py::{name}" for name in ("test_grows", "test_steady", "test_leak_checked")
    }
    result = _run(
        pytester,
        "--memguard-compare=base.json",
        "--memguard-fail-regression=peak_heap:50%",
        "--memguard-regression-floor=64KiB",
    )
    result.assert_outcomes(passed=3)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "memguard: compared 3 tests with the baseline (rules: peak_heap:50%; growth under "
            "64.0 KiB ignored)",
            "no regressions",
        ]
    )


def test_a_rule_on_a_figure_the_baseline_lacks_is_a_warning(pytester: pytest.Pytester) -> None:
    _run(pytester, "--memguard-save=base.json").assert_outcomes(passed=3)
    result = _run(pytester, "--memguard-compare=base.json", "--memguard-fail-regression=peak_heap:50%")
    result.stdout.fnmatch_lines(["memguard: warning: the baseline base.json has no peak_heap figures*"])


def test_compare_fails_the_session_naming_the_grown_test(pytester: pytest.Pytester) -> None:
    _run(pytester, "--memguard-save=base.json", "--memguard-heap").assert_outcomes(passed=3)
    result = _run(
        pytester,
        "--memguard-compare=base.json",
        "--memguard-fail-regression=peak_heap:50%",
        "--memguard-regression-floor=64KiB",
        growth=10,
    )
    result.assert_outcomes(passed=3)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*1 regression*", "*test_suite.py::test_grows*peak_heap*peak_heap:50%*"])
    result.stdout.no_fnmatch_line("*test_steady*peak_heap:50%*")


def test_regressions_are_junit_xml_suite_properties(pytester: pytest.Pytester) -> None:
    _run(pytester, "--memguard-save=base.json", "--memguard-heap").assert_outcomes(passed=3)
    result = _run(
        pytester,
        "--memguard-compare=base.json",
        "--memguard-fail-regression=peak_heap:50%",
        "--memguard-regression-floor=64KiB",
        "--junitxml=out.xml",
        growth=10,
    )
    assert result.ret == 1
    suite = ET.parse(pytester.path / "out.xml").getroot().find("testsuite")
    assert suite is not None
    values = [p.get("value", "") for p in suite.iter("property") if p.get("name") == "memguard_regression"]
    assert len(values) == 1 and values[0].startswith("test_suite.py::test_grows: ")


def test_new_and_gone_tests_are_listed_not_failed(pytester: pytest.Pytester) -> None:
    _run(pytester, "--memguard-save=base.json").assert_outcomes(passed=3)
    pytester.makepyfile(test_suite="def test_brand_new():\n    pass\n")
    result = pytester.runpytest_subprocess(
        "--memguard-compare=base.json", "--memguard-fail-regression=peak_rss:10%"
    )
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "new tests (not in the baseline): 1",
            "  test_suite.py::test_brand_new",
            "gone tests (in the baseline, not in this run): 3",
            "  test_suite.py::test_grows",
        ]
    )


def test_regression_hook_receives_the_regressions(pytester: pytest.Pytester) -> None:
    _run(pytester, "--memguard-save=base.json", "--memguard-heap").assert_outcomes(passed=3)
    pytester.makeconftest(
        """
        def pytest_memguard_regression(regressions):
            print("HOOK", sorted({r.nodeid for r in regressions}))
        """
    )
    result = _run(
        pytester, "--memguard-compare=base.json", "--memguard-fail-regression=peak_heap:50%", "-s", growth=10
    )
    result.stdout.fnmatch_lines(["*HOOK ?'test_suite.py::test_grows'?"])


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"schema": "pytest-memguard/baseline", "version": 1, "tests": {', "*base.json*truncated*"),
        ("not json at all", "*base.json*"),
        ('{"schema": "pytest-memguard/baseline", "version": 99, "tests": {}}', "*base.json*version 99*"),
        (
            '{"schema": "something-else", "version": 1}',
            "*base.json is neither a memguard baseline nor a memguard JSON report*",
        ),
    ],
)
def test_a_bad_baseline_is_one_clear_error_before_any_test(
    pytester: pytest.Pytester, content: str, words: str
) -> None:
    (pytester.path / "base.json").write_text(content)
    result = _run(pytester, "--memguard-compare=base.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: memguard: {words}"])
    assert "Traceback" not in result.stderr.str()
    assert (pytester.path / "base.json").read_text() == content


def test_a_missing_baseline_names_the_file(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "--memguard-compare=nowhere.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: memguard: *nowhere.json*"])


@pytest.mark.parametrize(
    ("option", "words"),
    [
        ("--memguard-fail-regression=peak_heap:ten%", "*peak_heap:ten%*"),
        ("--memguard-fail-regression=nosuch:5%", "*nosuch*peak_heap*peak_rss*leak*gc_pause*"),
        ("--memguard-label=branch", "*bad label 'branch': expected NAME=VALUE*"),
        (
            "--memguard-save=missing/dir/base.json",
            "*--memguard-save: cannot write 'missing/dir/base.json': directory * does not exist*",
        ),
        ("--memguard-fail-regression=peak_rss:5%", "*--memguard-fail-regression needs a baseline*"),
    ],
)
def test_bad_gating_options_are_clear_usage_errors(
    pytester: pytest.Pytester, option: str, words: str
) -> None:
    result = _run(pytester, option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([words])
    assert "Traceback" not in result.stderr.str()


def test_json_report_and_prometheus_textfile(pytester: pytest.Pytester) -> None:
    _run(pytester, "--memguard-json=report.json", "--memguard-prometheus=metrics.prom").assert_outcomes(
        passed=3
    )
    report = json.loads((pytester.path / "report.json").read_text())
    assert report["schema"] == "pytest-memguard/report"
    by_id = {test["nodeid"]: test for test in report["tests"]}
    assert by_id["test_suite.py::test_leak_checked"]["leak_verdict"] == "ok"
    families = {
        f.name: f for f in text_string_to_metric_families((pytester.path / "metrics.prom").read_text())
    }
    rss = {s.labels["test"]: s.value for s in families["memguard_test_peak_rss_bytes"].samples}
    assert rss == {nodeid: float(test["peak_rss"]) for nodeid, test in by_id.items()}


def test_an_existing_output_file_survives_a_failed_write(pytester: pytest.Pytester) -> None:
    target = pytester.path / "report.json"
    target.mkdir()
    result = _run(pytester, "--memguard-json=report.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--memguard-json: 'report.json' is a directory*"])


def test_github_step_summary_is_appended(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = pytester.path / "summary.md"
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    _run(pytester, "--memguard").assert_outcomes(passed=3)
    text = summary.read_text()
    assert text.startswith("# earlier step\n")
    assert "test_suite.py::test_grows" in text and "|" in text


def _outputs(path: Path) -> tuple[set[str], set[tuple[str, str, bool]], set[str]]:
    report = json.loads((path / "report.json").read_text())
    tests = {test["nodeid"] for test in report["tests"]}
    checks = {
        (test["nodeid"], check["name"], check["passed"])
        for test in report["tests"]
        for check in test["checks"]
    }
    saved = set(json.loads((path / "base.json").read_text())["tests"])
    return tests, checks, saved


def test_xdist_run_reports_the_same_tests_checks_and_verdicts_as_serial(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_more="""
        from pytest_memguard import memguard

        @memguard.max_heap("1 KiB")
        def test_over():
            blocks = [bytearray(1000) for _ in range(100)]

        @memguard.max_heap("64 MiB")
        def test_under():
            pass
        """
    )
    args = (
        "--memguard",
        "--memguard-json=report.json",
        "--memguard-save=base.json",
        "--memguard-prometheus=m.prom",
    )
    _run(pytester, *args).assert_outcomes(passed=4, failed=1)
    serial = _outputs(pytester.path)
    serial_metrics = {f.name for f in text_string_to_metric_families((pytester.path / "m.prom").read_text())}
    for name in ("report.json", "base.json", "m.prom"):
        (pytester.path / name).unlink()
    result = _run(pytester, "-n", "2", *args)
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(
        ["*= memguard: largest tests =*", "5 tests measured, 1 failed a memguard check*"]
    )
    assert _outputs(pytester.path) == serial
    assert {
        f.name for f in text_string_to_metric_families((pytester.path / "m.prom").read_text())
    } == serial_metrics


def test_metrics_are_pushed_to_a_real_pushgateway(pytester: pytest.Pytester, pushgateway_url: str) -> None:
    result = _run(
        pytester,
        f"--memguard-pushgateway={pushgateway_url}",
        "--memguard-job=plugin-test",
        "--memguard-label=branch=main",
        "--memguard-json=report.json",
    )
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [f"memguard: pushed the metrics to {pushgateway_url} (job 'plugin-test') in *"]
    )
    with urllib.request.urlopen(f"{pushgateway_url}/metrics", timeout=5) as response:
        text = response.read().decode()
    report = json.loads((pytester.path / "report.json").read_text())
    expected = {test["nodeid"]: float(test["peak_rss"]) for test in report["tests"]}
    pushed = {
        sample.labels["test"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "memguard_test_peak_rss_bytes"
        for sample in family.samples
        if sample.labels.get("job") == "plugin-test" and sample.labels.get("branch") == "main"
    }
    assert pushed == expected


def test_a_pushgateway_that_is_down_is_a_warning_and_the_result_stands(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "--memguard-pushgateway=http://127.0.0.1:9")
    result.assert_outcomes(passed=3)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["memguard: warning: cannot push metrics to the Pushgateway at http://127.0.0.1:9*"]
    )


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_memory_manager_stats_and_metrics_reach_the_summary_and_the_textfile(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    pytester.makepyfile(
        test_engine="""
        def test_uses_a_pool(memory_manager):
            pool = memory_manager.get_pool("frames", 4096)
            pool.release(pool.acquire())

        def test_other():
            pass
        """
    )
    result = pytester.runpytest_subprocess("--memguard", "--memguard-prometheus=m.prom", *workers)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["memory_manager*: pool 'frames' of 4.00 KiB buffers: 1 acquired, hit rate *"]
    )
    families = {f.name: f for f in text_string_to_metric_families((pytester.path / "m.prom").read_text())}
    pools = {s.labels.get("pool") for s in families["memguard_pool_hit_ratio"].samples}
    assert pools == {"frames"}
