"""The engine's pytest fixtures: pools checked for leaks, weak caches, GC tuning, monitors, one manager.

Registered by the plugin as ``memguard-engine``; also loadable alone with
``-p pytest_memguard.engine_fixtures``. Every failure message starts ``memguard: <fixture>: ``.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import os
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, final

import pytest

from .engine import cache
from .engine.cache import WeakCache
from .engine.pool import MemoryPool, OnExhausted
from .engine.weakref_manager import qualified_type_name

if TYPE_CHECKING:  # the rest of the engine is imported when a fixture first needs it
    from .engine import GCOptimizer, MemoryAlert, MemoryManager, MemoryMonitor

__all__ = ["MANAGERS_KEY", "MemoryPoolFactory", "WeakCacheFixture", "session_managers"]

#: Sampling interval of the ``memory_monitor`` fixture: short, so a test sees a few samples.
MONITOR_INTERVAL: Final = 0.05

_INTERNAL_DIRS: Final = (os.path.dirname(cache.__file__), os.path.dirname(contextlib.__file__))


@final
class MemoryPoolFactory:
    """``memory_pool(name, object_size, max_objects, on_exhausted="allocate", allow_exhaustion=False, **kw)``.

    Pools record where each buffer was acquired, so that a buffer never released is reported with the
    line that took it. Extra keyword arguments go to :class:`MemoryPool`.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._pools: list[tuple[MemoryPool, bool]] = []

    def __call__(
        self,
        name: str,
        object_size: int,
        max_objects: int,
        on_exhausted: OnExhausted = "allocate",
        allow_exhaustion: bool = False,
        **kwargs: Any,
    ) -> MemoryPool:
        kwargs.setdefault("track_acquirers", True)
        pool = MemoryPool(name, object_size, max_objects, on_exhausted=on_exhausted, **kwargs)
        self._pools.append((pool, allow_exhaustion))
        return pool

    @property
    def pools(self) -> list[MemoryPool]:
        """The pools this test created."""
        return [pool for pool, _ in self._pools]

    def problems(self) -> list[str]:
        """One message per pool with unreleased buffers or an unexpected exhaustion."""
        messages: list[str] = []
        for pool, allow_exhaustion in self._pools:
            sites = pool.outstanding_sites()
            if sites:
                count = len(sites)
                lines = [
                    f"memguard: memory_pool: {count} buffer{'s' if count != 1 else ''} "
                    f"of pool {pool.name!r} never released"
                ]
                lines.extend(f"  acquired at {self._site(site)}" for site in sites)
                messages.append("\n".join(lines))
            stats = pool.stats()
            if stats.exhaustions and not allow_exhaustion:
                times = "once" if stats.exhaustions == 1 else f"{stats.exhaustions} times"
                messages.append(
                    f"memguard: memory_pool: pool {pool.name!r} was exhausted {times} "
                    f"(max_objects={pool.max_objects}, high-water mark {stats.high_water})\n"
                    f"  on_exhausted={pool.on_exhausted!r}; pass allow_exhaustion=True to memory_pool() "
                    "if the test expects it"
                )
        return messages

    def _site(self, site: traceback.StackSummary | None) -> str:
        if not site:
            return "an unknown place (the pool was created with track_acquirers=False)"
        frame = next(
            (f for f in reversed(site) if not f.filename.startswith(_INTERNAL_DIRS)),
            site[-1],
        )
        path = Path(frame.filename)
        with contextlib.suppress(ValueError):
            path = path.relative_to(self._root)
        return f"{path}:{frame.lineno} in {frame.name}"


class WeakCacheFixture(WeakCache[Any, Any]):
    """The ``weak_cache`` fixture: a :class:`WeakCache` that can assert its values were all collected."""

    __slots__ = ()

    def assert_all_released(self) -> None:
        """Collect, then fail naming each surviving value's key, type and who holds it."""
        gc.collect()
        survivors = self.survivors()
        if not survivors:
            return
        count = len(survivors)
        lines = [
            f"memguard: weak_cache: {count} value{'s' if count != 1 else ''} still alive after a collection"
        ]
        for key, value in survivors:
            lines.append(f"  key {key!r}: {qualified_type_name(value)} held by {_explain(value, survivors)}")
        del survivors
        pytest.fail("\n".join(lines), pytrace=False)


def _explain(value: object, survivors: list[tuple[Any, Any]]) -> str:
    try:
        from .refchain import find_chain, format_chain
    except ImportError:
        return "an unknown referrer (pytest_memguard.refchain is not available)"
    return format_chain(find_chain(value, ignore=(survivors, *survivors)), value)


def _format_alert(alert: MemoryAlert) -> str:
    when = datetime.datetime.fromtimestamp(alert.timestamp).strftime("%H:%M:%S.%f")[:-3]
    return f"{alert.message} at {when}"


@pytest.fixture
def memory_pool(request: pytest.FixtureRequest) -> Iterator[MemoryPoolFactory]:
    """A factory of pools; the test fails if a buffer is never released or a pool is exhausted."""
    factory = MemoryPoolFactory(request.config.rootpath)
    yield factory
    problems = factory.problems()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def weak_cache() -> Iterator[WeakCacheFixture]:
    """A fresh weak cache; ``weak_cache.assert_all_released()`` fails while values are alive."""
    cache = WeakCacheFixture()
    yield cache
    cache.clear()


@pytest.fixture
def gc_optimizer() -> Iterator[GCOptimizer]:
    """A GC optimizer whose changes to the collector are undone at teardown."""
    from .engine import GCOptimizer

    optimizer = GCOptimizer()
    try:
        yield optimizer
    finally:
        optimizer.restore()


@pytest.fixture
def memory_monitor() -> Iterator[MemoryMonitor]:
    """A started monitor, stopped at teardown; alerts the test did not take fail it."""
    from .engine import MemoryMonitor

    monitor = MemoryMonitor(interval=MONITOR_INTERVAL)
    monitor.start()
    try:
        yield monitor
        monitor.dispatch_alerts()
    finally:
        monitor.stop()
    untaken = monitor.take_alerts()
    if untaken:
        count = len(untaken)
        lines = [
            f"memguard: memory_monitor: {count} alert{'s' if count != 1 else ''} not taken: "
            f"{_format_alert(untaken[0])}"
        ]
        lines.extend(f"  {_format_alert(alert)}" for alert in untaken[1:])
        lines.append("  take them with memory_monitor.take_alerts() when the test expects them")
        pytest.fail("\n".join(lines), pytrace=False)


#: The managers the ``memory_manager`` fixture made this session, for the summary and the metrics.
MANAGERS_KEY: Final = pytest.StashKey["list[MemoryManager]"]()


def session_managers(config: pytest.Config) -> list[MemoryManager]:
    """The ``memory_manager`` fixture's managers of this session (closed ones stay readable)."""
    return config.stash.get(MANAGERS_KEY, [])


@pytest.fixture(scope="session")
def memory_manager(request: pytest.FixtureRequest) -> Iterator[MemoryManager]:
    """The session's memory manager, closed at the end of the session."""
    from .engine import MemoryManager

    manager = MemoryManager()
    request.config.stash.setdefault(MANAGERS_KEY, []).append(manager)
    try:
        yield manager
    finally:
        manager.close()
