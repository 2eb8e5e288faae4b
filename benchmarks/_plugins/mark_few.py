"""Benchmark helper: mark a few collected tests ``memguard(max_heap="1 GiB")``, the rest untouched.

What a suite that checks only a handful of its tests costs, with the plugin loaded and no ``--memguard``.
Load with ``-p mark_few`` (``benchmarks/_plugins`` on ``PYTHONPATH``). ``MARK_FEW_COUNT`` (default 5) sets
how many; they are spread evenly over the selected items, in collection order, so the choice is the same
in every run.

The marks must be added after deselection (``-m``, ``-k``: plain ``pytest_collection_modifyitems``
implementations) and before memguard plans each item in its own ``trylast`` implementation, registered with
its session object in ``pytest_configure``. pluggy calls ``trylast`` implementations first-registered first,
and a ``-p`` plugin is registered before ``pytest_configure``, so a ``trylast`` hook here runs just in time.
At the end it prints ``mark_few: N marked, M measured`` (measured: call reports carrying memguard's figures),
which the benchmark checks.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

COUNT = int(os.environ.get("MARK_FEW_COUNT", "5"))

_marked: list[str] = []
_measured: set[str] = set()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    n = len(items)
    if n == 0:
        return
    count = min(COUNT, n)
    picks = sorted({round(i * (n - 1) / max(1, count - 1)) for i in range(count)})
    for index in picks:
        items[index].add_marker(pytest.mark.memguard(max_heap="1 GiB"))
        _marked.append(items[index].nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and any(name == "memguard" for name, _ in report.user_properties):
        _measured.add(report.nodeid)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(f"mark_few: {len(_marked)} marked, {len(_measured)} measured")
