"""Settings resolved once: command line, then ini, then each test's ``memguard`` markers.

One parser per kind of value (size, duration, count, alert); every error names the value and where it came
from (``--memguard-max-heap``, ini ``memguard_max_heap``, or the marker on a test).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .engine.gc_optimizer import GC_STRATEGIES
from .engine.monitor import ALERT_KEYS, MemoryMonitor
from .markers import MARKER_KEYS
from .rules import Rule, parse_rule
from .units import parse_duration, parse_size

__all__ = [
    "ALERT_KEYS",
    "GC_STRATEGIES",
    "OPTIONS",
    "ItemPlan",
    "LeakPlan",
    "Option",
    "PlanError",
    "Settings",
    "parse_alert",
    "plan_for_markers",
]


#: Heap growth per run at or below this is noise, not a leak, for ``no_leaks``: free lists, dict resizes,
#: and CPython's type attribute cache, which keeps a fresh string per slot and takes thousands of runs to
#: fill (``asyncio.run`` shows ~300 B/run of it). Half the 1 KiB per run a leak check must find.
NO_LEAK_HEAP_FLOOR: Final = 512
#: Native growth per run below this is allocator noise for ``native=True`` (arena and page granularity).
NO_LEAK_NATIVE_FLOOR: Final = 64 * 1024


def _parse_count(value: object, *, minimum: int = 0) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ValueError(f"expected a whole number, got {value!r}") from None
    if not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {value!r}")
    if value < minimum:
        raise ValueError(f"expected a whole number >= {minimum}, got {value!r}")
    return value


def _parse_positive_float(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {value!r}") from None
    if isinstance(value, bool) or not number >= 0:
        raise ValueError(f"expected a number >= 0, got {value!r}")
    return number


def _parse_fraction(value: object) -> float:
    if isinstance(value, str) and value.strip().endswith("%"):
        number = _parse_positive_float(value.strip()[:-1]) / 100
    else:
        number = _parse_positive_float(value)
    if number > 1:
        raise ValueError(f"expected a fraction between 0 and 1 (or a percentage), got {value!r}")
    return number


def _parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def parse_alert(text: str) -> tuple[str, float]:
    """Parse ``KEY=VALUE`` (``rss=2GiB``, ``gc_pause=50ms``) into a key and a threshold in base units."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep:
        raise ValueError(f"expected KEY=VALUE with KEY one of {', '.join(ALERT_KEYS)}, got {text!r}")
    return key, parse_alert_value(key, raw.strip())


def parse_alert_value(key: str, value: object) -> float:
    """A monitor threshold in base units, parsed by the engine's own ``MemoryMonitor.set_alert``."""
    if key not in ALERT_KEYS:
        raise ValueError(f"unknown alert key {key!r}; the keys are {', '.join(ALERT_KEYS)}")
    monitor = MemoryMonitor()
    if key in ("rss_fraction", "gc_frequency", "threads") and isinstance(value, str):
        value = _parse_fraction(value) if key == "rss_fraction" else _parse_positive_float(value)
    monitor.set_alert(key, value)
    return monitor.thresholds[key]


def _parse_size_or_none(value: object) -> int | None:
    return None if value in (None, "") else parse_size(value)


def _parse_duration_or_none(value: object) -> float | None:
    return None if value in (None, "") else parse_duration(value)


def _path(value: object) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError(f"expected a path, got {value!r}")
    return text


def _url(value: object) -> str:
    text = _path(value)
    if "://" not in text:
        text = "http://" + text  # prometheus-client's own default for a bare host:port
    return text


def _rule(value: object) -> Rule:
    return parse_rule(str(value))


def _label(value: object) -> tuple[str, str]:
    from .metrics import parse_labels  # prometheus-client, only when a label is given

    ((name, label),) = parse_labels([str(value)]).items()
    return name, label


