"""Tune CPython's cyclic collector by strategy, pick a strategy from measured statistics, undo it exactly.

The seed's strategies set Go's ``GOGC`` percentage; CPython's knobs are different, so each strategy says
what it does in CPython terms: generation thresholds (``gc.set_threshold``), ``gc.freeze`` (move every
object alive now into the permanent generation, so full collections stop traversing the start-up heap)
and explicit collection. The seed scores strategies with ``TotalAlloc / time.Now().Unix()``, which is not
a rate; here every score is a measured figure over a target, so 1.0 means "at its limit".
"""

from __future__ import annotations

import gc
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Literal, final

from ..units import parse_size
from .gcstats import GCRecorder, GCSnapshot
from .process import resident_bytes

__all__ = ["BUILTIN_STRATEGIES", "GC_STRATEGIES", "GCOptimizer", "GCStats", "GCStrategy", "Objective"]

Objective = Literal["balanced", "latency", "throughput", "memory"]
Thresholds = tuple[int, int, int]

_OBJECTIVES: Final[tuple[Objective, ...]] = ("balanced", "latency", "throughput", "memory")

_MIN_THRESHOLD0: Final = 100
_MAX_THRESHOLD0: Final = 100_000


@final
@dataclass(frozen=True, slots=True)
class GCStrategy:
    """A named collector configuration and the figure it is meant to improve.

    ``thresholds`` None means "derived from the measured statistics" (``adaptive``). ``freeze`` True
    freezes the current heap (after a collection, so no garbage is frozen), False undoes a freeze this
    optimizer made, None leaves freezing alone. ``collect`` runs a full collection when applied.
    """

    name: str
    objective: Objective
    thresholds: Thresholds | None
    freeze: bool | None = None
    collect: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if self.objective not in _OBJECTIVES:
            raise ValueError(
                f"GCStrategy {self.name!r}: objective must be one of {', '.join(_OBJECTIVES)}, "
                f"got {self.objective!r}"
            )
        thresholds = self.thresholds
        if thresholds is not None and (
            not isinstance(thresholds, tuple)
            or len(thresholds) != 3
            or not all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in thresholds)
        ):
            raise ValueError(f"GCStrategy {self.name!r}: thresholds must be 3 ints >= 0, got {thresholds!r}")


#: The built-in strategies, by name.
BUILTIN_STRATEGIES: Final[Mapping[str, GCStrategy]] = {
    s.name: s
    for s in (
        GCStrategy(
            "adaptive",
            "balanced",
            None,
            description="the interpreter's thresholds, young generation doubled when GC overhead is above "
            "target and halved under memory pressure",
        ),
        GCStrategy(
            "low_latency",
            "latency",
            (400, 10, 10),
            freeze=True,
            description="a small young generation keeps each pause short; the start-up heap is frozen "
            "out of full collections",
        ),
        GCStrategy(
            "high_throughput",
            "throughput",
            (10_000, 20, 20),
            freeze=True,
            description="collect rarely: fewer passes over surviving objects; start-up heap frozen",
        ),
        GCStrategy(
            "memory_efficient",
            "memory",
            (350, 5, 5),
            freeze=False,
            collect=True,
            description="collect often and now, and nothing frozen, so cyclic garbage goes soon",
        ),
    )
}

#: Names of the built-in strategies, in scoring (tie-break) order.
GC_STRATEGIES: Final[tuple[str, ...]] = tuple(BUILTIN_STRATEGIES)


@final
@dataclass(frozen=True, slots=True)
class GCStats:
    """What :meth:`GCOptimizer.optimize` scores: collector figures over an interval, and memory now."""

    elapsed: float
    collections: int
    pause_total: float
    pause_max: float
    collected: int = 0
    uncollectable: int = 0
    rss: int | None = None
    memory_limit: int | None = None

    @property
    def collections_per_second(self) -> float:
        """Collections of any generation per second of the interval."""
        return self.collections / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def gc_cpu_ratio(self) -> float:
        """Share of the interval spent collecting (0..1)."""
        return min(self.pause_total / self.elapsed, 1.0) if self.elapsed > 0 else 0.0

    @property
    def memory_pressure(self) -> float:
        """RSS as a fraction of the soft memory limit; 0.0 without a limit or a figure."""
        if self.rss is None or not self.memory_limit:
            return 0.0
        return self.rss / self.memory_limit

    @property
    def uncollectable_ratio(self) -> float:
        """Uncollectable objects per object the collector found unreachable."""
        found = self.collected + self.uncollectable
        return self.uncollectable / found if found else 0.0


