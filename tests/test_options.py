"""Options, ini keys, the header, the summary, loading and turning off, and reports."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

pytest_plugins = ["pytester"]

SIMPLE = """
from pytest_memguard import memguard

def test_allocates():
    blocks = [bytearray(1000) for _ in range(2000)]

def test_small():
    pass

@memguard.max_heap("64 MiB")
def test_marked():
    pass
"""


def test_memguard_prints_the_summary_of_the_largest_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SIMPLE)
    result = pytester.runpytest("--memguard", "--memguard-heap")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "memguard: measuring every test (--memguard); heap traced for every test (--memguard-heap); "
            "peak RSS by *",
            "*= memguard: largest tests =*",
            "*peak heap*peak RSS*blocks*GC max*GC runs*leak*duration*test",
            "* MiB *test_memguard_prints_the_summary_of_the_largest_tests.py::test_allocates",
            "3 tests measured, 0 failed a memguard check",
        ]
    )


def test_summary_rows_follow_memguard_top(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SIMPLE)
    result = pytester.runpytest("--memguard", "--memguard-top=1")
    result.stdout.fnmatch_lines(
        [
            "*= memguard: largest tests =*",
            "*peak heap*",
            "*::test_*",
            "3 tests measured, 0 failed a memguard check; heap not traced (add --memguard-heap)",
        ]
    )


def test_without_memguard_flag_only_marked_tests_are_measured_and_no_summary(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(SIMPLE)
    result = pytester.runpytest("--junitxml=out.xml")
    result.assert_outcomes(passed=3)
    result.stdout.no_fnmatch_line("*memguard: largest tests*")
    properties = _junit_properties(pytester)
    assert set(properties) == {"test_marked"}
    assert properties["test_marked"]["peak_heap"] is not None


def _junit_properties(pytester: pytest.Pytester) -> dict[str, dict[str, object]]:
    tree = ET.parse(pytester.path / "out.xml")
    found = {}
    for case in tree.iter("testcase"):
        for prop in case.iter("property"):
            if prop.get("name") == "memguard":
                found[case.get("name", "")] = json.loads(prop.get("value", ""))
    return found


def test_junit_xml_carries_every_measured_tests_figures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SIMPLE)
    pytester.runpytest("--memguard", "--junitxml=out.xml").assert_outcomes(passed=3)
    properties = _junit_properties(pytester)
    assert set(properties) == {"test_allocates", "test_small", "test_marked"}
    allocates = properties["test_allocates"]
    assert allocates["peak_heap"] is None  # not traced without --memguard-heap
    assert allocates["peak_rss"] is not None
    assert allocates["allocated_blocks"] is None  # counted beside the heap tracer only: it costs O(heap)
    assert properties["test_marked"]["allocated_blocks"] is not None
    assert allocates["outcome"] == "passed"
    assert properties["test_marked"]["checks"][0]["name"] == "max_heap"


@pytest.mark.parametrize(
    ("option", "words"),
    [
        (
            "--memguard-max-heap=lots",
            "--memguard-max-heap: expected a size such as 1048576 or '64 MiB', got 'lots'",
        ),
        (
            "--memguard-max-rss=-5MiB",
            "--memguard-max-rss: a size must be a finite number of bytes >= 0, got '-5MiB'",
        ),
        (
            "--memguard-max-gc-pause=soon",
            "--memguard-max-gc-pause: expected a duration such as 0.005 or '5 ms', got 'soon'",
        ),
        ("--memguard-leak-runs=1", "--memguard-leak-runs: expected a whole number >= 2, got 1"),
        ("--memguard-top=many", "--memguard-top: expected a whole number, got 'many'"),
        (
            "--memguard-alert=rss",
            "--memguard-alert: expected KEY=VALUE with KEY one of rss, heap, *, got 'rss'",
        ),
        (
            "--memguard-alert=nosuch=1",
            "--memguard-alert: unknown alert key 'nosuch'; the keys are rss, heap, *",
        ),
    ],
)
def test_bad_option_values_are_one_clear_usage_error(
    pytester: pytest.Pytester, option: str, words: str
) -> None:
    pytester.makepyfile(SIMPLE)
    result = pytester.runpytest(option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*error: argument {option.split('=')[0]}: {words}"])
    assert "Traceback" not in result.stderr.str()


def test_ini_keys_set_defaults_and_a_bad_ini_value_names_the_key(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SIMPLE)
    pytester.makeini("[pytest]\nmemguard_enable = true\nmemguard_max_heap = 1 MiB\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*= memguard: largest tests =*"])

    pytester.makeini("[pytest]\nmemguard_max_heap = lots\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: memguard: ini memguard_max_heap: expected a size such as * got 'lots'"]
    )

    pytester.makeini("[pytest]\nmemguard_max_heap = 1 GiB\n")
    result = pytester.runpytest("--memguard-max-heap=1MiB")  # the command line wins over the ini
    result.assert_outcomes(passed=2, failed=1)


def test_pyproject_ini_options_are_read(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SIMPLE)
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nmemguard_enable = "true"\nmemguard_top = "1"\n')
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*= memguard: largest tests =*"])


@pytest.mark.parametrize(
    ("marker", "words"),
    [
        (
            'memguard.max_heap("lots")',
            "max_heap='lots': expected a size such as 1048576 or '64 MiB', got 'lots'",
        ),
        ("memguard.max_rss(-1)", "max_rss=-1: a size must be a finite number of bytes >= 0, got -1"),
        (
            'memguard.gc_strategy("fastest")',
            "gc_strategy='fastest': unknown GC strategy 'fastest'; "
            "the strategies are adaptive, low_latency, high_throughput, memory_efficient",
        ),
        ("memguard.no_leaks(runs=1)", "runs=1: expected a whole number >= 2, got 1"),
        (
            "pytest.mark.memguard(max_heapp='1 MiB')",
            "max_heapp='1 MiB': unknown keyword max_heapp='1 MiB'; *",
        ),
        (
            'pytest.mark.memguard("1 MiB")',
            "memguard takes keyword arguments only, got positional ('1 MiB',)*",
        ),
        ('memguard.alerts(rss="huge")', "alerts={'rss': 'huge'}: bad value 'huge' for alert key 'rss'*"),
    ],
)
def test_bad_marker_values_are_an_error_naming_test_marker_and_value(
    pytester: pytest.Pytester, marker: str, words: str
) -> None:
    pytester.makepyfile(
        f"""
        import pytest
        from pytest_memguard import memguard

        @{marker}
        def test_bad():
            pass

        def test_good():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([f"memguard: bad memguard marker on *::test_bad: {words}"])


