"""The memguard fixture: objects that must be freed, and measuring a block of code."""

import weakref

from pytest_memguard import memguard as marks


class Connection:
    def __init__(self) -> None:
        self.buffer = bytearray(1024)


class Pool:
    def __init__(self) -> None:
        self._idle: weakref.WeakSet[Connection] = weakref.WeakSet()

    def checkout(self) -> Connection:
        connection = Connection()
        self._idle.add(connection)  # held weakly: the pool must not keep it alive
        return connection


# A tracked object still alive after the test body (and a collection) fails the test,
# with the chain of references that keeps it alive.
def test_connection_is_released(memguard) -> None:
    pool = Pool()
    connection = pool.checkout()
    memguard.track(connection, name="checked-out connection")
    del connection


# assert_collected checks right now, inside the test.
def test_assert_collected_mid_test(memguard) -> None:
    handle = memguard.track(Connection())
    memguard.assert_collected(handle)


# measure() gives the figures of a block: peak_heap, retained_heap, peak_rss, gc_collections, ...
@marks.max_heap("64 MiB")
def test_measure_a_block(memguard) -> None:
    with memguard.measure() as m:
        data = [bytes(1000) for _ in range(1000)]
        del data
    assert m.peak_heap >= 1_000_000
    assert m.retained_heap < 100_000