@dataclass(slots=True)
class _Saved:
    thresholds: Thresholds
    enabled: bool


@final
class GCOptimizer:
    """Apply GC strategies, choose one by measured statistics, keep a soft RSS limit, and restore.

    From construction until :meth:`restore` it records every collection through one ``gc.callbacks``
    entry. :meth:`restore` (or leaving the ``with`` block) puts back the thresholds and ``gc.isenabled()``
    it found before its first change, calls ``gc.unfreeze()`` only if it froze, and removes its callback.
    It freezes only when nothing else has: ``gc.unfreeze`` cannot tell someone else's frozen objects
    from ours. ``memory_limit`` is RSS bytes (an int or a size such as ``"2 GiB"``), like Go's
    ``SetMemoryLimit`` but soft: :meth:`check_memory_limit` collects and tightens thresholds above it.
    """

    __slots__ = (
        "_current",
        "_froze",
        "_lock",
        "_memory_limit",
        "_overhead_target",
        "_pause_target",
        "_recorder",
        "_saved",
        "_strategies",
        "_window",
    )

    def __init__(
        self,
        strategies: Iterable[str | GCStrategy] | None = None,
        *,
        memory_limit: int | str | None = None,
        pause_target: float = 0.010,
        overhead_target: float = 0.05,
    ) -> None:
        chosen: dict[str, GCStrategy] = {}
        for item in GC_STRATEGIES if strategies is None else strategies:
            strategy = item if isinstance(item, GCStrategy) else _builtin(item)
            chosen[strategy.name] = strategy
        if not chosen:
            raise ValueError("strategies must name at least one strategy")
        for label, target in (("pause_target", pause_target), ("overhead_target", overhead_target)):
            if not (isinstance(target, (int, float)) and math.isfinite(target) and target > 0):
                raise ValueError(f"{label} must be a number > 0, got {target!r}")
        self._strategies = chosen
        self._memory_limit = None if memory_limit is None else parse_size(memory_limit)
        self._pause_target = float(pause_target)
        self._overhead_target = float(overhead_target)
        self._lock = threading.RLock()
        self._saved: _Saved | None = None
        self._froze = False
        self._current: str | None = None
        self._recorder = GCRecorder()
        self._recorder.start()
        self._window: GCSnapshot = self._recorder.snapshot()

    def __enter__(self) -> GCOptimizer:
        self._ensure_recording()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.restore()

    @property
    def strategies(self) -> tuple[str, ...]:
        """The names this optimizer chooses from."""
        return tuple(self._strategies)

    @property
    def current(self) -> str | None:
        """The strategy applied last, or None."""
        return self._current

    @property
    def memory_limit(self) -> int | None:
        """The soft RSS limit in bytes, or None."""
        return self._memory_limit

    @property
    def recorder(self) -> GCRecorder:
        """The recorder of collections since construction (or the last ``with``/``apply`` after restore)."""
        return self._recorder

    def apply(self, name: str, stats: GCStats | None = None) -> None:
        """Apply the strategy ``name``; ``ValueError`` listing the valid names when it is unknown.

        ``stats`` feeds the ``adaptive`` thresholds (measured now when None).
        """
        strategy = self._strategies.get(name)
        if strategy is None:
            raise ValueError(f"unknown GC strategy {name!r}; valid strategies: {', '.join(self._strategies)}")
        with self._lock:
            self._ensure_recording()
            self._save()
            thresholds = strategy.thresholds or self.adaptive_thresholds(stats or self.measure())
            gc.set_threshold(*thresholds)
            gc.enable()
            if strategy.collect:
                gc.collect()
            if strategy.freeze is True and (self._froze or gc.get_freeze_count() == 0):
                gc.collect()
                gc.freeze()
                self._froze = True
            elif strategy.freeze is False and self._froze:
                gc.unfreeze()
                self._froze = False
            self._current = name

    def set_thresholds(self, *thresholds: int) -> None:
        """Set the collector thresholds as ``gc.set_threshold`` does, undone by :meth:`restore`."""
        with self._lock:
            self._save()
            gc.set_threshold(*thresholds)

    def measure(self) -> GCStats:
        """Collector figures since the last :meth:`optimize` (or construction), and RSS now."""
        now = self._recorder.snapshot()
        start = self._window
        pause_max = max((p.duration for p in self._recorder.pauses_since(start.last_seq)), default=0.0)
        return GCStats(
            elapsed=now.taken - start.taken,
            collections=now.total_collections - start.total_collections,
            pause_total=now.pause_total - start.pause_total,
            pause_max=pause_max,
            collected=now.collected - start.collected,
            uncollectable=now.uncollectable - start.uncollectable,
            rss=resident_bytes(),
            memory_limit=self._memory_limit,
        )

    def scores(self, stats: GCStats) -> dict[str, float]:
        """Each strategy's score for ``stats``: its objective's figure over its target (balanced: 1.0)."""
        by_objective: dict[Objective, float] = {
            "balanced": 1.0,
            "latency": stats.pause_max / self._pause_target,
            "throughput": stats.gc_cpu_ratio / self._overhead_target,
            "memory": stats.memory_pressure / 0.9 + stats.uncollectable_ratio,
        }
        return {name: by_objective[s.objective] for name, s in self._strategies.items()}

    def choose(self, stats: GCStats) -> str:
        """The best-scoring strategy for ``stats``; the current one wins ties, then the first listed."""
        scores = self.scores(stats)
        best = max(scores.values())
        if self._current is not None and scores.get(self._current) == best:
            return self._current
        return next(name for name, score in scores.items() if score == best)

    def optimize(self, stats: GCStats | None = None) -> str:
        """Score the strategies on ``stats`` (measured since the last call when None), apply the best.

        Also checks the soft memory limit. Returns the strategy now in force.
        """
        with self._lock:
            measured = self.measure() if stats is None else stats
            name = self.choose(measured)
            if name != self._current:
                self.apply(name, measured)
            self.check_memory_limit(measured.rss)
            self._window = self._recorder.snapshot()
            return name

    def adaptive_thresholds(self, stats: GCStats) -> Thresholds:
        """The ``adaptive`` thresholds for ``stats``, from the interpreter's own at the first change."""
        base = self._saved.thresholds if self._saved is not None else _thresholds()
        young = base[0]
        if stats.gc_cpu_ratio > self._overhead_target:
            young *= 2
        if stats.memory_pressure > 0.9:
            young //= 2
        return (min(max(young, _MIN_THRESHOLD0), _MAX_THRESHOLD0), base[1], base[2])

    def check_memory_limit(self, rss: int | None = None) -> bool:
        """Above the soft limit, collect and halve the young threshold; True when it acted."""
        if self._memory_limit is None:
            return False
        current = resident_bytes() if rss is None else rss
        if current <= self._memory_limit:
            return False
        with self._lock:
            self._save()
            gc.collect()
            young, middle, old = _thresholds()
            gc.set_threshold(max(young // 2, _MIN_THRESHOLD0), middle, old)
        return True

    def restore(self) -> None:
        """Put the interpreter's collector settings back exactly; safe to call more than once."""
        with self._lock:
            saved, self._saved = self._saved, None
            if saved is not None:
                gc.set_threshold(*saved.thresholds)
                if self._froze:
                    gc.unfreeze()
                    self._froze = False
                if saved.enabled:
                    gc.enable()
                else:
                    gc.disable()
            self._current = None
            self._recorder.stop()

    def _save(self) -> None:
        if self._saved is None:
            self._saved = _Saved(_thresholds(), gc.isenabled())

    def _ensure_recording(self) -> None:
        if not self._recorder.running:
            self._recorder.start()
            self._window = self._recorder.snapshot()


def _thresholds() -> Thresholds:
    young, middle, old = gc.get_threshold()
    return (young, middle, old)


def _builtin(name: str) -> GCStrategy:
    try:
        return BUILTIN_STRATEGIES[name]
    except KeyError:
        raise ValueError(
            f"unknown GC strategy {name!r}; valid strategies: {', '.join(GC_STRATEGIES)}"
        ) from None
