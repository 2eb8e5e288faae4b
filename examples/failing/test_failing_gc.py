"""What GC failures look like: a long pause, and objects the collector could not free."""

import gc
import itertools

from pytest_memguard import memguard


@memguard.max_gc_pause("100 us")
def test_one_long_collection() -> None:
    nodes = [[] for _ in range(300_000)]
    for a, b in itertools.pairwise(nodes):
        a.append(b)
    gc.collect()


@memguard.no_uncollectable()
def test_saveall_fills_gc_garbage() -> None:
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        gc.collect()
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
