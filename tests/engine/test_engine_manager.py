"""MemoryManager, MemoryConfig and MemoryMetrics."""

from __future__ import annotations

import dataclasses
import gc
import json
import threading

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pytest_memguard.engine import (
    MemoryConfig,
    MemoryManager,
    MemoryMetrics,
    MemoryPool,
    WeakReferenceManager,
)


class Thing:
    pass


def test_a_default_manager_starts_no_thread_and_closes_cleanly() -> None:
    before = set(threading.enumerate())
    with MemoryManager() as manager:
        assert set(threading.enumerate()) == before
        assert manager.weak_refs is not None and manager.metrics is not None
        assert manager.gc_optimizer is None
        assert not manager.monitor.running
    manager.close()


def test_profiling_starts_the_monitor_and_close_stops_it() -> None:
    before = set(threading.enumerate())
    manager = MemoryManager(MemoryConfig(enable_profiling=True, monitor_interval=0.01))
    assert manager.monitor.running
    manager.close()
    assert set(threading.enumerate()) == before
    again = MemoryManager()
    again.start_monitor()
    again.close()
    assert set(threading.enumerate()) == before


def test_pools_by_name() -> None:
    with MemoryManager(MemoryConfig(max_pool_size=8, pool_growth_factor=1.5)) as manager:
        pool = manager.get_pool("frames", 64)
        assert manager.get_pool("frames", 64) is pool
        assert pool.max_objects == 8
        with pytest.raises(ValueError, match="'frames' holds 64-byte buffers"):
            manager.get_pool("frames", 128)
        assert manager.pools() == [pool]


def test_pooling_off() -> None:
    with MemoryManager(MemoryConfig(enable_pooling=False, enable_weak_refs=False)) as manager:
        assert manager.weak_refs is None
        with pytest.raises(RuntimeError, match="enable_pooling"):
            manager.get_pool("p", 8)


def test_gc_optimization_applies_thresholds_and_close_restores_them() -> None:
    before = gc.get_threshold()
    config = MemoryConfig(enable_gc_optimization=True, gc_thresholds=(5000,), memory_limit=2**40)
    with MemoryManager(config) as manager:
        assert gc.get_threshold()[0] == 5000
        assert manager.gc_optimizer is not None and manager.gc_optimizer.memory_limit == 2**40
    assert gc.get_threshold() == before


def test_stats_is_plain_data() -> None:
    with MemoryManager() as manager:
        pool = manager.get_pool("p", 16)
        pool.release(pool.acquire())
        assert manager.weak_refs is not None
        thing = Thing()
        manager.weak_refs.track(thing)
        manager.monitor.sample_now()
        stats = manager.stats()
        json.dumps(stats)
        assert stats["pools"]["p"]["acquisitions"] == 1
        assert stats["weak_refs"] == {"total": 1, "active": 1, "cleaned": 0}
        assert stats["gc"]["thresholds"] == list(gc.get_threshold())
        assert stats["gc"]["strategy"] is None
        assert stats["monitor"]["latest"]["rss"] > 0
        assert stats["config"] == dataclasses.asdict(manager.config)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"max_pool_size": 0}, "max_pool_size"),
        ({"pool_growth_factor": 0.5}, "pool_growth_factor"),
        ({"gc_thresholds": (1, 2, 3, 4), "enable_gc_optimization": True}, "gc_thresholds"),
        ({"gc_thresholds": (700,)}, "enable_gc_optimization"),
        ({"memory_limit": 0, "enable_gc_optimization": True}, "memory_limit"),
        ({"memory_limit": 10**9}, "enable_gc_optimization"),
        ({"monitor_interval": 0}, "monitor_interval"),
        ({"enable_metrics": "yes"}, "enable_metrics"),
    ],
)
def test_config_validation(kwargs: dict[str, object], word: str) -> None:
    with pytest.raises(ValueError, match=word):
        MemoryConfig(**kwargs)  # type: ignore[arg-type]


def scrape(metrics: MemoryMetrics) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = generate_latest(metrics.registry).decode()
    return {
        sample.name: [
            *[(s.labels, s.value) for s in family.samples if s.name == sample.name],
        ]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_read_the_live_objects() -> None:
    weak_refs = WeakReferenceManager()
    metrics = MemoryMetrics(weak_refs=weak_refs)
    try:
        pool = MemoryPool("frames", 32, 4)
        metrics.add_pool(pool)
        buf = pool.acquire()
        thing = Thing()
        weak_refs.track(thing)
        gc.collect()
        samples = scrape(metrics)
        assert samples["memguard_pool_hit_ratio"] == [({"pool": "frames"}, 1.0)]
        assert ({"pool": "frames", "state": "outstanding"}, 1.0) in samples["memguard_pool_buffers"]
        assert samples["memguard_weak_references_active"] == [({}, 1.0)]
        assert {labels["generation"] for labels, _ in samples["memguard_gc_collections_total"]} == {
            "0",
            "1",
            "2",
        }
        assert samples["memguard_gc_pause_seconds_count"][0][1] >= 1
        assert samples["memguard_gc_pause_seconds_bucket"][0][0]["le"] == "0.0001"
        assert 0 <= samples["memguard_gc_cpu_ratio"][0][1] <= 1
        assert samples["memguard_process_resident_memory_bytes"][0][1] > 0
        assert samples["memguard_allocated_blocks"][0][1] > 0
        assert "memguard_traced_heap_bytes" not in samples
        pool.release(buf)
    finally:
        metrics.close()


def test_manager_metrics_follow_new_pools() -> None:
    with MemoryManager() as manager:
        assert manager.metrics is not None
        manager.get_pool("late", 8)
        assert ({"pool": "late"}, 0.0) in scrape(manager.metrics)["memguard_pool_hit_ratio"]
