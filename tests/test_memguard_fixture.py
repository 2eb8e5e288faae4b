"""The memguard fixture: track, assert_collected, measure, heap."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_tracked_object_still_alive_fails_with_its_reference_chain(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_registry="""
        class Handler:
            pass

        _handlers = []

        def test_leaks_handler(memguard):
            handler = Handler()
            memguard.track(handler, name="the handler")
            _handlers.append(handler)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "memguard: track: 1 tracked object(s) still alive after the test",
            "*<Handler> 'the handler' is still alive, held by:",
            "*module test_registry → _handlers (list) → ?0? → <Handler>*",
        ]
    )


def test_tracked_object_that_is_freed_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        class Handler:
            pass

        def test_frees_handler(memguard):
            handler = Handler()
            memguard.track(handler)
            cycle = [handler]
            handler.cycle = cycle
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_assert_collected_fails_inside_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        class Node:
            pass

        _cache = {}

        def test_assert_collected(memguard):
            kept, dropped = Node(), Node()
            kept_handle, dropped_handle = memguard.track(kept), memguard.track(dropped)
            _cache["k"] = kept
            del kept, dropped
            memguard.assert_collected(dropped_handle)
            memguard.assert_collected(kept_handle)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*memguard: track: 1 tracked object(s) still alive after a collection",
            "*module test_assert_collected_fails_inside_the_test → _cache (dict) → ?'k'? → <Node>*",
        ]
    )


def test_tracking_an_object_without_weakref_support_says_what_to_do(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_track_list(memguard):
            memguard.track([1, 2, 3])
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*TypeError: memguard.track: a list cannot be weakly referenced*track an object that owns it*"]
    )


def test_measure_reports_the_block_figures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_measure(memguard):
            with memguard.measure() as m:
                blocks = [bytearray(1024) for _ in range(1000)]
                del blocks
            assert m.peak_heap >= 1000 * 1024
            assert m.retained_heap < 64 * 1024
            assert m.duration > 0
            assert len(m.gc_collections) == 3
            assert m.gc_pause_max >= 0

        def test_heap_is_traced_while_the_fixture_is_used(memguard):
            before = memguard.heap()
            kept = bytearray(1024 * 1024)
            assert memguard.heap() - before >= 1024 * 1024
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=2)


def test_nested_measure_does_not_lose_the_outer_peak(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_nested(memguard):
            with memguard.measure() as outer:
                big = bytearray(4 * 1024 * 1024)
                del big
                with memguard.measure() as inner:
                    small = bytearray(1024)
            assert outer.peak_heap >= 0.99 * 4 * 1024 * 1024
            assert outer.peak_rss >= inner.peak_rss
            assert inner.peak_heap < 1024 * 1024
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
