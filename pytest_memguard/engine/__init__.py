"""The memory engine: pools, weak references, GC tuning, monitoring and metrics, without pytest.

A Python port of the Go design in the project's seed, with real weak references, O(1) structures,
interpreter callbacks instead of polling threads, and statistics that mean something in CPython.
"""

from __future__ import annotations

from .cache import WeakCache
from .errors import PoolError, PoolExhausted
from .gc_optimizer import GC_STRATEGIES, GCOptimizer, GCStrategy
from .manager import MemoryConfig, MemoryManager
from .metrics import MemoryMetrics
from .monitor import ALERT_KEYS, MemoryAlert, MemoryMonitor
from .observer import WeakObserver
from .pool import MemoryPool
from .weakref_manager import WeakReference, WeakReferenceManager

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
