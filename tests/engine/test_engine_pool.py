"""MemoryPool: O(1) acquire/release, zeroing, misuse, exhaustion policies, alignment, statistics."""

from __future__ import annotations

import ctypes
import threading

import pytest

from pytest_memguard.engine import MemoryPool, PoolError, PoolExhausted


def address(buf: memoryview) -> int:
    return ctypes.addressof(ctypes.c_char.from_buffer(buf))


def test_buffers_are_writable_and_of_the_object_size() -> None:
    pool = MemoryPool("p", 100, 4)
    buf = pool.acquire()
    assert len(buf) == 100
    assert not buf.readonly
    buf[:5] = b"hello"
    assert bytes(buf[:5]) == b"hello"
    pool.release(buf)


def test_preallocates_a_quarter_up_to_one_hundred() -> None:
    assert MemoryPool("small", 8, 40).stats().size == 10
    assert MemoryPool("large", 8, 10_000).stats().size == 100
    assert MemoryPool("tiny", 8, 3).stats().size == 0


def test_a_released_buffer_comes_back_all_zeros() -> None:
    pool = MemoryPool("secret", 4096, 1)
    buf = pool.acquire()
    buf[:] = b"\xff" * 4096
    pool.release(buf)
    again = pool.acquire()
    assert again is buf
    assert bytes(again) == bytes(4096)


def test_zero_on_release_false_keeps_the_contents() -> None:
    pool = MemoryPool("fast", 16, 1, zero_on_release=False)
    buf = pool.acquire()
    buf[:4] = b"data"
    pool.release(buf)
    assert bytes(pool.acquire()[:4]) == b"data"


def test_double_release_raises_and_never_lists_a_buffer_twice() -> None:
    pool = MemoryPool("p", 8, 2)
    buf = pool.acquire()
    pool.release(buf)
    with pytest.raises(PoolError, match="released twice"):
        pool.release(buf)
    first, second = pool.acquire(), pool.acquire()
    assert first is not second
    assert pool.stats().releases == 1
    pool.release(first)
    pool.release(second)


def test_foreign_release_raises() -> None:
    pool = MemoryPool("p", 8, 2)
    other = MemoryPool("q", 8, 2)
    with pytest.raises(PoolError, match="never handed out"):
        pool.release(memoryview(bytearray(8)))
    buf = other.acquire()
    with pytest.raises(PoolError, match="never handed out"):
        pool.release(buf)
    with pytest.raises(PoolError):
        pool.release(buf[:4])
    assert issubclass(PoolError, ValueError)
    other.release(buf)


def test_allocate_on_exhaustion_hands_out_extras_that_are_dropped() -> None:
    pool = MemoryPool("p", 8, 2)
    first, second = pool.acquire(), pool.acquire()
    extra = pool.acquire()
    stats = pool.stats()
    assert (stats.exhaustions, stats.outstanding, stats.size, stats.high_water) == (1, 3, 2, 3)
    extra[:1] = b"x"
    pool.release(extra)
    assert bytes(extra) == bytes(8)
    with pytest.raises(PoolError):
        pool.release(extra)
    pool.release(first)
    pool.release(second)
    stats = pool.stats()
    assert (stats.outstanding, stats.free, stats.size) == (0, 2, 2)


def test_raise_on_exhaustion() -> None:
    pool = MemoryPool("p", 8, 1, on_exhausted="raise")
    buf = pool.acquire()
    with pytest.raises(PoolExhausted, match="'p'"):
        pool.acquire()
    assert pool.stats().exhaustions == 1
    pool.release(buf)
    pool.release(pool.acquire())


def test_block_times_out() -> None:
    pool = MemoryPool("p", 8, 1, on_exhausted="block", block_timeout=0.0)
    buf = pool.acquire()
    with pytest.raises(PoolExhausted, match="within"):
        pool.acquire()
    pool.release(buf)


def test_block_waits_for_a_release() -> None:
    pool = MemoryPool("p", 8, 1, on_exhausted="block")
    buf = pool.acquire()
    got: list[memoryview] = []
    waiting = threading.Event()

    def taker() -> None:
        waiting.set()
        got.append(pool.acquire())

    thread = threading.Thread(target=taker)
    thread.start()
    waiting.wait()
    pool.release(buf)
    thread.join()
    assert got == [buf]
    pool.release(got[0])


def test_alignment() -> None:
    pool = MemoryPool("aligned", 100, 8, alignment=64)
    bufs = [pool.acquire() for _ in range(8)]
    assert all(address(b) % 64 == 0 and len(b) == 100 for b in bufs)
    for buf in bufs:
        pool.release(buf)


def test_statistics_add_up() -> None:
    pool = MemoryPool("p", 8, 8)
    assert pool.stats().hit_rate == 0.0
    bufs = [pool.acquire() for _ in range(4)]
    for buf in bufs:
        pool.release(buf)
    stats = pool.stats()
    assert stats.hits + stats.misses == stats.acquisitions == 4
    assert stats.releases == 4
    assert stats.misses == 2  # two preallocated, then grown one at a time
    assert stats.hit_rate == 0.5
    assert stats.alloc_seconds >= 0.0


def test_growth_factor_grows_in_batches() -> None:
    pool = MemoryPool("p", 8, 100, growth_factor=2.0)
    bufs = [pool.acquire() for _ in range(26)]
    stats = pool.stats()
    assert stats.size == 50
    assert stats.misses == 1
    for buf in bufs:
        pool.release(buf)


def test_buffer_context_manager_releases_on_error() -> None:
    pool = MemoryPool("p", 8, 2)
    with pytest.raises(RuntimeError), pool.buffer() as buf:
        buf[:1] = b"x"
        raise RuntimeError
    assert pool.outstanding == 0
    assert pool.free == 1


def test_track_acquirers_records_the_caller() -> None:
    pool = MemoryPool("p", 8, 2, track_acquirers=True)
    buf = pool.acquire()
    (site,) = pool.outstanding_sites()
    assert site is not None
    assert site[-1].name == "test_track_acquirers_records_the_caller"
    pool.release(buf)
    assert pool.outstanding_sites() == []
    untracked = MemoryPool("q", 8, 2)
    other = untracked.acquire()
    assert untracked.outstanding_sites() == [None]
    untracked.release(other)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"object_size": 0}, "object_size"),
        ({"max_objects": 0}, "max_objects"),
        ({"alignment": 48}, "power of two"),
        ({"on_exhausted": "wait"}, "on_exhausted"),
        ({"block_timeout": -1}, "block_timeout"),
        ({"growth_factor": 0.5}, "growth_factor"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], word: str) -> None:
    args: dict[str, object] = {"object_size": 8, "max_objects": 4, **kwargs}
    with pytest.raises(ValueError, match=word):
        MemoryPool("p", **args)  # type: ignore[arg-type]
