"""GCRecorder and GCOptimizer: measured pauses, CPython strategies, deterministic choice, exact restore."""

from __future__ import annotations

import gc

import pytest

from pytest_memguard.engine import GC_STRATEGIES, GCOptimizer, GCStrategy
from pytest_memguard.engine.gc_optimizer import GCStats
from pytest_memguard.engine.gcstats import PAUSE_BUCKETS, GCRecorder


def settings() -> tuple[object, ...]:
    return (gc.get_threshold(), gc.isenabled(), gc.get_freeze_count(), list(gc.callbacks))


def test_recorder_measures_collections_and_removes_only_its_callback() -> None:
    recorder = GCRecorder()
    other = GCRecorder()
    recorder.start()
    other.start()
    gc.collect()
    gc.collect(0)
    snap = recorder.snapshot()
    assert snap.collections[2] >= 1 and snap.collections[0] >= 1
    assert snap.pause_total > 0 and snap.pause_max > 0
    assert snap.last_seq == snap.total_collections
    assert 0 <= snap.gc_cpu_ratio <= 1
    counts, total = recorder.histogram()
    assert len(counts) == len(PAUSE_BUCKETS) + 1 and sum(counts) == snap.total_collections
    assert total == snap.pause_total
    assert [p.generation for p in recorder.pauses_since(snap.last_seq - 1)] == [0]
    recorder.stop()
    assert other.running and not recorder.running
    other.stop()


def test_a_dropped_recorder_removes_its_callback() -> None:
    before = list(gc.callbacks)
    recorder = GCRecorder()
    recorder.start()
    assert len(gc.callbacks) == len(before) + 1
    del recorder
    assert gc.callbacks == before


def test_strategy_names() -> None:
    assert GC_STRATEGIES == ("adaptive", "low_latency", "high_throughput", "memory_efficient")


def test_unknown_strategy_lists_the_valid_ones() -> None:
    with (
        GCOptimizer() as optimizer,
        pytest.raises(ValueError, match="valid strategies: adaptive, low_latency"),
    ):
        optimizer.apply("fastest")
    with pytest.raises(ValueError, match="'fastest'"):
        GCOptimizer(["fastest"])


@pytest.mark.parametrize("name", GC_STRATEGIES)
def test_every_strategy_is_restored_exactly(name: str) -> None:
    before = settings()
    gc.set_threshold(123, 4, 5)
    gc.disable()
    changed = settings()
    try:
        optimizer = GCOptimizer()
        optimizer.apply(name)
        assert gc.isenabled()
        optimizer.restore()
        assert settings() == changed
        optimizer.restore()
        assert settings() == changed
    finally:
        gc.set_threshold(*before[0])  # type: ignore[misc]
        gc.enable()


def test_freezing_strategies_freeze_and_restore_unfreezes() -> None:
    with GCOptimizer() as optimizer:
        optimizer.apply("high_throughput")
        assert gc.get_threshold() == (10_000, 20, 20)
        assert gc.get_freeze_count() > 0
        optimizer.apply("memory_efficient")
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == (350, 5, 5)
        optimizer.apply("low_latency")
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_someone_elses_freeze_is_left_alone() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with GCOptimizer() as optimizer:
            optimizer.apply("low_latency")
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def stats(**overrides: float) -> GCStats:
    values: dict[str, float] = {"elapsed": 10.0, "collections": 100, "pause_total": 0.01, "pause_max": 0.001}
    values.update(overrides)
    return GCStats(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("figures", "expected"),
    [
        ({}, "adaptive"),
        ({"pause_max": 0.05}, "low_latency"),
        ({"pause_total": 2.0}, "high_throughput"),
        ({"rss": 990, "memory_limit": 1000}, "memory_efficient"),
        ({"pause_max": 0.05, "pause_total": 5.0}, "high_throughput"),
    ],
)
def test_choice_is_deterministic_given_the_statistics(figures: dict[str, float], expected: str) -> None:
    with GCOptimizer() as optimizer:
        assert optimizer.choose(stats(**figures)) == expected


def test_optimize_applies_the_choice_and_keeps_it_on_ties() -> None:
    with GCOptimizer() as optimizer:
        assert optimizer.optimize(stats(pause_max=0.05)) == "low_latency"
        assert optimizer.current == "low_latency"
        assert gc.get_threshold() == (400, 10, 10)
        assert optimizer.optimize(stats(pause_max=0.010)) == "low_latency"  # 1.0 ties adaptive's 1.0


def test_adaptive_thresholds_follow_overhead_and_pressure() -> None:
    young = gc.get_threshold()[0]
    with GCOptimizer() as optimizer:
        assert optimizer.adaptive_thresholds(stats())[0] == young
        assert optimizer.adaptive_thresholds(stats(pause_total=1.0))[0] == young * 2
        assert optimizer.adaptive_thresholds(stats(rss=95, memory_limit=100))[0] == young // 2


def test_statistics_figures() -> None:
    figures = GCStats(
        elapsed=2.0, collections=10, pause_total=0.5, pause_max=0.1, collected=3, uncollectable=1
    )
    assert figures.collections_per_second == 5.0
    assert figures.gc_cpu_ratio == 0.25
    assert figures.uncollectable_ratio == 0.25
    assert figures.memory_pressure == 0.0
    assert GCStats(elapsed=0, collections=0, pause_total=0, pause_max=0).gc_cpu_ratio == 0.0


def test_measure_sees_collections() -> None:
    with GCOptimizer() as optimizer:
        gc.collect()
        measured = optimizer.measure()
        assert measured.collections >= 1 and measured.pause_max > 0 and measured.rss


def test_soft_memory_limit_collects_and_tightens() -> None:
    young = gc.get_threshold()[0]
    with GCOptimizer(memory_limit="1 KiB") as optimizer:
        assert optimizer.memory_limit == 1024
        assert not optimizer.check_memory_limit(rss=1000)
        assert optimizer.check_memory_limit(rss=2048)
        assert gc.get_threshold()[0] == max(young // 2, 100)
        assert optimizer.check_memory_limit()  # the real RSS is above 1 KiB
    assert gc.get_threshold()[0] == young
    with GCOptimizer() as optimizer:
        assert not optimizer.check_memory_limit(rss=10**12)


def test_custom_strategies() -> None:
    mine = GCStrategy("mine", "latency", (500, 10, 10))
    with GCOptimizer(["adaptive", mine]) as optimizer:
        assert optimizer.strategies == ("adaptive", "mine")
        assert optimizer.optimize(stats(pause_max=1.0)) == "mine"
        assert gc.get_threshold() == (500, 10, 10)


def test_set_thresholds_is_restored() -> None:
    before = gc.get_threshold()
    with GCOptimizer() as optimizer:
        optimizer.set_thresholds(1000)
        assert gc.get_threshold()[0] == 1000
    assert gc.get_threshold() == before


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [({"objective": "speed"}, "objective"), ({"thresholds": (1, 2)}, "thresholds")],
)
def test_bad_custom_strategies(kwargs: dict[str, object], word: str) -> None:
    args: dict[str, object] = {"name": "bad", "objective": "latency", "thresholds": None, **kwargs}
    with pytest.raises(ValueError, match=word):
        GCStrategy(**args)  # type: ignore[arg-type]
