"""Benchmark helper: tracemalloc started around each test call, and nothing else.

The reference for ``--memguard --memguard-heap``: the least any per-test heap tracing can cost.
Load with ``-p trace_each_call`` (``benchmarks/_plugins`` on ``PYTHONPATH``).
``TRACE_EACH_CALL_FRAMES`` (default 1) sets the traceback depth given to ``tracemalloc.start()``.
"""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Generator

import pytest

_FRAMES = int(os.environ.get("TRACE_EACH_CALL_FRAMES", "1"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    tracemalloc.start(_FRAMES)
    try:
        return (yield)
    finally:
        tracemalloc.get_traced_memory()  # read the peak, as any user of the figure would
        tracemalloc.stop()
