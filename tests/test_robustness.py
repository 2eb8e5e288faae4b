"""Internal errors, tests that change interpreter state, and threads: the user's results always stand."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_an_internal_error_while_measuring_is_a_warning_naming_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        from pytest_memguard import measure

        def broken_stop(self):
            raise RuntimeError("probe exploded")

        measure.Meter.stop = broken_stop
        """
    )
    pytester.makepyfile(
        """
        from pytest_memguard import memguard

        @memguard.max_heap("1 KiB")
        def test_would_fail_the_check():
            blocks = [bytearray(1000) for _ in range(100)]

        @memguard.max_heap("1 KiB")
        def test_fails_on_its_own():
            assert False, "the test's own failure"

        import gc, tracemalloc, pytest

        @pytest.fixture
        def nothing_left():  # set up outside the call, where memguard has nothing installed
            assert not tracemalloc.is_tracing() and gc.callbacks == []

        def test_nothing_left_tracing(nothing_left):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-W", "error", "--memguard")
    result.assert_outcomes(passed=2, failed=1, warnings=3)
    result.stdout.fnmatch_lines(["*AssertionError: the test's own failure"])
    result.stdout.fnmatch_lines(
        [
            "*MemguardWarning: memguard: measuring failed for *::test_would_fail_the_check: "
            "RuntimeError: probe exploded"
        ]
    )
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


def test_a_broken_result_hook_is_a_warning(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        def pytest_memguard_test_result(item, result):
            raise ValueError("hook bug")
        """
    )
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest_subprocess("--memguard")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        ["*memguard: the pytest_memguard_test_result hook failed for *::test_ok: *hook bug"]
    )


def test_the_result_hook_sees_figures_and_verdicts(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        def pytest_memguard_test_result(item, result):
            checks = [(c.name, c.passed) for c in result.checks]
            print("RESULT", item.name, result.peak_heap is not None, checks)
        """
    )
    pytester.makepyfile(
        """
        from pytest_memguard import memguard

        @memguard.max_heap("1 KiB")
        def test_over():
            blocks = [bytearray(1000) for _ in range(100)]
        """
    )
    result = pytester.runpytest_subprocess("-s")
    result.stdout.fnmatch_lines(["*RESULT test_over True ?('max_heap', False)?"])


def test_a_test_that_stops_tracemalloc_or_changes_gc_breaks_nothing_later(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import gc
        import tracemalloc
        from pytest_memguard import memguard

        THRESHOLDS = gc.get_threshold()

        @memguard.max_heap("64 MiB")
        def test_stops_tracemalloc():
            tracemalloc.stop()

        @memguard.max_gc_pause("10 s")
        def test_changes_the_collector():
            gc.set_threshold(5, 5, 5)
            gc.set_debug(gc.DEBUG_STATS)
            gc.callbacks.clear()
            gc.set_debug(0)

        @memguard.max_heap("1 KiB")
        def test_later_check_still_works():
            blocks = [bytearray(1000) for _ in range(100)]

        def test_memguard_left_nothing_running():
            assert not tracemalloc.is_tracing()
            assert gc.callbacks == []
        """
    )
    result = pytester.runpytest_subprocess("--junitxml=out.xml", "-p", "no:randomly")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["FAILED *::test_later_check_still_works*"])
    xml = (pytester.path / "out.xml").read_text()
    assert "the test stopped tracemalloc: peak heap not measured" in xml
    assert "the test removed memguard" in xml


def test_no_thread_is_left_after_the_session(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import threading

        def pytest_unconfigure(config):
            print("THREADS", sorted(t.name for t in threading.enumerate()))
        """
    )
    pytester.makepyfile(
        """
        from pytest_memguard import memguard

        @memguard.alerts(threads=1000)
        @memguard.max_heap("64 MiB")
        def test_monitor_and_watcher():
            pass

        def test_fixtures(memory_monitor, memory_manager, gc_optimizer):
            memory_manager.start_monitor()
            memory_monitor.sample_now()
        """
    )
    result = pytester.runpytest_subprocess("--memguard", "-s")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["THREADS ['MainThread']"])
