"""What the engine fixtures' failures look like: a buffer never released, a cache value still held."""

_sessions: list[object] = []


class Session:
    pass


def test_buffer_never_released(memory_pool) -> None:
    pool = memory_pool("frames", object_size=4096, max_objects=4)
    pool.acquire()  # never released


def test_cache_value_still_held(weak_cache) -> None:
    weak_cache["bob"] = session = Session()
    _sessions.append(session)  # something else keeps it alive
    del session
    weak_cache.assert_all_released()


def test_alert_not_taken(memory_monitor) -> None:
    memory_monitor.set_alert("rss", "1 MiB")
    memory_monitor.sample_now()
