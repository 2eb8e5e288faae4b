"""Tests that DO leak: every run of the body leaves about 1 KiB (Python) or 1 MiB (native) more alive.

Each is marked ``memguard.no_leaks()`` and must fail with ``memguard: no_leaks: ...``. The payloads are
built at run time (``bytes(1024)``, never a literal such as ``b"x" * 1024``: the compiler folds that into
one constant, and appending the same object again leaks 8 bytes, not 1 KiB).
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import functools
import io
import itertools
import linecache
import logging
import mmap
import pathlib
import sys
import threading
import time
import types
from collections import defaultdict
from typing import ClassVar

from pytest_memguard import memguard

KIB = 1024
MIB = 1024 * 1024

# -- Python objects -------------------------------------------------------------------------------

_BYTES: list[bytes] = []


@memguard.no_leaks()
def test_leak_bytes_appended_to_global_list() -> None:
    _BYTES.append(bytes(KIB))


class _Small:
    __slots__ = ("payload",)

    def __init__(self) -> None:
        self.payload = bytes(100)


_OBJECTS: dict[int, list[_Small]] = {}
_OBJECT_KEYS = itertools.count()


@memguard.no_leaks()
def test_leak_small_objects_in_global_dict() -> None:
    # 10 instances with a 100-byte payload each (~1.7 KiB with the object headers), under a new key.
    _OBJECTS[next(_OBJECT_KEYS)] = [_Small() for _ in range(10)]


class _Plugin:
    registry: ClassVar[list[_Plugin]] = []  # a class attribute: shared by every instance, never emptied

    def __init__(self, name: str) -> None:
        self.name = name
        self.config = bytearray(KIB)
        type(self).registry.append(self)


@memguard.no_leaks()
def test_leak_class_attribute_registry() -> None:
    _Plugin(f"plugin-{len(_Plugin.registry)}")


class _EventBus:
    def __init__(self) -> None:
        self.listeners: list[object] = []

    def subscribe(self, callback: object) -> None:
        self.listeners.append(callback)

    def emit(self, event: str) -> None:
        for listener in self.listeners:
            listener(event)  # type: ignore[operator]


_BUS = _EventBus()


@memguard.no_leaks()
def test_leak_listeners_never_unsubscribed() -> None:
    state = bytearray(KIB)  # captured by the closure, so kept alive by the bus

    def on_event(event: str) -> None:
        state[0] = len(event) & 0xFF

    _BUS.subscribe(on_event)
    _BUS.emit("started")


_CALLS = itertools.count()


@functools.lru_cache(maxsize=None)  # noqa: UP033 (an unbounded lru_cache is the point)
def _render(n: int) -> bytes:
    return bytes(KIB) + n.to_bytes(8, "little")


@memguard.no_leaks()
def test_leak_unbounded_lru_cache_new_argument() -> None:
    assert len(_render(next(_CALLS))) == KIB + 8


@memguard.no_leaks()
def test_leak_logger_handler_added_per_run() -> None:
    logger = logging.getLogger("corpus.leaky")
    logger.addHandler(logging.StreamHandler(io.StringIO("x" * KIB)))  # added every run, never removed
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.info("run")


class _Node:
    def __init__(self) -> None:
        self.peer: _Node | None = None
        self.payload = bytes(KIB)


_ROOTS: list[_Node] = []


@memguard.no_leaks()
def test_leak_reference_cycle_reachable_from_global() -> None:
    a, b = _Node(), _Node()
    a.peer, b.peer = b, a  # a cycle, but a global keeps it reachable: gc.collect() cannot free it
    _ROOTS.append(a)


_LOCAL = threading.local()


@memguard.no_leaks()
def test_leak_thread_local_cache_time_keys() -> None:
    cache = getattr(_LOCAL, "cache", None)
    if cache is None:
        cache = _LOCAL.cache = {}
    cache[time.perf_counter_ns()] = bytes(KIB)  # a new key every run


_RESULTS: dict[str, bytes] = {}
_REQUESTS = itertools.count()


@memguard.no_leaks()
def test_leak_module_cache_counter_keys() -> None:
    _RESULTS[f"request-{next(_REQUESTS)}"] = bytes(KIB)


_GENERATED = itertools.count()


@memguard.no_leaks()
def test_leak_sys_modules_registry() -> None:
    # A code generator that registers each generated module in sys.modules and never removes it.
    name = f"corpus_generated_{next(_GENERATED)}"
    module = types.ModuleType(name)
    exec("TABLE = [n * n for n in range(100)]\ndef lookup(n):\n    return TABLE[n]\n", module.__dict__)
    sys.modules[name] = module


class _Connection:
    def __init__(self) -> None:
        self.buffer = bytearray(KIB)

    def close(self) -> None:
        self.buffer = bytearray()


@memguard.no_leaks()
def test_leak_atexit_register_per_run() -> None:
    connection = _Connection()
    atexit.register(connection.close)  # the atexit list keeps every connection until exit


_EVENTS: defaultdict[str, list[tuple[int, bytes]]] = defaultdict(list)


@memguard.no_leaks()
def test_leak_growing_defaultdict_list() -> None:
    _EVENTS["call"].append((len(_EVENTS["call"]), bytes(KIB)))


_FINISHED: list[threading.Thread] = []


@memguard.no_leaks()
def test_leak_finished_threads_kept_in_list() -> None:
    # A worker pool that remembers every thread it ran: each Thread keeps its Events, Conditions and locks
    # (allocated inside threading.py) alive.
    worker = threading.Thread(target=lambda: None, name=f"worker-{len(_FINISHED)}")
    worker.start()
    worker.join()
    _FINISHED.append(worker)


_SOURCES = itertools.count()


@memguard.no_leaks()
def test_leak_linecache_new_file_per_run(tmp_path: pathlib.Path) -> None:
    # Formatting tracebacks from generated source files: linecache keeps the lines of every file it read.
    path = tmp_path / f"generated_{next(_SOURCES)}.py"
    path.write_text("".join(f"value_{n} = {n!r:>40}\n" for n in range(20)))
    assert linecache.getline(str(path), 1).startswith("value_0")


# -- native memory (native=True) ------------------------------------------------------------------

_libc = ctypes.CDLL(ctypes.util.find_library("c"))
_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]


@memguard.no_leaks(native=True)
def test_leak_native_malloc_never_freed() -> None:
    # 1 MiB from the C allocator, never freed and never touched: invisible to tracemalloc and to RSS.
    assert _libc.malloc(MIB)


_MAPS: list[mmap.mmap] = []


@memguard.no_leaks(native=True)
def test_leak_native_anonymous_mmap_kept() -> None:
    # 1 MiB of anonymous memory mapped (not malloc'ed) and touched: resident, kept by a global list.
    region = mmap.mmap(-1, MIB)
    region.write(b"\x01" * MIB)
    _MAPS.append(region)


_BUFFERS: list[ctypes.Array[ctypes.c_char]] = []


@memguard.no_leaks(native=True)
def test_leak_native_string_buffer_kept() -> None:
    # ctypes allocates the buffer through Python's allocator: tracemalloc sees this one too.
    _BUFFERS.append(ctypes.create_string_buffer(MIB))