@dataclass(frozen=True)
class Option:
    """One command-line option and its ini twin, with the parser both go through."""

    flag: str
    ini: str
    help: str
    parse: Callable[[Any], Any] | None = None
    default: Any = None
    action: str = "store"
    metavar: str | None = None

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    def argparse_type(self) -> Callable[[str], Any] | None:
        """An argparse ``type=`` that turns a bad value into a message naming the option."""
        parse = self.parse
        if parse is None:
            return None
        flag = self.flag

        def convert(text: str) -> Any:
            try:
                return parse(text)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(f"{flag}: {exc}") from None

        convert.__name__ = self.dest
        return convert


def _counted(minimum: int) -> Callable[[object], int]:
    return lambda value: _parse_count(value, minimum=minimum)


OPTIONS: Final = (
    Option(
        "--memguard",
        "memguard_enable",
        "measure every test cheaply (peak RSS, GC collections and pauses, "
        "duration) and print a summary of the largest tests",
        _parse_bool,
        False,
        "store_true",
    ),
    Option(
        "--memguard-heap",
        "memguard_heap",
        "also trace every test's Python heap with tracemalloc (costs what tracemalloc costs)",
        _parse_bool,
        False,
        "store_true",
    ),
    Option(
        "--memguard-max-heap",
        "memguard_max_heap",
        "default peak-heap limit for every test not marked memguard.skip()",
        _parse_size_or_none,
        None,
        metavar="SIZE",
    ),
    Option(
        "--memguard-max-rss",
        "memguard_max_rss",
        "default peak-RSS limit for every test not marked memguard.skip()",
        _parse_size_or_none,
        None,
        metavar="SIZE",
    ),
    Option(
        "--memguard-max-gc-pause",
        "memguard_max_gc_pause",
        "default longest-GC-pause limit for every test not marked memguard.skip()",
        _parse_duration_or_none,
        None,
        metavar="DURATION",
    ),
    Option(
        "--memguard-leaks",
        "memguard_leaks",
        "leak-check every test not marked memguard.skip()",
        _parse_bool,
        False,
        "store_true",
    ),
    Option(
        "--memguard-leak-runs",
        "memguard_leak_runs",
        "measured extra runs of a leak check (default 3)",
        _counted(2),
        3,
        metavar="N",
    ),
    Option(
        "--memguard-leak-warmups",
        "memguard_leak_warmups",
        "unmeasured extra runs before a leak check's measured runs (default 1)",
        _counted(0),
        1,
        metavar="N",
    ),
    Option(
        "--memguard-alert",
        "memguard_alert",
        "a memory-monitor threshold for every test, KEY=VALUE with "
        f"KEY one of {', '.join(ALERT_KEYS)} (repeatable)",
        parse_alert,
        None,
        "append",
        "KEY=VALUE",
    ),
    Option(
        "--memguard-top",
        "memguard_top",
        "rows in the summary of the largest tests (default 10)",
        _counted(0),
        10,
        metavar="N",
    ),
    Option(
        "--memguard-frames",
        "memguard_frames",
        "frames of call stack kept per allocation (default 1; more shows "
        "who called each allocation site, and tracing costs more)",
        _counted(1),
        1,
        metavar="N",
    ),
    Option(
        "--memguard-save",
        "memguard_save",
        "write every test's figures to PATH (JSON baseline)",
        _path,
        None,
        metavar="PATH",
    ),
    Option(
        "--memguard-compare",
        "memguard_compare",
        "compare with a saved baseline (or JSON report) at PATH",
        _path,
        None,
        metavar="PATH",
    ),
    Option(
        "--memguard-fail-regression",
        "memguard_fail_regression",
        "fail the session when a test grew "
        "beyond EXPR: peak_heap:10%%, peak_rss:5MiB, leak:0, gc_pause:2ms (repeatable)",
        _rule,
        None,
        "append",
        "EXPR",
    ),
    Option(
        "--memguard-regression-floor",
        "memguard_regression_floor",
        "ignore size growth under SIZE when comparing (default 0)",
        parse_size,
        0,
        metavar="SIZE",
    ),
    Option(
        "--memguard-json",
        "memguard_json",
        "write the full report as JSON to PATH",
        _path,
        None,
        metavar="PATH",
    ),
    Option(
        "--memguard-prometheus",
        "memguard_prometheus",
        "write Prometheus metrics to PATH atomically (node_exporter textfile collector; name it *.prom)",
        _path,
        None,
        metavar="PATH",
    ),
    Option(
        "--memguard-pushgateway",
        "memguard_pushgateway",
        "push the metrics to the Prometheus Pushgateway at URL at the end of the session",
        _url,
        None,
        metavar="URL",
    ),
    Option(
        "--memguard-job",
        "memguard_job",
        "the Pushgateway job name (default pytest)",
        _path,
        "pytest",
        metavar="NAME",
    ),
    Option(
        "--memguard-label",
        "memguard_label",
        "a Pushgateway grouping label NAME=VALUE (repeatable)",
        _label,
        None,
        "append",
        "NAME=VALUE",
    ),
)


