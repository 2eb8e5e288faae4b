"""Every engine test leaves the collector and the thread list as it found them."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _interpreter_state_is_restored() -> Iterator[None]:
    before = (gc.get_threshold(), gc.isenabled(), gc.get_freeze_count(), list(gc.callbacks))
    threads = set(threading.enumerate())
    yield
    after = (gc.get_threshold(), gc.isenabled(), gc.get_freeze_count(), list(gc.callbacks))
    try:
        assert after == before, "the test changed the collector's settings"
        assert set(threading.enumerate()) <= threads, "the test left a thread running"
    finally:
        gc.set_threshold(*before[0])
        gc.enable() if before[1] else gc.disable()
        gc.callbacks[:] = before[3]
