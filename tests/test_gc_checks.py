"""max_gc_pause and no_uncollectable."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_max_gc_pause_fails_when_a_collection_is_slower_than_the_limit(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import gc
        from pytest_memguard import memguard

        @memguard.max_gc_pause("1 us")
        def test_slow_collection():
            nodes = [[] for _ in range(200_000)]
            for a, b in zip(nodes, nodes[1:]):
                a.append(b)
            gc.collect()
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "memguard: max_gc_pause: longest GC pause * > 1 us",
            "*collections during the call: gen0: *, gen1: *, gen2: *",
        ]
    )


def test_max_gc_pause_passes_under_the_limit(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import gc
        from pytest_memguard import memguard

        @memguard.max_gc_pause("30 s")
        def test_quick():
            gc.collect()
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_no_uncollectable_fails_when_gc_garbage_grows(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import gc
        from pytest_memguard import memguard

        @memguard.no_uncollectable()
        def test_saveall():
            gc.set_debug(gc.DEBUG_SAVEALL)
            try:
                cycle = []
                cycle.append(cycle)
                del cycle
                gc.collect()
            finally:
                gc.set_debug(0)
                gc.garbage.clear()

        def test_later_tests_are_unaffected():
            assert gc.get_debug() == 0
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        ["memguard: no_uncollectable: the collector found * uncollectable object(s); gc.garbage grew by *"]
    )


def test_no_uncollectable_passes_for_collectable_cycles(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import gc
        from pytest_memguard import memguard

        @memguard.no_uncollectable()
        def test_cycles():
            cycle = []
            cycle.append(cycle)
            del cycle
            gc.collect()
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_disabled_gc_is_noted_and_does_not_break_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import gc
        from pytest_memguard import memguard

        @memguard.max_gc_pause("30 s")
        def test_disables_gc():
            gc.disable()
            [[] for _ in range(1000)]

        @memguard.max_gc_pause("30 s")
        def test_later_test_still_measured():
            gc.enable()
            gc.collect()
        """
    )
    result = pytester.runpytest_subprocess("--junitxml=out.xml", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    assert "the collector was disabled during the call" in (pytester.path / "out.xml").read_text()
