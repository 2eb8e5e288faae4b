"""The memory engine: pools, weak references, GC tuning, monitoring and metrics, without pytest.

A Python port of the Go design in the project's seed, with real weak references, O(1) structures,
interpreter callbacks instead of polling threads, and statistics that mean something in CPython.
Names are imported on first use (PEP 562), so that loading the pytest plugin, or one class, does not pay
for psutil and prometheus-client until they are needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .cache import WeakCache
    from .errors import PoolError, PoolExhausted
    from .gc_optimizer import GC_STRATEGIES, GCOptimizer, GCStrategy
    from .manager import MemoryConfig, MemoryManager
    from .metrics import MemoryMetrics
    from .monitor import ALERT_KEYS, MemoryAlert, MemoryMonitor
    from .observer import WeakObserver
    from .pool import MemoryPool
    from .weakref_manager import WeakReference, WeakReferenceManager

#: Where each public name lives.
_MODULES = {
    "ALERT_KEYS": "monitor",
    "GC_STRATEGIES": "gc_optimizer",
    "GCOptimizer": "gc_optimizer",
    "GCStrategy": "gc_optimizer",
    "MemoryAlert": "monitor",
    "MemoryConfig": "manager",
    "MemoryManager": "manager",
    "MemoryMetrics": "metrics",
    "MemoryMonitor": "monitor",
    "MemoryPool": "pool",
    "PoolError": "errors",
    "PoolExhausted": "errors",
    "WeakCache": "cache",
    "WeakObserver": "observer",
    "WeakReference": "weakref_manager",
    "WeakReferenceManager": "weakref_manager",
}

__all__ = [
    "ALERT_KEYS",
    "GC_STRATEGIES",
    "GCOptimizer",
    "GCStrategy",
    "MemoryAlert",
    "MemoryConfig",
    "MemoryManager",
    "MemoryMetrics",
    "MemoryMonitor",
    "MemoryPool",
    "PoolError",
    "PoolExhausted",
    "WeakCache",
    "WeakObserver",
    "WeakReference",
    "WeakReferenceManager",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULES})
