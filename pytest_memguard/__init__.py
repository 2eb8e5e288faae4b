"""pytest-memguard: memory behaviour as a test assertion, and the memory engine those checks use.

``from pytest_memguard import memguard`` gives the marker namespace; the engine classes are importable
from here too and never import pytest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import MemguardError, MemguardUsageError, MemguardWarning
from .markers import memguard
from .results import CheckResult, TestResult
from .units import format_duration, format_size, parse_duration, parse_size

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    """The engine's names, imported on first use (see :mod:`pytest_memguard.engine`)."""
    engine = importlib.import_module(".engine", __name__)
    if name in engine.__all__:
        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
