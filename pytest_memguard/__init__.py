"""pytest-memguard: memory behaviour as a test assertion, and the memory engine those checks use.

``from pytest_memguard import memguard`` gives the marker namespace; the engine classes are importable
from here too and never import pytest.
"""

from __future__ import annotations

from ._version import __version__
from .engine import (
    ALERT_KEYS,
    GC_STRATEGIES,
    GCOptimizer,
    GCStrategy,
    MemoryAlert,
    MemoryConfig,
    MemoryManager,
    MemoryMetrics,
    MemoryMonitor,
    MemoryPool,
    PoolError,
    PoolExhausted,
    WeakCache,
    WeakObserver,
    WeakReference,
    WeakReferenceManager,
)
from .errors import MemguardError, MemguardUsageError, MemguardWarning
from .markers import memguard
from .results import CheckResult, TestResult
from .units import format_duration, format_size, parse_duration, parse_size

__all__ = [
    "ALERT_KEYS",
    "GC_STRATEGIES",
    "CheckResult",
    "GCOptimizer",
    "GCStrategy",
    "MemguardError",
    "MemguardUsageError",
    "MemguardWarning",
    "MemoryAlert",
    "MemoryConfig",
    "MemoryManager",
    "MemoryMetrics",
    "MemoryMonitor",
    "MemoryPool",
    "PoolError",
    "PoolExhausted",
    "TestResult",
    "WeakCache",
    "WeakObserver",
    "WeakReference",
    "WeakReferenceManager",
    "__version__",
    "format_duration",
    "format_size",
    "memguard",
    "parse_duration",
    "parse_size",
]
