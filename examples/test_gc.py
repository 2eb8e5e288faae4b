"""The garbage collector: pause limits, uncollectable objects, and running a test under a GC strategy."""

import gc

from pytest_memguard import memguard


class Node:
    def __init__(self) -> None:
        self.parent: Node | None = None
        self.children: list[Node] = []


def build_tree(width: int) -> Node:
    root = Node()
    for _ in range(width):
        child = Node()
        child.parent = root  # a reference cycle: only the collector frees it
        root.children.append(child)
    return root


# No single collection during the call may take longer than 50 ms.
@memguard.max_gc_pause("50 ms")
def test_tree_collection_is_quick() -> None:
    build_tree(1_000)
    gc.collect()


# Cycles are fine; objects the collector cannot free (gc.garbage) are not.
@memguard.no_uncollectable()
def test_cycles_are_collectable() -> None:
    build_tree(100)
    gc.collect()


# Run under a strategy of the GC optimizer; the collector's settings are restored afterwards.
@memguard.gc_strategy("high_throughput")
def test_bulk_load_under_high_throughput() -> None:
    trees = [build_tree(10) for _ in range(100)]
    assert len(trees) == 100
