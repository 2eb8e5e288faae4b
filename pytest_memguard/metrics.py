"""Prometheus export of a session's figures: a textfile for node_exporter, or a push to a Pushgateway.

A test run is a batch job, so its metrics cannot be scraped while it runs: they are either written for the
node_exporter textfile collector or pushed to a Pushgateway at the end of the session. Everything goes
into a ``CollectorRegistry`` of our own, built from the results by a custom collector, never into
prometheus-client's global registry: a plugin must not leak series into the application under test, and
two sessions in one process (pytester) must not see each other's figures.

Names follow the Prometheus conventions: the unit in the name (``_bytes``, ``_seconds``), base units only,
and a figure that was not measured is absent rather than 0, since 0 is a measurement.
"""

from __future__ import annotations

import http.client
import os
import re
import urllib.error
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest, push_to_gateway
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import basic_auth_handler, default_handler
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from .baseline import current_environment
from .errors import MemguardError, MemguardUsageError
from .fileio import StrPath, write_atomic
from .jsonreport import compute_totals
from .results import TestResult

__all__ = [
    "PASSWORD_ENV",
    "USERNAME_ENV",
    "MemguardPushError",
    "WorkerMetrics",
    "build_registry",
    "parse_labels",
    "push",
    "write_textfile",
]

USERNAME_ENV = "MEMGUARD_PUSHGATEWAY_USERNAME"
PASSWORD_ENV = "MEMGUARD_PUSHGATEWAY_PASSWORD"

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class MemguardPushError(MemguardError):
    """A push to the Pushgateway failed; the message names the URL (without credentials) and the error."""


class _ResultsCollector(Collector):
    """Yields the figures of a finished session each time the registry is collected."""

    def __init__(self, results: Sequence[TestResult], session_info: Mapping[str, Any]) -> None:
        self._results = results
        self._session_info = session_info

    def collect(self) -> Iterator[Metric]:
        yield from _test_families(self._results)
        yield from _session_families(self._results, self._session_info)


class _RegistryCollector(Collector):
    """Re-exports another registry (the engine's ``MemoryMetrics.registry``), read at collect time."""

    def __init__(self, registry: Collector) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()


def build_registry(
    results: Iterable[TestResult],
    session_info: Mapping[str, Any],
    extra_registries: Iterable[Collector] = (),
) -> CollectorRegistry:
    """Return a new registry exporting ``results`` per test and the session totals, plus ``extra_registries``.

    ``session_info`` may hold ``duration`` (seconds) and ``exitstatus`` (int); other keys are ignored here.
    The registry checks metric names on registration, so an extra registry that exports one of our names
    raises ``ValueError`` ("Duplicated timeseries") here rather than producing text a Pushgateway rejects.
    """
    registry = CollectorRegistry(auto_describe=True)
    registry.register(_ResultsCollector(list(results), dict(session_info)))
    for extra in extra_registries:
        registry.register(_RegistryCollector(extra))
    return registry


def _gauge(name: str, documentation: str, labels: Sequence[str] = ("test",)) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


def _test_families(results: Sequence[TestResult]) -> Iterator[Metric]:
    figures: list[tuple[str, str, Callable[[TestResult], float | None]]] = [
        ("memguard_test_duration_seconds", "Duration of the test call.", lambda r: r.duration),
        (
            "memguard_test_peak_heap_bytes",
            "Peak traced Python heap above the call's start.",
            lambda r: r.peak_heap,
        ),
        (
            "memguard_test_peak_rss_bytes",
            "Peak resident set size above the call's start.",
            lambda r: r.peak_rss,
        ),
        (
            "memguard_test_gc_pause_max_seconds",
            "Longest garbage collection during the call.",
            lambda r: r.gc_pause_max,
        ),
        (
            "memguard_test_leak_bytes_per_run",
            "Memory retained per extra run of the test body (leak check).",
            lambda r: r.leak_per_run,
        ),
    ]
    for name, documentation, read in figures:
        family = _gauge(name, documentation)
        for result in results:
            value = read(result)
            if value is not None:
                family.add_metric([result.nodeid], float(value))
        if family.samples:
            yield family
    # Per test, only the figures a dashboard plots: every series is one more per test (cardinality), and
    # writing them is most of the cost of the textfile. The JSON report has all of them, per generation too.
    collections = _gauge("memguard_test_gc_collections", "Garbage collections during the call.")
    failed = _gauge(
        "memguard_test_check_failed", "1 if the check failed on the test, 0 if it passed.", ("test", "check")
    )
    for result in results:
        collections.add_metric([result.nodeid], float(sum(result.gc_collections)))
        for check in result.checks:
            failed.add_metric([result.nodeid, check.name], 0.0 if check.passed else 1.0)
    yield from (family for family in (collections, failed) if family.samples)


