"""Resident set size: the peak during a stretch of code, above its level at the start.

On Linux the kernel keeps the high-water mark (``VmHWM``) and resets it when ``5`` is written to
``/proc/self/clear_refs``: exact and costs a few microseconds. Elsewhere a thread samples RSS with psutil
every millisecond, which can miss a spike shorter than that. RSS counts pages the process touched, Python's
and native alike; memory malloc'ed but never written is not resident and does not show.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from typing import Final

import psutil

_PAGE_SIZE: Final = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_SAMPLE_INTERVAL: Final = 0.001


class _ProcFiles:
    """Open file descriptors on our own /proc entries, kept open so each reading is one pread."""

    def __init__(self) -> None:
        self.statm = -1
        self.status = -1
        self.clear_refs = -1
        if not sys.platform.startswith("linux"):
            return
        try:
            self.statm = os.open("/proc/self/statm", os.O_RDONLY)
            self.status = os.open("/proc/self/status", os.O_RDONLY)
            self.clear_refs = os.open("/proc/self/clear_refs", os.O_WRONLY)
            os.write(self.clear_refs, b"5")
        except OSError:
            self.clear_refs = -1

    @property
    def has_hwm(self) -> bool:
        return self.clear_refs >= 0

    def rss(self) -> int:
        return int(os.pread(self.statm, 128, 0).split()[1]) * _PAGE_SIZE

    def reset_hwm(self) -> None:
        os.write(self.clear_refs, b"5")

    def hwm(self) -> int:
        status = os.pread(self.status, 8192, 0)
        start = status.index(b"VmHWM:") + 6
        return int(status[start : status.index(b"kB", start)]) * 1024


_proc: _ProcFiles | None = None
_pid = -1


def _files() -> _ProcFiles:
    global _proc, _pid
    if _proc is None or _pid != os.getpid():  # a forked child must not read its parent's /proc entries
        _proc, _pid = _ProcFiles(), os.getpid()
    return _proc


def current_rss() -> int:
    """This process's resident set size now, in bytes."""
    files = _files()
    if files.statm >= 0:
        return files.rss()
    return int(psutil.Process().memory_info().rss)


def rss_method() -> str:
    """How peak RSS is measured here, for the report header."""
    return "kernel high-water mark (VmHWM)" if _files().has_hwm else "sampling every 1 ms (psutil)"


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _load_mallinfo2() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        function = ctypes.CDLL(None).mallinfo2
    except (AttributeError, OSError):
        return None
    function.restype = _MallInfo2
    function.argtypes = []
    return function


_mallinfo2 = _load_mallinfo2() if sys.platform.startswith("linux") else None


def native_in_use() -> tuple[int, str]:
    """Bytes the C allocator has handed out and not had back, and what that figure is.

    With glibc's ``mallinfo2`` this counts malloc'ed memory whether or not it was ever touched, which RSS
    does not; elsewhere it falls back to RSS.
    """
    if _mallinfo2 is not None:
        info = _mallinfo2()
        return int(info.uordblks + info.hblkhd), "malloc in use (mallinfo2)"
    return current_rss(), "RSS"


_active: list[RSSProbe] = []


class RSSProbe:
    """The peak RSS of a stretch of code above the RSS at its start."""

    __slots__ = ("_files", "_peak", "_stop", "_thread", "start_rss")

    def __init__(self) -> None:
        self._files = _files()
        self.start_rss = 0
        self._peak = 0
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._files.has_hwm:
            # Resetting the high-water mark would lose the peak of an enclosing probe: fold it in first.
            if _active:
                hwm = self._files.hwm()
                for outer in _active:
                    outer._peak = max(outer._peak, hwm)
            self._files.reset_hwm()
            self.start_rss = self._peak = self._files.rss()
            _active.append(self)
            return
        self.start_rss = self._peak = current_rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="memguard-rss", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        assert self._stop is not None
        process = psutil.Process()
        while not self._stop.wait(_SAMPLE_INTERVAL):
            rss = int(process.memory_info().rss)
            if rss > self._peak:
                self._peak = rss

    def stop(self) -> int:
        """Stop measuring and return the peak above the start, in bytes (never negative)."""
        if self._files.has_hwm:
            if self in _active:
                _active.remove(self)
            return max(0, max(self._peak, self._files.hwm()) - self.start_rss)
        if self._stop is not None and self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._stop = self._thread = None
        return max(0, max(self._peak, current_rss()) - self.start_rss)
