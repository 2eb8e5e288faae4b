"""What a max_heap failure looks like: the figure, the limit, and the allocation sites near the peak."""

from pytest_memguard import memguard


def load_everything() -> list[bytes]:
    return [bytes(1024) for _ in range(20_000)]  # ~20 MiB at once


@memguard.max_heap("4 MiB")
def test_loads_too_much_at_once() -> None:
    assert len(load_everything()) == 20_000


@memguard.max_rss("8 MiB")
def test_resident_memory_over_the_limit() -> None:
    buffer = bytearray(64 * 1024 * 1024)
    assert buffer[-1] == 0
