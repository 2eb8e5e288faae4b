"""Process figures from psutil: resident set size and the machine's memory, safe across ``fork``."""

from __future__ import annotations

import os
import threading

import psutil

__all__ = ["resident_bytes", "total_memory_bytes"]

_lock = threading.Lock()
_process: psutil.Process | None = None
_total: int | None = None


def _current_process() -> psutil.Process:
    # psutil.Process() is bound to a pid: a forked child (an xdist worker, a multiprocessing pool) would
    # otherwise keep reading its parent's figures.
    global _process
    process = _process
    if process is None or process.pid != os.getpid():
        with _lock:
            process = _process = psutil.Process()
    return process


def resident_bytes() -> int:
    """The resident set size of this process now, in bytes."""
    return int(_current_process().memory_info().rss)


def total_memory_bytes() -> int:
    """Physical memory of the machine, in bytes (read once: it does not change under a process)."""
    global _total
    if _total is None:
        _total = int(psutil.virtual_memory().total)
    return _total