def _session_families(results: Sequence[TestResult], session_info: Mapping[str, Any]) -> Iterator[Metric]:
    totals = compute_totals(results)
    scalars: list[tuple[str, str, object]] = [
        ("memguard_session_tests", "Tests measured in the session.", totals["tests"]),
        ("memguard_session_failed_checks", "Failed memguard checks in the session.", totals["failed_checks"]),
        (
            "memguard_session_tests_failing_checks",
            "Tests with a failed memguard check.",
            totals["tests_failing_checks"],
        ),
        ("memguard_session_leaks", "Tests whose leak check failed.", totals["leaks_found"]),
        ("memguard_session_peak_heap_max_bytes", "Largest peak heap of a test.", totals["max_peak_heap"]),
        ("memguard_session_peak_rss_max_bytes", "Largest peak RSS of a test.", totals["max_peak_rss"]),
        (
            "memguard_session_gc_pause_max_seconds",
            "Longest garbage collection in a test.",
            totals["longest_gc_pause"],
        ),
        (
            "memguard_session_gc_pause_seconds",
            "Time spent in garbage collection in tests.",
            totals["gc_pause_total"],
        ),
        ("memguard_session_duration_seconds", "Duration of the whole session.", session_info.get("duration")),
        (
            "memguard_session_exit_status",
            "pytest's exit status for the session.",
            session_info.get("exitstatus"),
        ),
    ]
    for name, documentation, value in scalars:
        number = _number(value)
        if number is not None:
            family = GaugeMetricFamily(name, documentation)
            family.add_metric([], number)
            yield family
    collections = _gauge(
        "memguard_session_gc_collections", "Garbage collections in tests, by generation.", ("generation",)
    )
    for generation, count in enumerate(totals["gc_collections"]):
        collections.add_metric([str(generation)], float(count))
    yield collections
    environment = current_environment()
    info = _gauge(
        "memguard_session_info",
        "The interpreter, platform and plugin version of the session (always 1).",
        ("python", "implementation", "platform", "plugin_version"),
    )
    info.add_metric(
        [environment[key] for key in ("python", "implementation", "platform", "plugin_version")], 1.0
    )
    yield info


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):  # pytest.ExitCode is an IntEnum, so an int
        return float(value)
    return None


def write_textfile(path: StrPath, registry: Collector) -> str | None:
    """Write ``registry`` to ``path`` atomically in the text format node_exporter's textfile collector reads.

    Returns a warning when the name does not end in ``.prom``: node_exporter ignores such files, but a
    user may mean to rename it or feed it to something else, so it is written anyway.
    """
    write_atomic(path, generate_latest(registry), what="memguard Prometheus textfile")
    if not os.fspath(path).endswith(".prom"):
        name = os.fspath(path)
        return f"{name} does not end in .prom: node_exporter's textfile collector only reads *.prom files"
    return None


def _redact(url: str) -> str:
    # A URL with user:password@ must not end up in a CI log through an error message.
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return url
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"***@{host}"))


