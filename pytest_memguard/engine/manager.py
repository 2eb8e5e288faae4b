"""One object that owns the engine's parts, reports on them, and stops what it started.

The seed's ``NewEnterpriseMemoryManager`` always starts a monitor goroutine that nothing ever stops, and
its weak-reference manager starts another; here nothing runs in the background unless asked
(``enable_profiling`` or :meth:`MemoryManager.start_monitor`), so a manager is cheap to create, and
:meth:`MemoryManager.close` stops the monitor, restores the collector settings and stops recording.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any, final

from .gc_optimizer import GCOptimizer
from .metrics import MemoryMetrics
from .monitor import MemoryMonitor
from .pool import MemoryPool, OnExhausted
from .weakref_manager import WeakReferenceManager

__all__ = ["MemoryConfig", "MemoryManager"]


@final
@dataclass(frozen=True, slots=True)
class MemoryConfig:
    """The seed's ``MemoryConfig`` in snake case, checked on construction.

    ``max_pool_size`` is the ``max_objects`` of pools the manager creates; ``pool_growth_factor`` how much
    a pool grows when its free list runs dry (see :class:`MemoryPool`); ``gc_thresholds`` (1 to 3 ints,
    as ``gc.set_threshold`` takes) and ``memory_limit`` (RSS bytes) configure the GC optimizer, so they
    need ``enable_gc_optimization``. ``enable_profiling`` starts the monitor thread, sampling every
    ``monitor_interval`` seconds. The seed's ``GCTargetPercent`` has no CPython meaning and its
    ``EnableArenas`` no CPython feature behind it; both are left out.
    """

    enable_weak_refs: bool = True
    enable_pooling: bool = True
    enable_gc_optimization: bool = False
    max_pool_size: int = 1000
    pool_growth_factor: float = 2.0
    gc_thresholds: tuple[int, ...] | None = None
    memory_limit: int | None = None
    enable_profiling: bool = False
    enable_metrics: bool = True
    monitor_interval: float = 1.0

    def __post_init__(self) -> None:
        for name in (
            "enable_weak_refs",
            "enable_pooling",
            "enable_gc_optimization",
            "enable_profiling",
            "enable_metrics",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"MemoryConfig.{name} must be True or False, got {getattr(self, name)!r}")
        if not _is_int(self.max_pool_size) or self.max_pool_size < 1:
            raise ValueError(f"MemoryConfig.max_pool_size must be an int >= 1, got {self.max_pool_size!r}")
        growth = self.pool_growth_factor
        if not (isinstance(growth, (int, float)) and not isinstance(growth, bool)) or not (
            math.isfinite(growth) and growth >= 1
        ):
            raise ValueError(f"MemoryConfig.pool_growth_factor must be a number >= 1.0, got {growth!r}")
        thresholds = self.gc_thresholds
        if thresholds is not None and (
            not isinstance(thresholds, tuple)
            or not 1 <= len(thresholds) <= 3
            or not all(_is_int(t) and t >= 0 for t in thresholds)
        ):
            raise ValueError(
                f"MemoryConfig.gc_thresholds must be a tuple of 1 to 3 ints >= 0, got {thresholds!r}"
            )
        if self.memory_limit is not None and (not _is_int(self.memory_limit) or self.memory_limit < 1):
            raise ValueError(
                f"MemoryConfig.memory_limit must be bytes >= 1 or None, got {self.memory_limit!r}"
            )
        if (thresholds is not None or self.memory_limit is not None) and not self.enable_gc_optimization:
            raise ValueError(
                "MemoryConfig.gc_thresholds and memory_limit configure the GC optimizer: "
                "set enable_gc_optimization=True"
            )
        interval = self.monitor_interval
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
            raise ValueError(f"MemoryConfig.monitor_interval must be seconds > 0, got {interval!r}")


@final
class MemoryManager:
    """Owns named pools, the weak-reference manager, the GC optimizer, the monitor and the metrics.

    Parts turned off in the config are None. The monitor always exists (so alerts can be set) but its
    thread runs only with ``enable_profiling`` or after :meth:`start_monitor`. Use it in a ``with`` block
    or call :meth:`close`.
    """

    __slots__ = ("_closed", "_lock", "_pools", "config", "gc_optimizer", "metrics", "monitor", "weak_refs")

    def __init__(self, config: MemoryConfig | None = None) -> None:
        self.config = config if config is not None else MemoryConfig()
        self._lock = threading.Lock()
        self._pools: dict[str, MemoryPool] = {}
        self._closed = False
        self.weak_refs = WeakReferenceManager() if self.config.enable_weak_refs else None
        self.gc_optimizer: GCOptimizer | None = None
        if self.config.enable_gc_optimization:
            self.gc_optimizer = GCOptimizer(memory_limit=self.config.memory_limit)
            if self.config.gc_thresholds is not None:
                self.gc_optimizer.set_thresholds(*self.config.gc_thresholds)
        self.metrics = (
            MemoryMetrics(pools=self.pools, weak_refs=self.weak_refs) if self.config.enable_metrics else None
        )
        self.monitor = MemoryMonitor(interval=self.config.monitor_interval)
        if self.config.enable_profiling:
            self.monitor.start()

    def __enter__(self) -> MemoryManager:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<MemoryManager {len(self._pools)} pools{' closed' if self._closed else ''}>"

    def get_pool(
        self,
        name: str,
        object_size: int,
        *,
        max_objects: int | None = None,
        alignment: int | None = None,
        on_exhausted: OnExhausted = "allocate",
        zero_on_release: bool = True,
    ) -> MemoryPool:
        """The pool called ``name``, created on first use; ``ValueError`` if it exists with another size.

        ``max_objects`` defaults to the config's ``max_pool_size``; the other arguments only matter when
        the pool is created.
        """
        if not self.config.enable_pooling:
            raise RuntimeError("pooling is off: MemoryConfig(enable_pooling=False)")
        with self._lock:
            pool = self._pools.get(name)
            if pool is not None:
                if pool.object_size != object_size:
                    raise ValueError(
                        f"pool {name!r} holds {pool.object_size}-byte buffers, not {object_size!r}-byte ones"
                    )
                return pool
            pool = MemoryPool(
                name,
                object_size,
                self.config.max_pool_size if max_objects is None else max_objects,
                alignment=alignment,
                on_exhausted=on_exhausted,
                zero_on_release=zero_on_release,
                growth_factor=self.config.pool_growth_factor,
            )
            self._pools[name] = pool
            return pool

    def pools(self) -> list[MemoryPool]:
        """The pools created so far."""
        with self._lock:
            return list(self._pools.values())

    def start_monitor(self) -> MemoryMonitor:
        """Start the monitor thread (a no-op if running) and return the monitor."""
        self.monitor.start()
        return self.monitor

    def stats(self) -> dict[str, Any]:
        """Everything the manager knows, as plain data (dicts, lists, numbers, strings, None).

        Keys: ``pools`` (name → pool counters), ``weak_refs`` (total/active/cleaned, or None), ``gc``
        (the collector's thresholds, per-generation counts, frozen objects, and the optimizer's current
        strategy or None), ``monitor`` (running, thresholds, alerts not taken, latest sample or None),
        ``config``.
        """
        latest = self.monitor.latest
        return {
            "pools": {pool.name: dataclasses.asdict(pool.stats()) for pool in self.pools()},
            "weak_refs": None if self.weak_refs is None else dataclasses.asdict(self.weak_refs.stats()),
            "gc": {
                "enabled": gc.isenabled(),
                "thresholds": list(gc.get_threshold()),
                "generations": [dict(generation) for generation in gc.get_stats()],
                "frozen": gc.get_freeze_count(),
                "strategy": None if self.gc_optimizer is None else self.gc_optimizer.current,
            },
            "monitor": {
                "running": self.monitor.running,
                "thresholds": self.monitor.thresholds,
                "alerts": len(self.monitor.alerts),
                "latest": None if latest is None else dataclasses.asdict(latest),
            },
            "config": dataclasses.asdict(self.config),
        }

    def close(self) -> None:
        """Stop the monitor, restore the collector settings, stop recording; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.monitor.stop()
        if self.gc_optimizer is not None:
            self.gc_optimizer.restore()
        if self.metrics is not None:
            self.metrics.close()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
