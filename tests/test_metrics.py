from __future__ import annotations

import base64
import http.server
import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Gauge, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pushgateway import fetch_groups, pushgateway_url, require_pushgateway

from pytest_memguard.errors import MemguardError, MemguardUsageError
from pytest_memguard.metrics import (
    PASSWORD_ENV,
    USERNAME_ENV,
    MemguardPushError,
    build_registry,
    parse_labels,
    push,
    write_textfile,
)
from pytest_memguard.results import CheckResult, TestResult

__all__ = ["pushgateway_url"]  # the fixture, imported so pytest finds it in this module

A = "tests/test_app.py::test_big[x|y]"
B = "tests/test_app.py::test_small"


def results() -> list[TestResult]:
    return [
        TestResult(
            A,
            duration=0.25,
            peak_heap=3 * 1024 * 1024,
            retained_heap=1024,
            peak_rss=8 * 1024 * 1024,
            gc_collections=[5, 2, 1],
            gc_pause_max=0.004,
            gc_pause_total=0.01,
            leak_per_run=2048,
            checks=[CheckResult("max_heap", False, "1 MiB"), CheckResult("no_leaks", False)],
        ),
        TestResult(B, duration=0.01, peak_rss=4096, checks=[CheckResult("max_rss", True, "1 MiB")]),
    ]


SESSION = {"duration": 12.5, "exitstatus": 1}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


def test_per_test_gauges_equal_the_results() -> None:
    found = samples(generate_latest(build_registry(results(), SESSION)).decode())
    a, b = results()
    assert value(found, "memguard_test_peak_heap_bytes", test=A) == a.peak_heap
    assert value(found, "memguard_test_peak_rss_bytes", test=A) == a.peak_rss
    assert value(found, "memguard_test_peak_rss_bytes", test=B) == b.peak_rss
    assert value(found, "memguard_test_duration_seconds", test=A) == a.duration
    assert value(found, "memguard_test_gc_pause_max_seconds", test=A) == a.gc_pause_max
    assert value(found, "memguard_test_leak_bytes_per_run", test=A) == a.leak_per_run
    assert "memguard_test_retained_heap_bytes" not in found  # in the JSON report, not a per-test series
    assert value(found, "memguard_test_gc_collections", test=A) == sum(a.gc_collections)
    assert value(found, "memguard_test_check_failed", test=A, check="max_heap") == 1
    assert value(found, "memguard_test_check_failed", test=A, check="no_leaks") == 1
    assert value(found, "memguard_test_check_failed", test=B, check="max_rss") == 0


def test_unmeasured_figures_are_absent_not_zero() -> None:
    found = samples(generate_latest(build_registry(results(), SESSION)).decode())
    assert ("memguard_test_peak_heap_bytes", frozenset({("test", B)})) not in found
    assert ("memguard_test_leak_bytes_per_run", frozenset({("test", B)})) not in found
    text = generate_latest(build_registry([TestResult(B)], {})).decode()
    assert "memguard_test_peak_heap_bytes" not in text
    assert "memguard_session_duration_seconds" not in text  # no duration in session_info


def test_session_totals() -> None:
    found = samples(generate_latest(build_registry(results(), SESSION)).decode())
    assert value(found, "memguard_session_tests") == 2
    assert value(found, "memguard_session_failed_checks") == 2
    assert value(found, "memguard_session_tests_failing_checks") == 1
    assert value(found, "memguard_session_leaks") == 1
    assert value(found, "memguard_session_duration_seconds") == 12.5
    assert value(found, "memguard_session_exit_status") == 1
    assert value(found, "memguard_session_peak_heap_max_bytes") == 3 * 1024 * 1024
    assert value(found, "memguard_session_peak_rss_max_bytes") == 8 * 1024 * 1024
    assert value(found, "memguard_session_gc_collections", generation="0") == 5
    assert value(found, "memguard_session_gc_pause_max_seconds") == 0.004


def test_registry_is_private_and_merges_extra_registries() -> None:
    engine = CollectorRegistry()
    Gauge("memguard_pool_hit_ratio", "Pool hit ratio.", ["pool"], registry=engine).labels("buffers").set(0.75)
    registry = build_registry(results(), SESSION, extra_registries=[engine])
    found = samples(generate_latest(registry).decode())
    assert value(found, "memguard_pool_hit_ratio", pool="buffers") == 0.75
    assert value(found, "memguard_session_tests") == 2
    assert "memguard_session_tests" not in generate_latest(REGISTRY).decode()
    # The extra registry is read when collected, not copied when built: the engine's live values show.
    engine_gauge = engine._names_to_collectors["memguard_pool_hit_ratio"]
    assert isinstance(engine_gauge, Gauge)
    engine_gauge.labels("buffers").set(0.5)
    again = samples(generate_latest(registry).decode())
    assert value(again, "memguard_pool_hit_ratio", pool="buffers") == 0.5


