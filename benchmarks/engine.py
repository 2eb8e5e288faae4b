"""Benchmark the engine's hot paths against what a user would write without it.

Run ``python benchmarks/engine.py``. Every comparison is measured side by side in the same run, each
figure the median of several ``timeit`` repeats, and printed as a ratio with PASS or MISS against the
engine's targets. ``--quick`` runs fewer operations (for a smoke test; the figures are noisier).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import timeit
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from pytest_memguard.engine import MemoryPool, WeakCache

KiB = 1024
MiB = 1024 * KiB
PAYLOAD = b"\xab" * 64  # the same write on both sides: 64 bytes at the start of the buffer


class Value:
    __slots__ = ("__weakref__", "n")

    def __init__(self, n: int) -> None:
        self.n = n


@dataclass
class Row:
    what: str
    ours: float
    theirs: float
    target: float | None
    note: str = ""
    ratio: float = 0.0

    def __post_init__(self) -> None:
        if not self.ratio:
            self.ratio = self.ours / self.theirs

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "-"
        return "PASS" if self.ratio <= self.target else "MISS"


def side_by_side(
    ours: Callable[[], object], theirs: Callable[[], object], number: int, repeat: int
) -> tuple[float, float, float]:
    """Per-call medians of both, timed alternately, and the median of the per-repeat ratios.

    Alternating and taking the ratio within each repeat keeps a busy machine's drift out of the ratio.
    """
    ours_timer, theirs_timer = timeit.Timer(ours), timeit.Timer(theirs)
    mine: list[float] = []
    other: list[float] = []
    for _ in range(repeat):
        mine.append(ours_timer.timeit(number) / number)
        other.append(theirs_timer.timeit(number) / number)
    ratio = statistics.median(a / b for a, b in zip(mine, other, strict=True))
    return statistics.median(mine), statistics.median(other), ratio


def pooled_op(size: int, zero: bool) -> Callable[[], None]:
    """acquire + write + release on a pool of ``size``-byte buffers."""
    pool = MemoryPool(f"bench-{size}-{zero}", size, 16, zero_on_release=zero)
    acquire, release = pool.acquire, pool.release

    def pooled() -> None:
        buf = acquire()
        buf[:64] = PAYLOAD
        release(buf)

    pooled()
    return pooled


def fresh_op(size: int) -> Callable[[], None]:
    """bytearray + the same write: what the pool replaces."""

    def fresh() -> None:
        buf = bytearray(size)
        buf[:64] = PAYLOAD

    return fresh


def pool_of(buffers: int) -> tuple[Callable[[], None], list[memoryview]]:
    """acquire + release in a pool of ``buffers`` buffers, all but one of them outstanding."""
    pool = MemoryPool(f"bench-{buffers}", 64, buffers)
    held = [pool.acquire() for _ in range(buffers - 1)]
    acquire, release = pool.acquire, pool.release

    def cycle() -> None:
        release(acquire())

    cycle()
    return cycle, held


def cache_lookups(number: int, repeat: int) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    values = [Value(i) for i in range(10_000)]
    cache: WeakCache[int, Value] = WeakCache(max_size=10_000)
    wvd: weakref.WeakValueDictionary[int, Value] = weakref.WeakValueDictionary()
    lru: OrderedDict[int, Value] = OrderedDict()
    lock = threading.Lock()
    for value in values:
        cache[value.n] = value
        wvd[value.n] = value
        lru[value.n] = value
    get = cache.get

    def ours() -> None:
        get(4242)

    def weak_dict() -> None:
        wvd[4242]

    def locked_lru() -> None:
        with lock:
            lru[4242]
            lru.move_to_end(4242)

    return side_by_side(ours, weak_dict, number, repeat), side_by_side(ours, locked_lru, number, repeat)


def inserts(count: int) -> Callable[[], None]:
    """``count`` new keys into a cache bounded at 10,000 entries; time it and divide by ``count``."""
    values = [Value(i) for i in range(20_000)]

    def run() -> None:
        cache: WeakCache[int, Value] = WeakCache(max_size=10_000)
        put = cache.set
        for i in range(count):
            put(i, values[i % 20_000])

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer operations: a smoke test")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    repeat = 3 if args.quick else 9
    rows: list[Row] = []

    sizes = ((4 * KiB, "4 KiB"), (64 * KiB, "64 KiB"), (1 * MiB, "1 MiB"))
    for size, label in sizes:
        number = (20_000 if size < MiB else 2_000) // scale
        for zero in (True, False):
            ours, theirs, ratio = side_by_side(pooled_op(size, zero), fresh_op(size), number, repeat)
            rows.append(
                Row(
                    f"pool acquire+write+release vs bytearray({label})+write"
                    + ("" if zero else ", zero_on_release=False"),
                    ours,
                    theirs,
                    1.0 if size >= 64 * KiB else None,
                    "target: beats allocation at >= 64 KiB" if size >= 64 * KiB else "",
                    ratio,
                )
            )
    for zero in (True, False):
        ours, theirs, ratio = side_by_side(
            pooled_op(MiB, zero), pooled_op(4 * KiB, zero), 2_000 // scale, repeat
        )
        rows.append(
            Row(
                "pool op at 1 MiB vs at 4 KiB" + ("" if zero else ", zero_on_release=False"),
                ours,
                theirs,
                1.3,
                "flat across sizes" + ("; zeroing is O(size)" if zero else ""),
                ratio,
            )
        )

    (big, held_big), (small, held_small) = pool_of(100_000), pool_of(10)
    ours, theirs, ratio = side_by_side(big, small, 100_000 // scale, repeat)
    rows.append(Row("acquire+release: pool of 100,000 vs pool of 10", ours, theirs, 1.3, "O(1)", ratio))
    del held_big, held_small

    weak_dict, locked = cache_lookups(200_000 // scale, repeat)
    rows.append(Row("WeakCache hit vs WeakValueDictionary lookup", *weak_dict[:2], 3.0, "", weak_dict[2]))
    rows.append(Row("WeakCache hit vs OrderedDict LRU behind a Lock", *locked[:2], None, "", locked[2]))

    many, fewer = 1_000_000 // scale, 100_000 // scale
    ours, theirs, ratio = side_by_side(inserts(many), inserts(fewer), 1, max(repeat // 2, 3))
    rows.append(
        Row(
            "insert into a 10,000-bounded cache: 1,000,000 vs 100,000 (per insert)",
            ours / many,
            theirs / fewer,
            1.3,
            "",
            ratio * fewer / many,
        )
    )

    width = max(len(row.what) for row in rows)
    print(f"python {sys.version.split()[0]}; medians of {repeat} repeats; ours/theirs per operation")
    print(f"{'comparison':<{width}}  {'ours':>10}  {'theirs':>10}  {'ratio':>6}  {'target':>7}  verdict")
    for row in rows:
        target = f"<= {row.target:g}" if row.target is not None else ""
        print(
            f"{row.what:<{width}}  {row.ours * 1e9:>8.0f}ns  {row.theirs * 1e9:>8.0f}ns  "
            f"{row.ratio:>6.2f}  {target:>7}  {row.verdict:<4}  {row.note}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
