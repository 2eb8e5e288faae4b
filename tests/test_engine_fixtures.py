"""The engine fixtures, run as a user runs them: each with a passing and a failing case."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_memory_pool_passes_when_every_buffer_is_released(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_ok(memory_pool):
            pool = memory_pool("frames", 64, 4)
            buf = pool.acquire()
            pool.release(buf)
            with pool.buffer() as other:
                other[:2] = b"ok"
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_memory_pool_names_the_pool_and_where_each_buffer_was_acquired(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_leaky="""
        def test_leak(memory_pool):
            pool = memory_pool("frames", 64, 4)
            kept = pool.acquire()
            also = pool.acquire()
            pool.release(pool.acquire())
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "memguard: memory_pool: 2 buffers of pool 'frames' never released",
            "  acquired at test_leaky.py:3 in test_leak",
            "  acquired at test_leaky.py:4 in test_leak",
        ]
    )


def test_memory_pool_fails_on_exhaustion_unless_allowed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_exhausted(memory_pool):
            pool = memory_pool("tiny", 8, 1)
            first = pool.acquire()
            extra = pool.acquire()
            pool.release(extra)
            pool.release(first)

        def test_allowed(memory_pool):
            pool = memory_pool("tiny", 8, 1, allow_exhaustion=True)
            first = pool.acquire()
            pool.release(pool.acquire())
            pool.release(first)

        def test_raise_policy(memory_pool):
            import pytest
            from pytest_memguard.engine import PoolExhausted
            pool = memory_pool("strict", 8, 1, on_exhausted="raise", allow_exhaustion=True)
            with pool.buffer():
                with pytest.raises(PoolExhausted):
                    pool.acquire()
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "memguard: memory_pool: pool 'tiny' was exhausted once (max_objects=1, high-water mark 2)",
            "*allow_exhaustion=True*",
        ]
    )


def test_weak_cache_passes_when_values_are_released(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        class Thing:
            pass

        def test_ok(weak_cache):
            thing = Thing()
            weak_cache["a"] = thing
            assert weak_cache["a"] is thing
            del thing
            weak_cache.assert_all_released()
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_weak_cache_names_the_key_the_type_and_who_holds_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        registry="""
        handlers = []
        """,
        test_cache="""
        import registry

        class Thing:
            pass

        def test_held(weak_cache):
            thing = Thing()
            registry.handlers.append(thing)
            weak_cache["session"] = thing
            del thing
            weak_cache.assert_all_released()
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "memguard: weak_cache: 1 value still alive after a collection",
            "  key 'session': test_cache.Thing held by module registry → handlers (list) → [[]0[]]*",
        ]
    )


def test_gc_optimizer_settings_are_restored_after_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import gc

        BEFORE = gc.get_threshold()

        def test_apply(gc_optimizer):
            gc_optimizer.apply("high_throughput")
            assert gc.get_threshold() == (10_000, 20, 20)
            assert gc.get_freeze_count() > 0

        def test_after():
            assert gc.get_threshold() == BEFORE
            assert gc.get_freeze_count() == 0
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=2)


def test_gc_optimizer_unknown_strategy(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_bad(gc_optimizer):
            gc_optimizer.apply("turbo")
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*unknown GC strategy 'turbo'; valid strategies: adaptive, low_latency*"])


def test_memory_monitor_alerts_taken_pass_and_no_thread_is_left(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import threading

        def test_taken(memory_monitor):
            memory_monitor.set_alert("rss", "1 KiB")
            memory_monitor.sample_now()
            (alert,) = memory_monitor.take_alerts()
            assert alert.key == "rss"

        def test_no_thread_left():
            assert not [t for t in threading.enumerate() if t.name == "memguard-monitor"]
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=2)


def test_memory_monitor_fails_on_alerts_not_taken(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_untaken(memory_monitor):
            memory_monitor.set_alert("rss", "1 KiB")
            memory_monitor.sample_now()
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["memguard: memory_monitor: 1 alert not taken: rss * > 1.00 KiB at ??:??:??.???", "*take_alerts()*"]
    )


def test_memory_manager_is_shared_by_the_session_and_closed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import threading

        SEEN = []

        def test_one(memory_manager):
            SEEN.append(memory_manager)
            memory_manager.start_monitor()
            memory_manager.get_pool("shared", 32)

        def test_two(memory_manager):
            assert memory_manager is SEEN[0]
            assert "shared" in memory_manager.stats()["pools"]
        """,
        conftest="""
        import threading

        def pytest_unconfigure(config):
            left = [t for t in threading.enumerate() if t.name == "memguard-monitor"]
            assert not left, left
        """,
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_fixtures_are_there_without_the_rest_of_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_all(memory_pool, weak_cache, gc_optimizer, memory_monitor):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:memguard", "-p", "pytest_memguard.engine_fixtures")
    result.assert_outcomes(passed=1)


def test_loading_the_fixtures_twice_is_harmless(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_pool(memory_pool):
            pool = memory_pool("p", 8, 2)
            pool.release(pool.acquire())
        """
    )
    result = pytester.runpytest_subprocess("-p", "pytest_memguard.engine_fixtures")
    result.assert_outcomes(passed=1)