def test_a_name_clash_with_an_extra_registry_is_refused() -> None:
    engine = CollectorRegistry()
    Gauge("memguard_session_tests", "Clashes with ours.", registry=engine).set(1)
    with pytest.raises(ValueError, match="memguard_session_tests"):
        build_registry(results(), SESSION, extra_registries=[engine])


def test_write_textfile(tmp_path: Path) -> None:
    path = tmp_path / "memguard.prom"
    assert write_textfile(path, build_registry(results(), SESSION)) is None
    found = samples(path.read_text())
    assert value(found, "memguard_test_peak_heap_bytes", test=A) == 3 * 1024 * 1024
    assert sorted(p.name for p in tmp_path.iterdir()) == ["memguard.prom"]


def test_write_textfile_warns_about_a_name_node_exporter_ignores(tmp_path: Path) -> None:
    path = tmp_path / "memguard.txt"
    warning = write_textfile(path, build_registry(results(), SESSION))
    assert warning is not None and str(path) in warning and ".prom" in warning
    assert path.exists()


def test_write_textfile_error_names_the_path_and_keeps_the_old_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("sentinel")
    with pytest.raises(MemguardUsageError, match=r"not-a-dir/memguard\.prom"):
        write_textfile(blocker / "memguard.prom", build_registry(results(), SESSION))
    assert blocker.read_text() == "sentinel"


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ([], {}),
        (["branch=main"], {"branch": "main"}),
        (["branch=main", "shard=2"], {"branch": "main", "shard": "2"}),
        (["empty="], {"empty": ""}),
        (["url=a=b"], {"url": "a=b"}),
        (["_x1=y"], {"_x1": "y"}),
    ],
)
def test_parse_labels(labels: list[str], expected: dict[str, str]) -> None:
    assert parse_labels(labels) == expected


@pytest.mark.parametrize(
    ("label", "words"),
    [
        ("branch", "expected NAME=VALUE"),
        ("1shard=2", "not a Prometheus label name"),
        ("my-label=x", "not a Prometheus label name"),
        ("=x", "not a Prometheus label name"),
        ("__name__=x", "reserved"),
        ("job=x", "job"),
    ],
)
def test_parse_labels_errors(label: str, words: str) -> None:
    with pytest.raises(MemguardUsageError) as excinfo:
        parse_labels([label])
    assert repr(label) in str(excinfo.value)
    assert words in str(excinfo.value)


def test_parse_labels_twice() -> None:
    with pytest.raises(MemguardUsageError, match="given twice"):
        parse_labels(["a=1", "a=2"])


# -- pushing ------------------------------------------------------------------------------------------


@pytest.fixture
def no_auth_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(USERNAME_ENV, raising=False)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)


def group(url: str, **grouping: str) -> dict[str, Any]:
    for candidate in fetch_groups(url):
        if candidate["labels"] == grouping:
            return candidate
    raise AssertionError(f"no group {grouping} in the Pushgateway")


def gateway_value(found: dict[str, Any], name: str, **labels: str) -> float:
    for metric in found[name]["metrics"]:
        if all(metric["labels"].get(key) == expected for key, expected in labels.items()):
            return float(metric["value"])
    raise AssertionError(f"no {name}{labels} in {found[name]}")


@pytest.mark.usefixtures("no_auth_env")
def test_push_to_a_real_pushgateway(pushgateway_url: str) -> None:
    grouping = {"branch": "main", "shard": "1"}
    push(pushgateway_url, "memguard-values", build_registry(results(), SESSION), grouping)
    found = group(pushgateway_url, job="memguard-values", branch="main", shard="1")
    a, b = results()
    assert found["last_push_successful"] is True
    assert gateway_value(found, "memguard_test_peak_heap_bytes", test=A) == a.peak_heap
    assert gateway_value(found, "memguard_test_peak_rss_bytes", test=B) == b.peak_rss
    assert gateway_value(found, "memguard_test_leak_bytes_per_run", test=A) == a.leak_per_run
    assert gateway_value(found, "memguard_session_tests") == 2
    assert gateway_value(found, "memguard_session_duration_seconds") == 12.5
    metric = found["memguard_test_peak_heap_bytes"]["metrics"][0]
    assert metric["labels"]["branch"] == "main" and metric["labels"]["job"] == "memguard-values"


@pytest.mark.usefixtures("no_auth_env")
def test_pushed_text_parses_back_with_grouping_labels(pushgateway_url: str) -> None:
    push(pushgateway_url, "memguard-text", build_registry(results(), SESSION), {"branch": "feature/x"})
    with urllib.request.urlopen(f"{pushgateway_url}/metrics", timeout=5) as response:
        found = samples(response.read().decode())
    labels = {"job": "memguard-text", "branch": "feature/x", "instance": "", "test": A}
    assert value(found, "memguard_test_peak_heap_bytes", **labels) == 3 * 1024 * 1024


