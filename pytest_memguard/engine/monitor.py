"""Sample the process's memory on a thread, keep a bounded history, raise threshold alerts.

Departures from the seed: it samples ``runtime.MemStats`` every minute on a goroutine that is never
stopped and calls alert callbacks on that goroutine, with "rates" that divide a total by the Unix time.
Here the thread stops and is joined on :meth:`MemoryMonitor.stop`; rates are differences between two
samples over the time between them; GC pauses come from ``gc.callbacks``; and the sampler only queues
alerts: callbacks run on the thread that calls :meth:`MemoryMonitor.dispatch_alerts`.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
import tracemalloc
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Literal, cast, final

from ..units import format_duration, format_size, parse_duration, parse_size
from .gcstats import GCRecorder
from .process import resident_bytes, total_memory_bytes

__all__ = ["ALERT_KEYS", "MemoryAlert", "MemoryMonitor", "MemorySample"]

AlertKey = Literal["rss", "heap", "rss_fraction", "gc_frequency", "gc_pause", "threads"]

#: The thresholds :meth:`MemoryMonitor.set_alert` accepts.
ALERT_KEYS: Final[tuple[AlertKey, ...]] = (
    "rss",
    "heap",
    "rss_fraction",
    "gc_frequency",
    "gc_pause",
    "threads",
)

logger = logging.getLogger("pytest_memguard.engine")


@final
@dataclass(frozen=True, slots=True)
class MemorySample:
    """One sample. Rates and ``gc_pause_max`` cover the time since the previous sample.

    ``traced_heap`` is None unless tracemalloc is tracing; ``gc_pause_max`` is None when the monitor is not
    started (pauses are only seen through its ``gc.callbacks`` entry). ``alloc_rate`` is the net growth,
    in bytes per second, of the traced heap, or of RSS when tracemalloc is off: CPython keeps no
    cumulative count of bytes allocated. ``threads`` counts Python threads, the sampler included.
    """

    timestamp: float
    rss: int
    rss_fraction: float
    traced_heap: int | None
    allocated_blocks: int
    gc_collections: tuple[int, int, int]
    gc_frequency: float
    gc_pause_max: float | None
    threads: int
    alloc_rate: float


@final
@dataclass(frozen=True, slots=True)
class MemoryAlert:
    """A threshold crossed: ``value`` above ``threshold`` for ``key`` at ``timestamp`` (epoch seconds).

    ``severity`` is ``"critical"`` at twice the threshold or more, else ``"warning"``; ``message`` reads
    like ``rss 120 MiB > 100 MiB``.
    """

    key: AlertKey
    value: float
    threshold: float
    timestamp: float
    message: str
    severity: Literal["warning", "critical"]


@dataclass(slots=True)
class _Baseline:
    clock: float
    collections: int
    basis: int
    traced: bool
    seq: int


@final
class MemoryMonitor:
    """A daemon thread that samples every ``interval`` seconds (a number or ``"50 ms"``).

    Alerts are edge-triggered: one alert when a figure goes above its threshold, then none until it has
    come back under it, so a process that stays big is reported once, not once per sample. Alerts
    accumulate until :meth:`take_alerts`; ``history`` bounds both the samples and the alerts kept.
    """

    __slots__ = (
        "_above",
        "_alerts",
        "_baseline",
        "_callbacks",
        "_interval",
        "_lock",
        "_recorder",
        "_sample_count",
        "_sampled",
        "_samples",
        "_state_lock",
        "_stop_event",
        "_thread",
        "_thresholds",
        "_undispatched",
    )

    def __init__(self, interval: float | str = 1.0, history: int = 1000) -> None:
        seconds = parse_duration(interval)
        if seconds <= 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval!r}")
        if isinstance(history, bool) or not isinstance(history, int) or history < 1:
            raise ValueError(f"history must be an int >= 1, got {history!r}")
        self._interval = seconds
        self._samples: deque[MemorySample] = deque(maxlen=history)
        self._alerts: deque[MemoryAlert] = deque(maxlen=history)
        self._undispatched: deque[MemoryAlert] = deque(maxlen=history)
        self._callbacks: list[Callable[[MemoryAlert], object]] = []
        self._thresholds: dict[AlertKey, float] = {}
        self._above: dict[AlertKey, bool] = {}
        self._lock = threading.Lock()
        self._sampled = threading.Condition(self._lock)
        self._sample_count = 0
        self._state_lock = threading.Lock()
        self._recorder = GCRecorder()
        self._baseline: _Baseline | None = None
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()

    def __enter__(self) -> MemoryMonitor:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def interval(self) -> float:
        """Seconds between samples."""
        return self._interval

    @property
    def running(self) -> bool:
        """Whether the sampling thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start sampling; a no-op when already started."""
        with self._state_lock:
            if self._thread is not None:
                return
            self._recorder.start()
            with self._lock:
                self._baseline = None
                self._take_sample()
            stop = self._stop_event = threading.Event()
            thread = threading.Thread(target=self._run, args=(stop,), name="memguard-monitor", daemon=True)
            self._thread = thread
            thread.start()

    def stop(self) -> None:
        """Stop sampling and join the thread; a no-op when not started."""
        with self._state_lock:
            thread, self._thread = self._thread, None
            if thread is None:
                return
            self._stop_event.set()
        if thread is not threading.current_thread():
            thread.join()
        self._recorder.stop()

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self._interval):
            try:
                self.sample_now()
            except Exception:
                logger.exception("memguard: memory monitor sample failed")

    # -- thresholds and alerts ---------------------------------------------------------------------

    def set_alert(self, key: str, value: object) -> None:
        """Alert when ``key`` goes above ``value``; ``ValueError`` naming both when either is bad.

        ``rss`` and ``heap`` take bytes or sizes (``"100 MiB"``), ``gc_pause`` seconds or durations
        (``"5 ms"``), ``rss_fraction`` a share of physical memory in (0, 1], ``gc_frequency`` collections
        per second, ``threads`` a count. ``heap`` is only checked while tracemalloc is tracing.
        """
        if key not in ALERT_KEYS:
            raise ValueError(
                f"unknown alert key {key!r} (value {value!r}); valid keys: {', '.join(ALERT_KEYS)}"
            )
        threshold = _parse_threshold(key, value)
        with self._lock:
            self._thresholds[key] = threshold
            self._above.pop(key, None)

    def clear_alert(self, key: str) -> None:
        """Stop checking ``key``."""
        with self._lock:
            self._thresholds.pop(cast(AlertKey, key), None)
            self._above.pop(cast(AlertKey, key), None)

    @property
    def thresholds(self) -> dict[AlertKey, float]:
        """The thresholds set, by key."""
        with self._lock:
            return dict(self._thresholds)

    def on_alert(self, callback: Callable[[MemoryAlert], object]) -> Callable[[MemoryAlert], object]:
        """Call ``callback(alert)`` from :meth:`dispatch_alerts`; returns it, so it can decorate."""
        with self._lock:
            self._callbacks.append(callback)
        return callback

    def dispatch_alerts(self) -> int:
        """Run the alert callbacks, on this thread, for alerts raised since the last dispatch.

        Returns how many alerts were dispatched. A callback that raises is logged on the
        ``pytest_memguard.engine`` logger and the others still run.
        """
        count = 0
        while self._undispatched:
            try:
                alert = self._undispatched.popleft()
            except IndexError:
                break
            count += 1
            with self._lock:
                callbacks = list(self._callbacks)
            for callback in callbacks:
                try:
                    callback(alert)
                except Exception:
                    logger.exception("memguard: alert callback %r raised", callback)
        return count

    @property
    def alerts(self) -> list[MemoryAlert]:
        """The alerts raised and not yet taken, oldest first (a copy)."""
        with self._lock:
            return list(self._alerts)

    def take_alerts(self) -> list[MemoryAlert]:
        """Return the alerts raised and not yet taken, and forget them."""
        with self._lock:
            taken = list(self._alerts)
            self._alerts.clear()
            return taken

    # -- samples -----------------------------------------------------------------------------------

    def samples(self) -> list[MemorySample]:
        """The kept samples, oldest first (a copy)."""
        with self._lock:
            return list(self._samples)

    @property
    def latest(self) -> MemorySample | None:
        """The newest sample, or None."""
        with self._lock:
            return self._samples[-1] if self._samples else None

    def wait_for_sample(self, timeout: float | None = None) -> bool:
        """Block until the next sample is taken (by any thread); False if ``timeout`` seconds pass first."""
        with self._sampled:
            seen = self._sample_count
            return self._sampled.wait_for(lambda: self._sample_count != seen, timeout)

    def sample_now(self) -> MemorySample:
        """Take a sample on this thread now, check the thresholds, and return it."""
        with self._lock:
            return self._take_sample()

    def _take_sample(self) -> MemorySample:
        clock = time.perf_counter()
        rss = resident_bytes()
        traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else None
        collections = _gc_collections()
        recording = self._recorder.running
        seq = self._recorder.snapshot().last_seq if recording else 0
        basis = traced if traced is not None else rss
        previous = self._baseline
        gc_frequency = alloc_rate = 0.0
        pause_max: float | None = None
        if previous is not None and clock > previous.clock:
            elapsed = clock - previous.clock
            gc_frequency = (sum(collections) - previous.collections) / elapsed
            if previous.traced == (traced is not None):
                alloc_rate = (basis - previous.basis) / elapsed
        if recording:
            since = previous.seq if previous is not None else seq
            pause_max = max((p.duration for p in self._recorder.pauses_since(since)), default=0.0)
        self._baseline = _Baseline(clock, sum(collections), basis, traced is not None, seq)
        sample = MemorySample(
            timestamp=time.time(),
            rss=rss,
            rss_fraction=rss / total_memory_bytes(),
            traced_heap=traced,
            allocated_blocks=sys.getallocatedblocks(),
            gc_collections=collections,
            gc_frequency=gc_frequency,
            gc_pause_max=pause_max,
            threads=threading.active_count(),
            alloc_rate=alloc_rate,
        )
        self._samples.append(sample)
        self._check(sample)
        self._sample_count += 1
        self._sampled.notify_all()
        return sample

    def _check(self, sample: MemorySample) -> None:
        values: dict[AlertKey, float | None] = {
            "rss": sample.rss,
            "heap": sample.traced_heap,
            "rss_fraction": sample.rss_fraction,
            "gc_frequency": sample.gc_frequency,
            "gc_pause": sample.gc_pause_max,
            "threads": sample.threads,
        }
        for key, threshold in self._thresholds.items():
            value = values[key]
            if value is None:
                continue
            above = value > threshold
            if above and not self._above.get(key, False):
                alert = MemoryAlert(
                    key=key,
                    value=float(value),
                    threshold=threshold,
                    timestamp=sample.timestamp,
                    message=f"{key} {_format(key, value)} > {_format(key, threshold)}",
                    severity="critical" if value >= 2 * threshold else "warning",
                )
                self._alerts.append(alert)
                self._undispatched.append(alert)
            self._above[key] = above


def _gc_collections() -> tuple[int, int, int]:
    young, middle, old = (int(generation["collections"]) for generation in gc.get_stats())
    return (young, middle, old)


def _parse_threshold(key: AlertKey, value: object) -> float:
    try:
        if key in ("rss", "heap"):
            return float(parse_size(value))
        if key == "gc_pause":
            return parse_duration(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, got {value!r}")
        number = float(value)
        if key == "rss_fraction" and not 0 < number <= 1:
            raise ValueError(f"expected a fraction in (0, 1], got {value!r}")
        if key == "threads" and (number < 1 or number != int(number)):
            raise ValueError(f"expected a whole number of threads >= 1, got {value!r}")
        if number < 0 or number != number:
            raise ValueError(f"expected a number >= 0, got {value!r}")
        return number
    except ValueError as exc:
        raise ValueError(f"bad value {value!r} for alert key {key!r}: {exc}") from None


def _format(key: AlertKey, value: float) -> str:
    if key in ("rss", "heap"):
        return format_size(value)
    if key == "gc_pause":
        return format_duration(value)
    if key == "rss_fraction":
        return f"{value:.2f}"
    if key == "gc_frequency":
        return f"{value:.1f}/s"
    return f"{value:.0f}"