@dataclass(frozen=True)
class Settings:
    """The session's memguard settings, resolved from the command line and ini once."""

    measure_all: bool = False
    trace_all: bool = False
    max_heap: int | None = None
    max_rss: int | None = None
    max_gc_pause: float | None = None
    leaks: bool = False
    leak_runs: int = 3
    leak_warmups: int = 1
    alerts: Mapping[str, float] = field(default_factory=dict)
    top: int = 10
    frames: int = 1
    save: str | None = None
    compare: str | None = None
    fail_regression: tuple[Rule, ...] = ()
    regression_floor: int = 0
    json: str | None = None
    prometheus: str | None = None
    pushgateway: str | None = None
    job: str = "pytest"
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def outputs(self) -> bool:
        """Whether a file, a comparison or a push needs every test's figures."""
        return any((self.save, self.compare, self.json, self.prometheus, self.pushgateway))

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Settings:
        """Build from parsed option values keyed by option ``dest``; ``alerts`` come as (key, value) pairs."""
        alerts = dict(values.get("memguard_alert") or ())
        rules = tuple(values.get("memguard_fail_regression") or ())
        outputs = any(
            values.get(key)
            for key in (
                "memguard_save",
                "memguard_compare",
                "memguard_json",
                "memguard_prometheus",
                "memguard_pushgateway",
            )
        )
        return cls(
            # Files and comparisons want every test's figures; a peak_heap rule needs the heap traced.
            measure_all=bool(values.get("memguard")) or outputs,
            trace_all=bool(values.get("memguard_heap")) or any(rule.figure == "peak_heap" for rule in rules),
            max_heap=values.get("memguard_max_heap"),
            max_rss=values.get("memguard_max_rss"),
            max_gc_pause=values.get("memguard_max_gc_pause"),
            leaks=bool(values.get("memguard_leaks")),
            leak_runs=values.get("memguard_leak_runs", 3),
            leak_warmups=values.get("memguard_leak_warmups", 1),
            alerts=alerts,
            top=values.get("memguard_top", 10),
            frames=values.get("memguard_frames", 1),
            save=values.get("memguard_save"),
            compare=values.get("memguard_compare"),
            fail_regression=rules,
            regression_floor=values.get("memguard_regression_floor") or 0,
            json=values.get("memguard_json"),
            prometheus=values.get("memguard_prometheus"),
            pushgateway=values.get("memguard_pushgateway"),
            job=values.get("memguard_job") or "pytest",
            labels=dict(values.get("memguard_label") or ()),
        )


@dataclass(frozen=True)
class LeakPlan:
    """A leak check: ``limit`` bytes of growth per run tolerated (``None`` for ``no_leaks``)."""

    limit: int | None
    runs: int
    warmups: int
    native: bool

    @property
    def heap_threshold(self) -> int:
        return NO_LEAK_HEAP_FLOOR if self.limit is None else self.limit

    @property
    def native_threshold(self) -> int:
        return max(NO_LEAK_NATIVE_FLOOR, self.limit or 0)

    @property
    def check_name(self) -> str:
        return "no_leaks" if self.limit is None else "max_leak"


