"""The alerts and gc_strategy markers, the --memguard-alert option and the pytest_memguard_alert hook."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_alerts_marker_fails_with_figure_threshold_and_time(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_memguard import memguard

        @memguard.alerts(rss="1 MiB")
        def test_over_rss():
            pass
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "memguard: alerts: the memory monitor raised 1 alert(s) during the call",
            "*rss * MiB > 1.00 MiB at ??:??:??.??? (* s into the call)",
        ]
    )


def test_alerts_marker_passes_under_its_thresholds(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_memguard import memguard

        @memguard.alerts(rss="1 TiB", threads=1000)
        def test_quiet():
            pass
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_alert_option_applies_to_every_test_and_hook_runs_on_the_main_thread(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
        import threading

        def pytest_memguard_alert(alert):
            print("ALERT", alert.key, threading.current_thread() is threading.main_thread())
        """
    )
    pytester.makepyfile(
        """
        from pytest_memguard import memguard

        def test_one():
            pass

        @memguard.skip()
        def test_skipped_checks():
            pass
        """
    )
    result = pytester.runpytest_subprocess("--memguard-alert=threads=1", "-s", "-p", "no:randomly")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*ALERT threads True*", "*threads * > 1 at *"])


def test_gc_strategy_runs_the_test_under_it_and_restores_the_settings(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import gc
        from pytest_memguard import memguard

        BEFORE = gc.get_threshold()

        @memguard.gc_strategy("high_throughput")
        def test_under_strategy():
            assert gc.get_threshold() != BEFORE

        def test_after():
            assert gc.get_threshold() == BEFORE
        """
    )
    pytester.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=2)
