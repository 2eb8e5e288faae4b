"""The engine's fixtures: buffer pools, a weak cache, the memory monitor, the GC optimizer, the manager."""

from pytest_memguard import memguard


class Session:
    def __init__(self, user: str) -> None:
        self.user = user


# A pool hands out fixed-size buffers; every buffer must come back before the test ends.
def test_frames_go_back_to_the_pool(memory_pool) -> None:
    pool = memory_pool("frames", object_size=4096, max_objects=8)
    with pool.buffer() as frame:  # acquired, then released (and zeroed) on exit
        frame[:5] = b"hello"
    assert pool.stats().outstanding == 0


# A weak cache holds its values weakly: once nothing else uses them, they must be gone.
def test_sessions_are_dropped_from_the_cache(weak_cache) -> None:
    weak_cache["alice"] = session = Session("alice")
    assert weak_cache["alice"] is session
    del session
    weak_cache.assert_all_released()


# The monitor samples in the background; alerts the test expects are taken, others fail it.
def test_monitor_sees_a_big_allocation(memory_monitor) -> None:
    memory_monitor.set_alert("rss", "1 MiB")  # far below any Python process: it will fire
    memory_monitor.sample_now()
    alerts = memory_monitor.take_alerts()
    assert alerts and alerts[0].key == "rss"


# A monitor during the call, with thresholds, from a marker (or --memguard-alert for every test).
@memguard.alerts(threads=50)
def test_does_not_spawn_threads() -> None:
    assert sum(range(1000)) == 499500


# The GC optimizer's settings are put back after the test.
def test_tune_the_collector(gc_optimizer) -> None:
    gc_optimizer.apply("low_latency")
    assert gc_optimizer.current == "low_latency"


# One manager for the session: its pools and statistics appear in the --memguard summary.
def test_manager_pools(memory_manager) -> None:
    pool = memory_manager.get_pool("messages", 1024)
    pool.release(pool.acquire())
    assert memory_manager.stats()["pools"]["messages"]["acquisitions"] >= 1