def _describe_push_error(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        try:
            body = error.read().decode("utf-8", "replace").strip()
        except Exception:  # the body is a courtesy; the status says enough
            body = ""
        detail = f": {body[:300]}" if body else ""
        return f"HTTP {error.code} {error.reason}{detail}"
    if isinstance(error, urllib.error.URLError):
        reason = error.reason
        return str(reason.strerror or reason) if isinstance(reason, OSError) else str(reason)
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def push(
    url: str,
    job: str,
    registry: Collector,
    grouping_key: Mapping[str, str] | None = None,
    timeout: float = 10,
) -> None:
    """Push ``registry`` to the Pushgateway at ``url`` as ``job``, replacing the group ``grouping_key``.

    When ``MEMGUARD_PUSHGATEWAY_USERNAME`` is set the push uses HTTP basic auth with it and
    ``MEMGUARD_PUSHGATEWAY_PASSWORD`` (credentials come from the environment so they stay out of command
    lines and ini files; use an ``https://`` URL, basic auth sends them in the clear otherwise). Any failure
    (refused, unreachable, timeout, an HTTP error such as 400 for inconsistent metrics, a malformed URL)
    raises :class:`MemguardPushError` naming the URL and the error.
    """
    if not url or not url.strip():
        raise MemguardPushError("cannot push metrics: the Pushgateway URL is empty")
    if not job:
        raise MemguardPushError(f"cannot push metrics to {_redact(url)}: the job name is empty")
    _check_url(url)
    handler = _auth_handler()
    try:
        push_to_gateway(
            url,
            job=job,
            registry=registry,
            grouping_key=dict(grouping_key or {}),
            timeout=timeout,
            handler=handler,
        )
    except (OSError, ValueError, http.client.HTTPException) as error:
        raise MemguardPushError(
            f"cannot push metrics to the Pushgateway at {_redact(url)}: {_describe_push_error(error)}"
        ) from error


def _check_url(url: str) -> None:
    # prometheus-client prefixes anything without http(s):// with http://, which turns a typo such as
    # "htp://host" into a confusing DNS error; say what is wrong instead.
    try:
        parts = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as error:
        raise MemguardPushError(f"cannot push metrics to {_redact(url)}: bad URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise MemguardPushError(
            f"cannot push metrics to {_redact(url)}: unsupported scheme {parts.scheme!r} (use http:// or https://)"
        )
    if not parts.hostname:
        raise MemguardPushError(f"cannot push metrics to {_redact(url)}: the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise MemguardPushError(
            f"cannot push metrics to {_redact(url)}: put credentials in {USERNAME_ENV} and {PASSWORD_ENV}, "
            "not in the URL (URLs end up in logs)"
        )


def _auth_handler() -> Callable[..., Callable[[], None]]:
    username = os.environ.get(USERNAME_ENV)
    password = os.environ.get(PASSWORD_ENV)
    if not username:
        if password:
            raise MemguardUsageError(
                f"{PASSWORD_ENV} is set but {USERNAME_ENV} is not: set both for basic auth"
            )
        return default_handler

    def handler(
        url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes
    ) -> Callable[[], None]:
        return basic_auth_handler(url, method, timeout, headers, data, username, password or "")

    return handler


def parse_labels(values: Iterable[str]) -> dict[str, str]:
    """Parse ``["branch=main", "shard=1"]`` into a grouping key ``{"branch": "main", "shard": "1"}``.

    Raises :class:`MemguardUsageError` naming the bad entry when it has no ``=``, its name is not a
    Prometheus label name (``[a-zA-Z_][a-zA-Z0-9_]*``, not starting with ``__``, not ``job``, which is the
    job name itself), or the same name is given twice.
    """
    labels: dict[str, str] = {}
    for entry in values:
        name, equals, value = entry.partition("=")
        name = name.strip()
        if not equals:
            raise MemguardUsageError(f"bad label {entry!r}: expected NAME=VALUE, e.g. branch=main")
        if not _LABEL_NAME.match(name):
            raise MemguardUsageError(
                f"bad label {entry!r}: {name!r} is not a Prometheus label name "
                "(letters, digits and '_', not starting with a digit)"
            )
        if name.startswith("__"):
            raise MemguardUsageError(
                f"bad label {entry!r}: names starting with '__' are reserved by Prometheus"
            )
        if name == "job":
            raise MemguardUsageError(
                f"bad label {entry!r}: 'job' is the job name; set it with the job option"
            )
        if name in labels:
            raise MemguardUsageError(f"bad label {entry!r}: {name!r} is given twice")
        labels[name] = value
    return labels


class WorkerMetrics(Collector):
    """The workers' engine metrics, each sample labelled with its worker so that none collide."""

    def __init__(self, outputs: dict[str, dict[str, Any]]) -> None:
        self._outputs = outputs

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for worker, output in sorted(self._outputs.items()):
            for text in output.get("metrics", []):
                for family in text_string_to_metric_families(text):
                    merged = families.setdefault(
                        family.name, Metric(family.name, family.documentation, family.type)
                    )
                    merged.samples.extend(
                        Sample(s.name, {**s.labels, "worker": worker}, s.value, s.timestamp, s.exemplar)
                        for s in family.samples
                    )
        yield from families.values()
