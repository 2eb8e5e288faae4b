"""no_leaks and max_leak: re-runs of the test body, the verdict, the evidence."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_leak_of_python_objects_is_found_with_sites_types_and_chain(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_leaky="""
        from pytest_memguard import memguard

        class Session:
            def __init__(self):
                self.payload = bytearray(1024)

        _sessions = []

        @memguard.no_leaks()
        def test_leaky():
            _sessions.append(Session())
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "memguard: no_leaks: heap grew * KiB per run in each of 3 runs (noise floor 512 B/run)",
            "*heap growth per run: * KiB, * KiB, * KiB",
            "*growth by allocation site:",
            "*test_leaky.py:5: * KiB/run (* blocks/run)  self.payload = bytearray(1024)",
            "*objects left behind per run, by type:",
            "*Session: +1",
            "*one of them is kept alive by:",
            "*module test_leaky → _sessions (list) → ?*? → <Session>*",
        ]
    )


def test_clean_test_passes_and_reports_no_leak(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import functools, re, warnings, logging
        from pytest_memguard import memguard

        @functools.lru_cache(maxsize=128)
        def parse(text):
            return text.split()

        @memguard.no_leaks()
        def test_clean(caplog):
            parse("a b c")
            re.compile(r"(\\d+)-(\\d+)")
            warnings.warn("once", UserWarning)
            logging.getLogger("a.new.logger").warning("logged")
            cycle = []
            cycle.append(cycle)
            print("captured output")
            assert "logged" in caplog.text
        """
    )
    result = pytester.runpytest_subprocess("--memguard", "-W", "default")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*memguard: largest tests*", "* none *test_clean_test_passes*::test_clean"])


def test_max_leak_tolerates_growth_under_its_limit(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_memguard import memguard

        _kept = []

        @memguard.max_leak("64 KiB")
        def test_small_growth():
            _kept.append(bytearray(1024))

        @memguard.max_leak("512 B")
        def test_over_the_limit():
            _kept.append(bytearray(4096))
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["memguard: max_leak: heap grew * KiB per run in each of 3 runs (limit 512 B/run)"]
    )


def test_native_leak_is_found_with_native_true(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import ctypes
        from pytest_memguard import memguard

        libc = ctypes.CDLL(None)
        libc.malloc.restype = ctypes.c_void_p
        libc.malloc.argtypes = [ctypes.c_size_t]
        _pointers = []

        @memguard.no_leaks(native=True)
        def test_native_leak():
            _pointers.append(libc.malloc(1024 * 1024))

        @memguard.no_leaks(native=True)
        def test_native_clean():
            libc.free(ctypes.c_void_p(libc.malloc(1024 * 1024)))
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "memguard: no_leaks: native memory (*) grew 1.0? MiB per run in each of 3 runs "
            "(noise floor 64.0 KiB/run)"
        ]
    )


def test_an_extra_run_that_raises_fails_the_test_with_that_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_memguard import memguard

        _calls = []

        @memguard.no_leaks(warmups=0)
        def test_only_once():
            _calls.append(1)
            assert len(_calls) == 1, "ran twice"
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*AssertionError: ran twice*", "*an extra run of the test body (for the leak check)*"]
    )


def test_leaks_option_checks_every_test_and_runs_options_apply(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_memguard import memguard

        _kept = []
        _runs = []

        def test_leaky():
            _kept.append(bytearray(2048))

        def test_counts_runs():
            _runs.append(1)

        @memguard.skip()
        def test_leaky_but_skipped():
            _kept.append(bytearray(2048))

        def test_z_runs_were_counted():
            assert len(_runs) == 1 + 2 + 4  # normal run, warm-ups, measured runs
        """
    )
    result = pytester.runpytest_subprocess(
        "--memguard-leaks", "--memguard-leak-runs=4", "--memguard-leak-warmups=2", "-p", "no:randomly"
    )
    result.assert_outcomes(failed=1, passed=3)
    result.stdout.fnmatch_lines(
        ["memguard: no_leaks: heap grew * in each of 4 runs *", "FAILED *::test_leaky*"]
    )


def test_failing_test_is_not_rerun(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_memguard import memguard

        _runs = []

        @memguard.no_leaks()
        def test_fails():
            _runs.append(1)
            assert len(_runs) > 1, f"ran {len(_runs)} time(s)"
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: ran 1 time(s)*"])
    result.stdout.no_fnmatch_line("*an extra run*")