def test_push_with_basic_auth_env_to_a_real_pushgateway(
    pushgateway_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(USERNAME_ENV, "ci")
    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    push(pushgateway_url, "memguard-auth", build_registry(results(), SESSION), {})
    assert gateway_value(group(pushgateway_url, job="memguard-auth"), "memguard_session_tests") == 2


class _Recorder(http.server.BaseHTTPRequestHandler):
    status = 200
    requests: ClassVar[list[tuple[str, str, dict[str, str]]]] = []

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).requests.append((self.command, self.path, dict(self.headers.items())))
        body = b"pushed metrics are invalid" if self.status >= 400 else b""
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, type[_Recorder]]]:
    handler = type("Recorder", (_Recorder,), {"requests": [], "status": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_basic_auth_header_is_sent_from_the_environment(
    recorder: tuple[str, type[_Recorder]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, handler = recorder
    monkeypatch.setenv(USERNAME_ENV, "ci")
    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    push(url, "memguard", build_registry(results(), SESSION), {"branch": "main"})
    ((method, path, headers),) = handler.requests
    assert method == "PUT"
    assert path == "/metrics/job/memguard/branch/main"
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"ci:s3cret").decode()


@pytest.mark.usefixtures("no_auth_env")
def test_no_authorization_header_without_the_environment(recorder: tuple[str, type[_Recorder]]) -> None:
    url, handler = recorder
    push(url, "memguard", build_registry(results(), SESSION), {})
    ((_method, _path, headers),) = handler.requests
    assert "Authorization" not in headers


def test_password_without_username_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(USERNAME_ENV, raising=False)
    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    with pytest.raises(MemguardUsageError, match=USERNAME_ENV):
        push("http://127.0.0.1:9", "memguard", build_registry([], {}), {})


@pytest.mark.usefixtures("no_auth_env")
def test_http_error_names_url_and_status(recorder: tuple[str, type[_Recorder]]) -> None:
    url, handler = recorder
    handler.status = 400
    with pytest.raises(MemguardPushError) as excinfo:
        push(url, "memguard", build_registry(results(), SESSION), {})
    assert url in str(excinfo.value)
    assert "HTTP 400" in str(excinfo.value) and "pushed metrics are invalid" in str(excinfo.value)


def _refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


@pytest.mark.usefixtures("no_auth_env")
def test_push_to_a_refused_port_names_the_url() -> None:
    url = f"http://127.0.0.1:{_refused_port()}"
    with pytest.raises(MemguardPushError) as excinfo:
        push(url, "memguard", build_registry(results(), SESSION), {})
    assert isinstance(excinfo.value, MemguardError)
    assert url in str(excinfo.value) and "refused" in str(excinfo.value).lower()


@pytest.mark.usefixtures("no_auth_env")
def test_push_timeout_names_the_url() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(MemguardPushError, match="timed out") as excinfo:
            push(url, "memguard", build_registry([], {}), {}, timeout=0.3)
    assert url in str(excinfo.value)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "empty"),
        ("ftp://gateway:9091", "unsupported scheme 'ftp'"),
        ("http://127.0.0.1:notaport", "bad URL"),
        ("http://", "no host"),
        ("http://ci:s3cret@127.0.0.1:9091", "not in the URL"),
    ],
)
def test_bad_urls(url: str, words: str) -> None:
    with pytest.raises(MemguardPushError) as excinfo:
        push(url, "memguard", build_registry([], {}), {})
    assert words in str(excinfo.value)
    assert "s3cret" not in str(excinfo.value)


def test_missing_pushgateway_skips_locally_and_fails_on_ci() -> None:
    with pytest.raises(pytest.skip.Exception, match="apt-get install prometheus-pushgateway"):
        require_pushgateway(lambda: None, {})
    with pytest.raises(pytest.fail.Exception, match="apt-get install prometheus-pushgateway"):
        require_pushgateway(lambda: None, {"CI": "true"})
    assert require_pushgateway(lambda: "/bin/gw", {"CI": "true"}) == "/bin/gw"


@pytest.mark.usefixtures("no_auth_env")
def test_the_engine_registry_merges_and_pushes(pushgateway_url: str) -> None:
    from pytest_memguard.engine.metrics import MemoryMetrics

    engine = MemoryMetrics()
    try:
        registry = build_registry(results(), SESSION, extra_registries=[engine.registry])
        families = {
            family.name for family in text_string_to_metric_families(generate_latest(registry).decode())
        }
        assert {"memguard_session_tests", "memguard_gc_collections", "memguard_gc_pause_seconds"} <= families
        push(pushgateway_url, "memguard-engine", registry, {})
    finally:
        engine.close()
    found = group(pushgateway_url, job="memguard-engine")
    assert gateway_value(found, "memguard_session_tests") == 2
    assert "memguard_gc_pause_seconds" in found