def test_marker_is_registered_for_strict_markers_and_selectable(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SIMPLE)
    result = pytester.runpytest("--strict-markers", "-m", "memguard")
    result.assert_outcomes(passed=1, deselected=2)
    pytester.runpytest("--markers").stdout.fnmatch_lines(["@pytest.mark.memguard(**checks): memory checks*"])


def test_help_lists_the_memguard_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        ["memory checks (pytest-memguard):", "*--memguard *", "*--memguard-max-heap=SIZE*"]
    )


def test_plugin_can_be_turned_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.memguard(max_heap=1)
        def test_would_fail():
            blocks = [bytearray(1000) for _ in range(100)]
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:memguard", "-W", "ignore::pytest.PytestUnknownMarkWarning"
    )
    result.assert_outcomes(passed=1)


def test_plugin_loads_by_name_with_autoload_disabled(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(SIMPLE)
    result = pytester.runpytest_subprocess("-p", "memguard", "--memguard")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*= memguard: largest tests =*"])


def test_classes_parametrized_and_unittest_tests_are_checked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import unittest
        import pytest
        from pytest_memguard import memguard

        class TestPlain:
            @memguard.max_heap("64 KiB")
            def test_method(self):
                blocks = [bytearray(1000) for _ in range(100)]

        @memguard.max_heap("64 KiB")
        @pytest.mark.parametrize("count", [1, 1000])
        def test_param(count):
            blocks = [bytearray(1000) for _ in range(count)]

        @memguard.max_heap("64 KiB")
        class TestUnit(unittest.TestCase):
            def test_unittest(self):
                blocks = [bytearray(1000) for _ in range(100)]
        """
    )
    result = pytester.runpytest("-rf")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines_random(
        [
            "FAILED *::TestPlain::test_method*",
            "FAILED *::test_param[[]1000[]]*",
            "FAILED *::TestUnit::test_unittest*",
        ]
    )


def test_under_xdist_workers_enforce_markers_and_the_controller_summarises(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        SIMPLE
        + """
@memguard.max_heap("64 KiB")
def test_over():
    blocks = [bytearray(1000) for _ in range(100)]
"""
    )
    result = pytester.runpytest_subprocess("-n", "2", "--memguard", "--memguard-heap")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*memguard: max_heap: peak heap * > 64.0 KiB*",
            "*= memguard: largest tests =*",
            "4 tests measured, 1 failed a memguard check",
        ]
    )
