"""Thread safety: 8 threads x MEMGUARD_STRESS_OPS operations (default 100,000) on a pool, cache, observer.

Each test checks invariants that hold whatever the interleaving: no buffer is handed to two threads at
once, none is lost, the counters add up, and no thread raised.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
from collections.abc import Callable

import pytest

from pytest_memguard.engine import MemoryPool, WeakCache, WeakObserver, WeakReferenceManager

THREADS = 8
OPS = int(os.environ.get("MEMGUARD_STRESS_OPS", "100000"))


@pytest.fixture(autouse=True)
def _switch_often() -> object:
    # Fifty times more thread switches than the default 5 ms interval, so interleavings actually happen.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(previous)


def run_threads(work: Callable[[int], None]) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def body(index: int) -> None:
        try:
            start.wait()
            work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_pool_under_threads() -> None:
    pool = MemoryPool("stress", 64, 6)  # fewer buffers than threads: the extra-buffer path runs too
    zeros = bytes(16)

    def work(index: int) -> None:
        mark = index.to_bytes(8, "little")
        for n in range(OPS):
            buf = pool.acquire()
            assert buf[:16] == zeros, "a buffer came back dirty or was shared"
            buf[:8] = mark
            buf[8:16] = n.to_bytes(8, "little")
            assert buf[:8] == mark, "two threads held the same buffer"
            pool.release(buf)

    run_threads(work)
    stats = pool.stats()
    total = THREADS * OPS
    assert stats.acquisitions == stats.releases == total
    assert stats.hits + stats.misses == total
    assert stats.outstanding == 0
    assert stats.size <= 6 and stats.free == stats.size
    assert stats.high_water <= THREADS
    assert len({id(b) for b in pool._free}) == stats.size
    assert all(bytes(b) == bytes(64) for b in pool._free)


class Value:
    __slots__ = ("__weakref__", "key")

    def __init__(self, key: int) -> None:
        self.key = key


def test_cache_under_threads() -> None:
    evicted = itertools.count()
    cache: WeakCache[int, Value] = WeakCache(max_size=32, on_evict=lambda k, v: next(evicted))
    gets = itertools.count()

    def work(index: int) -> None:
        keep: list[Value] = []
        for n in range(OPS):
            key = (n * 7 + index * 13) % 64
            if n % 3:
                next(gets)
                value = cache.get(key)
                assert value is None or value.key == key, "a value came back under another key"
            else:
                value = Value(key)
                cache[key] = value
                keep.append(value)
                if len(keep) > 8:
                    del keep[0]  # the dropped value dies: its entry must go

    run_threads(work)
    stats = cache.stats()
    assert stats.hits + stats.misses == next(gets)
    assert stats.evictions == next(evicted)
    assert stats.size == len(cache) <= 32
    assert stats.collected > 0
    assert all(value.key == key for key, value in cache.items())


def test_observer_under_threads() -> None:
    subject: WeakObserver[int] = WeakObserver()

    class Counter:
        def __init__(self) -> None:
            self.calls = itertools.count()

        def __call__(self, value: int) -> None:
            next(self.calls)

    steady = [Counter() for _ in range(2)]
    for counter in steady:
        subject.subscribe(counter)
    notified = itertools.count()

    def work(index: int) -> None:
        for n in range(OPS):
            if n % 2:
                transient = Counter()
                subject.subscribe(transient)
                del transient  # collected at once: pruned on the next call
            else:
                assert subject.notify(n) == []
                next(notified)

    run_threads(work)
    total = next(notified)
    assert [next(counter.calls) for counter in steady] == [total, total]
    assert len(subject) == len(steady)


def test_weak_reference_manager_under_threads() -> None:
    manager = WeakReferenceManager()
    callbacks = itertools.count()
    ops = max(OPS // 10, 1)  # each track() reads a frame and the clock: a tenth keeps this under a second

    def work(index: int) -> None:
        keep: list[Value] = []
        for n in range(ops):
            value = Value(n)
            manager.track(value, callback=lambda ref: next(callbacks))
            if n % 2:
                keep.append(value)
            del value

    run_threads(work)
    stats = manager.stats()
    total = THREADS * ops
    assert stats.total == total
    assert stats.active == 0  # every thread's keep list is gone
    assert stats.cleaned == total == next(callbacks)
