"""Extra runs of a test body that leave pytest's per-test state as the normal run left it.

A leak check runs the body again with the same fixture values. pytest keeps a record of what a test does —
log records, warnings, captured output, ``record_property`` entries, monkeypatches, finalizers — and each
extra run would add to it: memory that grows run after run and looks like the test's leak, and fixtures
(``caplog``, ``recwarn``) that see what earlier runs did. After each extra run, what it added is rolled
back: monkeypatches undone, finalizers run, records cut back to their length before the run. The user's
own state (a handler added to a logger, an item in a global list) is not touched: that is what a leak is.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from _pytest.capture import CaptureIO
from _pytest.compat import NOTSET
from _pytest.logging import LogCaptureHandler
from _pytest.monkeypatch import MonkeyPatch

__all__ = ["run_isolated"]

Restore = Callable[[], None]


def _log_handlers() -> list[Restore]:
    restores: list[Restore] = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, LogCaptureHandler):
            records, stream = handler.records, handler.stream
            count, position = len(records), stream.tell()

            def restore(
                handler: LogCaptureHandler = handler,
                records: list[Any] = records,
                stream: Any = stream,
                count: int = count,
                position: int = position,
            ) -> None:
                if handler.records is records:  # caplog.clear() replaces them: then nothing to cut
                    del records[count:]
                if handler.stream is stream:
                    stream.seek(position)
                    stream.truncate()

            restores.append(restore)
    return restores


def _warnings_log() -> list[Restore]:
    # pytest's warning capture and ``recwarn`` both record through catch_warnings(record=True), whose
    # recorder is the bound ``append`` of a list.
    recorder = getattr(warnings, "_showwarnmsg_impl", None)
    log = getattr(recorder, "__self__", None)
    # Entering catch_warnings marks the filters changed, which empties every module's registry of warnings
    # already shown: each run sees its warnings as the normal run did, as pytest arranges for each test.
    with warnings.catch_warnings():
        pass
    if not isinstance(log, list):
        return []
    count = len(log)

    def restore() -> None:
        del log[count:]

    return [restore]


def _captured_output() -> list[Restore]:
    restores: list[Restore] = []
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, CaptureIO):  # --capture=sys keeps output in memory; fd capture uses a file
            position = stream.tell()

            def restore(stream: CaptureIO = stream, position: int = position) -> None:
                stream.seek(position)
                stream.truncate()

            restores.append(restore)
    return restores


def _user_properties(item: pytest.Item) -> list[Restore]:
    properties, count = item.user_properties, len(item.user_properties)

    def restore() -> None:
        del properties[count:]

    return [restore]


def _monkeypatches(item: pytest.Item) -> list[Restore]:
    patcher = getattr(item, "funcargs", {}).get("monkeypatch")
    if not isinstance(patcher, MonkeyPatch):
        return []
    attributes, items = len(patcher._setattr), len(patcher._setitem)

    def restore() -> None:
        for target, name, value in reversed(patcher._setattr[attributes:]):
            if value is NOTSET:
                delattr(target, name)
            else:
                setattr(target, name, value)
        del patcher._setattr[attributes:]
        for mapping, key, value in reversed(patcher._setitem[items:]):
            if value is NOTSET:
                mapping.pop(key, None)
            else:
                mapping[key] = value
        del patcher._setitem[items:]

    return [restore]


def _finalizers(item: pytest.Item) -> list[Restore]:
    stack = getattr(getattr(item.session, "_setupstate", None), "stack", None)
    if not isinstance(stack, dict) or item not in stack:
        return []
    finalizers = stack[item][0]
    count = len(finalizers)

    def restore() -> None:
        added = finalizers[count:]
        del finalizers[count:]
        for finalizer in reversed(added):  # as teardown would, newest first
            finalizer()

    return [restore]


def run_isolated(item: pytest.Item) -> None:
    """Run ``item``'s body once more, then roll back what pytest recorded of that run.

    An exception from the body propagates, after the rollback.
    """
    restores = [
        *_monkeypatches(item),
        *_finalizers(item),
        *_log_handlers(),
        *_warnings_log(),
        *_captured_output(),
        *_user_properties(item),
    ]
    try:
        item.runtest()
    finally:
        for restore in restores:
            restore()
