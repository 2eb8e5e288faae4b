"""The engine's Prometheus metrics, read from the live objects at scrape time.

The seed keeps gauges that someone must remember to set; a custom collector instead reads the pools,
the weak-reference manager and the collector's figures when Prometheus scrapes, so a value is never
stale. Names follow Prometheus conventions: one ``memguard_`` namespace, units in names, ``_total`` on
counters, ratios in 0..1 (the seed's ``gc_cpu_percentage`` and ``memory_pool_hit_rate`` were percents).
"""

from __future__ import annotations

import gc
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from typing import final

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from .gcstats import PAUSE_BUCKETS, GCRecorder
from .pool import MemoryPool
from .process import resident_bytes
from .weakref_manager import WeakReferenceManager

__all__ = ["MemoryMetrics"]

_NAMESPACE = "memguard"


@final
class MemoryMetrics(Collector):
    """A ``CollectorRegistry`` of its own (:attr:`registry`) holding this collector.

    ``pools`` is a callable returning the pools to report (the manager passes its own), or pools can be
    added with :meth:`add_pool`. GC pauses are recorded from construction until :meth:`close`; the GC
    CPU ratio is pause time over wall time since then. ``generate_latest(metrics.registry)`` renders
    the text format.

    ``memguard_allocated_blocks`` stands in for the seed's heap object count: ``sys.getallocatedblocks``
    is O(1), where counting ``gc.get_objects()`` is O(heap) and sees only containers.
    """

    def __init__(
        self,
        *,
        pools: Callable[[], Iterable[MemoryPool]] | None = None,
        weak_refs: WeakReferenceManager | None = None,
    ) -> None:
        self._pool_source = pools
        self._pools: dict[str, MemoryPool] = {}
        self._lock = threading.Lock()
        self.weak_refs = weak_refs
        self._recorder = GCRecorder()
        self._recorder.start()
        self._started = time.perf_counter()
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(self)

    def add_pool(self, pool: MemoryPool) -> None:
        """Report ``pool`` too (by name; a second pool of the same name replaces the first)."""
        with self._lock:
            self._pools[pool.name] = pool

    def close(self) -> None:
        """Stop recording GC pauses (the registry stays readable)."""
        self._recorder.stop()

    def _all_pools(self) -> list[MemoryPool]:
        with self._lock:
            pools = dict(self._pools)
        if self._pool_source is not None:
            pools.update((pool.name, pool) for pool in self._pool_source())
        return list(pools.values())

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family, read now."""
        yield from self._pool_metrics()
        yield from self._weak_ref_metrics()
        yield from self._gc_metrics()
        yield from self._memory_metrics()

    def _pool_metrics(self) -> Iterator[Metric]:
        ratio = GaugeMetricFamily(
            f"{_NAMESPACE}_pool_hit_ratio", "Share of acquisitions served from the free list", labels=["pool"]
        )
        buffers = GaugeMetricFamily(
            f"{_NAMESPACE}_pool_buffers", "Buffers of the pool by state", labels=["pool", "state"]
        )
        buffer_bytes = GaugeMetricFamily(
            f"{_NAMESPACE}_pool_buffer_size_bytes", "Size of each buffer of the pool", labels=["pool"]
        )
        acquisitions = CounterMetricFamily(
            f"{_NAMESPACE}_pool_acquisitions", "Buffers handed out", labels=["pool"]
        )
        exhaustions = CounterMetricFamily(
            f"{_NAMESPACE}_pool_exhaustions", "Acquisitions that found every buffer out", labels=["pool"]
        )
        for pool in self._all_pools():
            stats = pool.stats()
            ratio.add_metric([stats.name], stats.hit_rate)
            buffers.add_metric([stats.name, "free"], stats.free)
            buffers.add_metric([stats.name, "outstanding"], stats.outstanding)
            buffer_bytes.add_metric([stats.name], stats.object_size)
            acquisitions.add_metric([stats.name], stats.acquisitions)
            exhaustions.add_metric([stats.name], stats.exhaustions)
        yield from (ratio, buffers, buffer_bytes, acquisitions, exhaustions)

    def _weak_ref_metrics(self) -> Iterator[Metric]:
        if self.weak_refs is None:
            return
        stats = self.weak_refs.stats()
        yield GaugeMetricFamily(
            f"{_NAMESPACE}_weak_references_active", "Tracked objects not yet collected", value=stats.active
        )
        yield CounterMetricFamily(
            f"{_NAMESPACE}_weak_references_cleaned",
            "Tracked objects collected and cleaned up",
            value=stats.cleaned,
        )

    def _gc_metrics(self) -> Iterator[Metric]:
        collections = CounterMetricFamily(
            f"{_NAMESPACE}_gc_collections", "Collections since the interpreter started", labels=["generation"]
        )
        collected = CounterMetricFamily(
            f"{_NAMESPACE}_gc_collected_objects",
            "Unreachable objects the collector freed",
            labels=["generation"],
        )
        uncollectable = CounterMetricFamily(
            f"{_NAMESPACE}_gc_uncollectable_objects",
            "Unreachable objects the collector could not free",
            labels=["generation"],
        )
        for generation, stats in enumerate(gc.get_stats()):
            label = [str(generation)]
            collections.add_metric(label, stats["collections"])
            collected.add_metric(label, stats["collected"])
            uncollectable.add_metric(label, stats["uncollectable"])
        yield from (collections, collected, uncollectable)
        counts, pause_sum = self._recorder.histogram()
        cumulative: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip((*PAUSE_BUCKETS, float("inf")), counts, strict=True):
            running += count
            cumulative.append(("+Inf" if bound == float("inf") else repr(bound), running))
        yield HistogramMetricFamily(
            f"{_NAMESPACE}_gc_pause_seconds",
            "Duration of each garbage collection",
            buckets=cumulative,
            sum_value=pause_sum,
        )
        wall = time.perf_counter() - self._started
        yield GaugeMetricFamily(
            f"{_NAMESPACE}_gc_cpu_ratio",
            "Share of wall time spent collecting since the metrics were created",
            value=min(pause_sum / wall, 1.0) if wall > 0 else 0.0,
        )

    def _memory_metrics(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            f"{_NAMESPACE}_process_resident_memory_bytes",
            "Resident set size of the process",
            value=resident_bytes(),
        )
        if tracemalloc.is_tracing():
            yield GaugeMetricFamily(
                f"{_NAMESPACE}_traced_heap_bytes",
                "Python heap traced by tracemalloc",
                value=tracemalloc.get_traced_memory()[0],
            )
        yield GaugeMetricFamily(
            f"{_NAMESPACE}_allocated_blocks",
            "Memory blocks allocated by the interpreter (sys.getallocatedblocks)",
            value=sys.getallocatedblocks(),
        )
