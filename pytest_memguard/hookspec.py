"""Hooks other plugins can implement to react to memguard's findings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .results import TestResult

hookspec = pytest.hookspec


@hookspec
def pytest_memguard_alert(alert: Any) -> None:
    """Called on the main thread for each alert the memory monitor raised during a test call.

    ``alert`` is a :class:`pytest_memguard.MemoryAlert` (key, value, threshold, when, message).
    """


@hookspec
def pytest_memguard_test_result(item: pytest.Item, result: TestResult) -> None:
    """Called after memguard measured and checked a test call, with its figures and check verdicts."""


@hookspec
def pytest_memguard_regression(regressions: list[Any]) -> None:
    """Called once at the end of the session with the regressions found against ``--memguard-compare``.

    Each entry names the test, the figure, the baseline and the new value, and the rule it broke.
    """
