"""The ``memguard`` marker namespace: ``memguard.max_heap("64 MiB")`` builds
``pytest.mark.memguard(max_heap="64 MiB")``.

pytest is imported only when a marker is built, so ``import pytest_memguard`` stays free of pytest for
production code that only wants the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, final

if TYPE_CHECKING:
    from _pytest.mark.structures import MarkDecorator

__all__ = ["MARKER_HELP", "MARKER_KEYS", "memguard"]

#: Every keyword the ``memguard`` marker takes.
MARKER_KEYS: Final = frozenset(
    {
        "max_heap",
        "max_rss",
        "no_leaks",
        "max_leak",
        "runs",
        "warmups",
        "native",
        "max_gc_pause",
        "no_uncollectable",
        "alerts",
        "gc_strategy",
        "skip",
    }
)

MARKER_HELP: Final = (
    "memguard(**checks): memory checks for this test, e.g. memguard(max_heap='64 MiB'); "
    "keys: max_heap, max_rss, no_leaks, max_leak, runs, warmups, native, max_gc_pause, "
    "no_uncollectable, alerts, gc_strategy, skip. Build it with pytest_memguard.memguard."
)

_UNSET: Any = object()


def _mark(**kwargs: Any) -> MarkDecorator:
    import pytest

    decorator: MarkDecorator = pytest.mark.memguard(
        **{key: value for key, value in kwargs.items() if value is not _UNSET}
    )
    return decorator


@final
class _Memguard:
    """Builders for the ``memguard`` marker, one per check; each returns a pytest mark decorator."""

    __slots__ = ()

    def max_heap(self, limit: int | str) -> MarkDecorator:
        """Fail when the peak Python heap during the call, above its start, exceeds ``limit``."""
        return _mark(max_heap=limit)

    def max_rss(self, limit: int | str) -> MarkDecorator:
        """Fail when the peak resident set size during the call, above its start, exceeds ``limit``."""
        return _mark(max_rss=limit)

    def no_leaks(self, runs: int = _UNSET, warmups: int = _UNSET, native: bool = _UNSET) -> MarkDecorator:
        """Fail when memory retained after each of ``runs`` extra runs of the test body keeps growing."""
        return _mark(no_leaks=True, runs=runs, warmups=warmups, native=native)

    def max_leak(
        self, limit: int | str, runs: int = _UNSET, warmups: int = _UNSET, native: bool = _UNSET
    ) -> MarkDecorator:
        """Like :meth:`no_leaks`, tolerating ``limit`` bytes of growth per run."""
        return _mark(max_leak=limit, runs=runs, warmups=warmups, native=native)

    def max_gc_pause(self, duration: float | str) -> MarkDecorator:
        """Fail when one garbage collection during the call took longer than ``duration``."""
        return _mark(max_gc_pause=duration)

    def no_uncollectable(self) -> MarkDecorator:
        """Fail when the collector found uncollectable objects during the call, or ``gc.garbage`` grew."""
        return _mark(no_uncollectable=True)

    def alerts(self, **thresholds: int | float | str) -> MarkDecorator:
        """Fail when the memory monitor raises an alert during the call (keys as for ``set_alert``)."""
        return _mark(alerts=thresholds)

    def gc_strategy(self, name: str) -> MarkDecorator:
        """Run the test under the GC strategy ``name`` and restore the collector's settings after."""
        return _mark(gc_strategy=name)

    def skip(self) -> MarkDecorator:
        """Turn off every global memguard check (``--memguard-max-heap`` and the like) for this test."""
        return _mark(skip=True)

    def __repr__(self) -> str:
        return "<memguard marker namespace>"


memguard: Final = _Memguard()