@dataclass(frozen=True)
class ItemPlan:
    """What memguard measures and checks for one test, after its markers and the global options."""

    max_heap: int | None = None
    max_rss: int | None = None
    max_gc_pause: float | None = None
    no_uncollectable: bool = False
    leak: LeakPlan | None = None
    alerts: Mapping[str, float] = field(default_factory=dict)
    gc_strategy: str | None = None
    skip: bool = False
    measure: bool = False
    trace_heap: bool = False

    @property
    def active(self) -> bool:
        return self.measure or self.trace_heap or self.has_checks or self.gc_strategy is not None

    @property
    def has_checks(self) -> bool:
        return (
            self.max_heap is not None
            or self.max_rss is not None
            or self.max_gc_pause is not None
            or self.no_uncollectable
            or self.leak is not None
            or bool(self.alerts)
        )


class PlanError(ValueError):
    """A bad ``memguard`` marker argument; the message names the key and the value."""


def _marker_value(key: str, value: object) -> Any:
    parsers: dict[str, Callable[[object], Any]] = {
        "max_heap": parse_size,
        "max_rss": parse_size,
        "max_leak": parse_size,
        "max_gc_pause": parse_duration,
        "runs": _counted(2),
        "warmups": _counted(0),
        "native": _parse_bool,
        "no_leaks": _parse_bool,
        "no_uncollectable": _parse_bool,
        "skip": _parse_bool,
    }
    if key in parsers:
        if key in {"native", "no_leaks", "no_uncollectable", "skip"} and not isinstance(value, bool):
            raise ValueError(f"expected True or False, got {value!r}")
        return parsers[key](value)
    if key == "gc_strategy":
        if value not in GC_STRATEGIES:
            raise ValueError(f"unknown GC strategy {value!r}; the strategies are {', '.join(GC_STRATEGIES)}")
        return value
    if key == "alerts":
        if not isinstance(value, Mapping):
            raise ValueError(f"expected keyword thresholds such as rss='2 GiB', got {value!r}")
        return {str(name): parse_alert_value(str(name), raw) for name, raw in value.items()}
    raise ValueError(f"unknown keyword {key}={value!r}; the keywords are {', '.join(sorted(MARKER_KEYS))}")


def plan_for_markers(
    markers: Iterable[tuple[tuple[Any, ...], Mapping[str, Any]]], settings: Settings
) -> ItemPlan:
    """Resolve a test's ``memguard`` markers (closest first, as ``(args, kwargs)``) against the settings.

    Per key the closest marker wins; keys no marker sets fall back to the global options unless the test is
    marked ``skip``. Raises :class:`PlanError` naming the first bad key and value.
    """
    chosen: dict[str, Any] = {}
    for args, kwargs in markers:
        if args:
            raise PlanError(
                f"memguard takes keyword arguments only, got positional {args!r}; "
                "use e.g. memguard.max_heap('64 MiB')"
            )
        for key, value in kwargs.items():
            if key in chosen:
                continue
            try:
                chosen[key] = _marker_value(key, value)
            except ValueError as exc:
                raise PlanError(f"{key}={value!r}: {exc}") from None
    skip = chosen.get("skip", False)

    def pick(key: str, default: Any) -> Any:
        return chosen.get(key, None if skip else default)

    leak: LeakPlan | None = None
    if chosen.get("no_leaks") or "max_leak" in chosen or (settings.leaks and not skip):
        leak = LeakPlan(
            limit=chosen.get("max_leak"),
            runs=chosen.get("runs", settings.leak_runs),
            warmups=chosen.get("warmups", settings.leak_warmups),
            native=chosen.get("native", False),
        )
    elif any(key in chosen for key in ("runs", "warmups", "native")):
        raise PlanError("runs, warmups and native go with no_leaks or max_leak")
    max_heap = pick("max_heap", settings.max_heap)
    alerts = chosen.get("alerts", {} if skip else dict(settings.alerts))
    return ItemPlan(
        max_heap=max_heap,
        max_rss=pick("max_rss", settings.max_rss),
        max_gc_pause=pick("max_gc_pause", settings.max_gc_pause),
        no_uncollectable=chosen.get("no_uncollectable", False),
        leak=leak,
        alerts=alerts,
        gc_strategy=chosen.get("gc_strategy"),
        skip=skip,
        measure=settings.measure_all or bool(set(chosen) - {"skip"}),
        trace_heap=max_heap is not None or (settings.trace_all and not skip),
    )
