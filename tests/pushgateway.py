"""A real Prometheus Pushgateway for the tests, started on a free loopback port and stopped after.

Import the fixture into a test module (``from pushgateway import pushgateway_url``). Without the binary
the tests skip locally, saying how to install it; on CI (``CI=true``) they fail, so a CI image that lost
the package cannot turn the push tests into silent skips.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

__all__ = ["fetch_groups", "find_pushgateway", "pushgateway_url", "require_pushgateway"]

INSTALL_HINT = "prometheus-pushgateway not installed: apt-get install prometheus-pushgateway"
READY_TIMEOUT = 10.0


def find_pushgateway() -> str | None:
    """Return the path of the ``prometheus-pushgateway`` binary (Debian's package name), or ``None``."""
    found = shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")
    if found:
        return found
    debian = "/usr/bin/prometheus-pushgateway"
    return debian if os.access(debian, os.X_OK) else None


def require_pushgateway(
    find: Callable[[], str | None] = find_pushgateway, environ: Mapping[str, str] = os.environ
) -> str:
    """Return the binary, or skip (locally) / fail (when ``CI`` is ``true``) saying how to install it."""
    binary = find()
    if binary is None:
        if environ.get("CI", "").lower() == "true":
            pytest.fail(f"{INSTALL_HINT} (CI=true: a missing Pushgateway fails instead of skipping)", False)
        pytest.skip(INSTALL_HINT)
    return binary


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=0.5) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def running_pushgateway(binary: str, log: Path) -> Iterator[str]:
    """Run the gateway on a free port with no persistence file until the block ends; yield its URL."""
    for _attempt in range(3):  # another process may grab the free port between our probe and its bind
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with open(log, "wb") as log_stream:
            process = subprocess.Popen(
                [binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file=", "--log.level=info"],
                stdout=log_stream,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            deadline = time.monotonic() + READY_TIMEOUT
            while process.poll() is None and time.monotonic() < deadline and not _ready(url):
                time.sleep(0.05)
            if process.poll() is None and _ready(url):
                yield url
                return
            if process.poll() is None:
                pytest.fail(
                    f"the Pushgateway at {url} did not answer /-/ready within {READY_TIMEOUT:g} s; "
                    f"its log:\n{log.read_text(errors='replace')}",
                    False,
                )
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
    output = log.read_text(errors="replace")
    pytest.fail(f"the Pushgateway exited before it was ready; its log:\n{output}", False)


@pytest.fixture(scope="module")
def pushgateway_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a Pushgateway running for this test module (use a job name of your own per test)."""
    binary = require_pushgateway()
    log = tmp_path_factory.mktemp("pushgateway") / "pushgateway.log"
    with running_pushgateway(binary, log) as url:
        yield url


def fetch_groups(url: str) -> list[dict[str, Any]]:
    """Return the groups from ``GET /api/v1/metrics`` (each: ``labels`` and one entry per metric)."""
    with urllib.request.urlopen(f"{url}/api/v1/metrics", timeout=5) as response:
        payload = json.loads(response.read().decode("utf-8"))
    assert payload["status"] == "success", payload
    groups: list[dict[str, Any]] = payload["data"]
    return groups
