"""MemoryMonitor: samples, thresholds, edge-triggered alerts dispatched on the caller's thread, clean stop."""

from __future__ import annotations

import gc
import threading
import tracemalloc

import pytest

from pytest_memguard.engine import ALERT_KEYS, MemoryAlert, MemoryMonitor


def test_alert_keys() -> None:
    assert ALERT_KEYS == ("rss", "heap", "rss_fraction", "gc_frequency", "gc_pause", "threads")


def test_sample_now_without_a_thread() -> None:
    monitor = MemoryMonitor(interval="10 ms", history=2)
    first = monitor.sample_now()
    assert first.rss > 0 and 0 < first.rss_fraction < 1
    assert first.threads >= 1 and first.allocated_blocks > 0
    assert first.gc_pause_max is None  # pauses are seen only while started
    assert first.gc_frequency == 0.0 and first.alloc_rate == 0.0
    gc.collect()
    second = monitor.sample_now()
    assert second.gc_collections[2] > first.gc_collections[2]
    assert second.gc_frequency > 0
    monitor.sample_now()
    assert len(monitor.samples()) == 2
    assert monitor.latest is not None


def test_traced_heap_when_tracing() -> None:
    monitor = MemoryMonitor()
    assert monitor.sample_now().traced_heap is None
    tracemalloc.start()
    try:
        assert (monitor.sample_now().traced_heap or 0) > 0
    finally:
        tracemalloc.stop()


def test_start_stop_idempotent_and_no_thread_left() -> None:
    before = set(threading.enumerate())
    monitor = MemoryMonitor(interval=0.01)
    monitor.start()
    monitor.start()
    assert monitor.running
    assert sum(t.name == "memguard-monitor" for t in threading.enumerate()) == 1
    monitor.stop()
    monitor.stop()
    assert not monitor.running
    assert set(threading.enumerate()) == before
    with monitor:
        assert monitor.running
    assert set(threading.enumerate()) == before


def test_the_sampler_thread_samples_and_checks() -> None:
    dispatched: list[MemoryAlert] = []
    monitor = MemoryMonitor(interval=0.01)
    monitor.set_alert("threads", 1)  # the sampler thread makes two
    monitor.on_alert(dispatched.append)
    with monitor:
        assert monitor.wait_for_sample(timeout=60)
    assert len(monitor.samples()) >= 2  # the one taken by start(), and the sampler's
    assert monitor.dispatch_alerts() == 1
    assert [a.key for a in dispatched] == ["threads"]


def test_alerts_are_edge_triggered_and_taken() -> None:
    monitor = MemoryMonitor()
    monitor.set_alert("rss", "1 KiB")
    monitor.sample_now()
    monitor.sample_now()
    (alert,) = monitor.alerts
    assert isinstance(alert, MemoryAlert)
    assert alert.key == "rss" and alert.threshold == 1024 and alert.value > 1024
    assert alert.message.startswith("rss ") and "> 1.00 KiB" in alert.message
    assert alert.severity == "critical"
    assert monitor.take_alerts() == [alert]
    assert monitor.alerts == []
    monitor.set_alert("rss", 10**15)  # re-armed by set_alert, and now below
    monitor.sample_now()
    monitor.set_alert("rss", 1)
    monitor.sample_now()
    assert len(monitor.take_alerts()) == 1


def test_callbacks_run_on_the_dispatching_thread_and_survive_errors(caplog: pytest.LogCaptureFixture) -> None:
    monitor = MemoryMonitor()
    threads: list[threading.Thread] = []

    def boom(alert: MemoryAlert) -> None:
        raise RuntimeError("callback failed")

    monitor.on_alert(boom)
    monitor.on_alert(lambda alert: threads.append(threading.current_thread()))
    monitor.set_alert("rss", 1)
    monitor.sample_now()
    assert threads == []
    assert monitor.dispatch_alerts() == 1
    assert threads == [threading.current_thread()]
    assert "callback failed" in caplog.text
    assert monitor.dispatch_alerts() == 0


def test_gc_pause_and_frequency_alerts() -> None:
    with MemoryMonitor(interval=60) as monitor:  # started for the gc.callbacks entry; samples by hand
        monitor.set_alert("gc_pause", "1 ns")
        monitor.set_alert("gc_frequency", 0.001)
        gc.collect()
        sample = monitor.sample_now()
        assert sample.gc_pause_max is not None and sample.gc_pause_max > 0
        assert {a.key for a in monitor.take_alerts()} == {"gc_pause", "gc_frequency"}


def test_heap_alert_is_skipped_without_tracing() -> None:
    monitor = MemoryMonitor()
    monitor.set_alert("heap", 1)
    monitor.sample_now()
    assert monitor.alerts == []


def test_clear_alert_and_thresholds() -> None:
    monitor = MemoryMonitor()
    monitor.set_alert("rss_fraction", 0.5)
    monitor.set_alert("gc_pause", "5 ms")
    assert monitor.thresholds == {"rss_fraction": 0.5, "gc_pause": 0.005}
    monitor.clear_alert("rss_fraction")
    assert monitor.thresholds == {"gc_pause": 0.005}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("swap", 1),
        ("rss", "lots"),
        ("rss", -1),
        ("rss_fraction", 1.5),
        ("gc_pause", "soon"),
        ("threads", 0),
        ("threads", 2.5),
        ("gc_frequency", "often"),
    ],
)
def test_bad_alerts_name_the_key_and_the_value(key: str, value: object) -> None:
    with pytest.raises(ValueError, match=key) as info:
        MemoryMonitor().set_alert(key, value)
    assert repr(value) in str(info.value)


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="interval"):
        MemoryMonitor(interval=0)
    with pytest.raises(ValueError, match="history"):
        MemoryMonitor(history=0)
