"""Tests that DO NOT leak: whatever a run of the body leaves behind does not grow run after run.

Each is marked ``memguard.no_leaks()`` and must pass. Several fill a cache or a registry once (on the first
run, which is the normal run of the test); others use pytest's fixtures and recorders, which keep what the
test produced (warnings, log records, captured output) for the report.
"""

from __future__ import annotations

import asyncio
import copy
import ctypes
import dataclasses
import datetime
import decimal
import enum
import functools
import gc
import itertools
import json
import logging
import re
import string
import tempfile
import threading
import unittest
import warnings
import weakref
from collections import deque
from pathlib import Path

import pytest

from pytest_memguard import memguard

KIB = 1024
MIB = 1024 * 1024

# -- caches that fill once ------------------------------------------------------------------------


@functools.lru_cache(maxsize=128)
def _square(n: int) -> list[int]:
    return [n] * 100


@memguard.no_leaks()
def test_clean_bounded_lru_cache_same_args() -> None:
    assert sum(len(_square(n)) for n in range(100)) == 100 * 100


@functools.cache
def _word(n: int) -> str:
    return f"word-{n}" * 20


@memguard.no_leaks()
def test_clean_functools_cache_same_args() -> None:
    assert all(_word(n) for n in range(50))


@memguard.no_leaks()
def test_clean_lazy_import_stdlib_module() -> None:
    import fractions  # not imported by pytest or the plugin: imported by the first run only

    assert fractions.Fraction(1, 3) * 3 == 1


@memguard.no_leaks()
def test_clean_lazy_import_package() -> None:
    from email.mime.multipart import MIMEMultipart  # pulls in a dozen email.* modules the first time

    assert MIMEMultipart()["Content-Type"].startswith("multipart/mixed")


@memguard.no_leaks()
def test_clean_re_compile_cached_pattern() -> None:
    pattern = re.compile(r"(?P<key>corpus_[a-z]+)=(?P<value>\d+(?:\.\d+)?)")
    assert pattern.match("corpus_clean=1.5")["value"] == "1.5"
    assert re.fullmatch(r"corpus-(\w+)-(\d{3})", "corpus-re-123")  # the module-level cache too


@memguard.no_leaks()
def test_clean_strptime_regex_cache() -> None:
    # datetime.strptime imports _strptime and caches the compiled format (bounded at 100 formats).
    when = datetime.datetime.strptime("2026-12-04 17:30:00", "%Y-%m-%d %H:%M:%S")
    assert when.hour == 17


class _Perm(enum.Flag):
    R = 4
    W = 2
    X = 1


class _Color(enum.Enum):
    RED = 1
    GREEN = 2


@memguard.no_leaks()
def test_clean_enum_use() -> None:
    # Flag combinations are created once and cached in _value2member_map_: a cache with 8 entries at most.
    combos = {_Perm(n) for n in range(8)}
    assert _Perm.R | _Perm.W in combos
    assert _Color(1) is _Color["RED"] and [c.name for c in _Color] == ["RED", "GREEN"]


_SEEN: dict[str, int] = {}


@memguard.no_leaks()
def test_clean_dict_grows_once_then_stays() -> None:
    for n in range(200):
        _SEEN[f"key-{n}"] = n  # the same 200 keys every run


_RECENT: deque[bytes] = deque(maxlen=100)


@memguard.no_leaks()
def test_clean_bounded_deque() -> None:
    for _ in range(150):
        _RECENT.append(bytes(100))  # full after the first run; later runs replace entries
    assert len(_RECENT) == 100


_LIVE: weakref.WeakValueDictionary[int, object] = weakref.WeakValueDictionary()


class _Temp:
    def __init__(self) -> None:
        self.payload = bytes(KIB)


@memguard.no_leaks()
def test_clean_weak_value_dictionary() -> None:
    temps = [_Temp() for _ in range(50)]
    for n, temp in enumerate(temps):
        _LIVE[n] = temp
    assert len(_LIVE) == 50
    del temps, temp
    assert len(_LIVE) == 0


# -- pytest's recorders and fixtures --------------------------------------------------------------


@memguard.no_leaks()
def test_clean_warnings_warn_once() -> None:
    warnings.warn("once", UserWarning, stacklevel=1)  # pytest records it for the warnings summary


@pytest.mark.filterwarnings("always::UserWarning")
@memguard.no_leaks()
def test_clean_warnings_always_recorded() -> None:
    for n in range(10):
        warnings.warn(f"warning {n} " + "x" * 200, UserWarning, stacklevel=1)


@memguard.no_leaks()
def test_clean_pytest_warns() -> None:
    with pytest.warns(DeprecationWarning, match="old"):
        warnings.warn("old api", DeprecationWarning, stacklevel=1)


@memguard.no_leaks()
def test_clean_logging_new_logger() -> None:
    logger = logging.getLogger("corpus.clean.new")  # created by the first run only
    logger.info("info record %s", "x" * 200)
    logger.warning("warning record %s", "x" * 200)  # passes the root level: pytest's log capture keeps it


@memguard.no_leaks()
def test_clean_caplog_asserts_message(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="corpus.clean.caplog"):
        logging.getLogger("corpus.clean.caplog").info("hello %s", "x" * 200)
    assert "hello" in caplog.text


@memguard.no_leaks()
def test_clean_caplog_clear_then_assert(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    logging.getLogger("corpus.clean.caplog").info("first")
    caplog.clear()
    logging.getLogger("corpus.clean.caplog").info("second")
    assert [record.getMessage() for record in caplog.records] == ["second"]


@memguard.no_leaks()
def test_clean_print_output() -> None:
    for n in range(20):
        print(f"line {n}: " + "x" * 100)  # captured by pytest


@memguard.no_leaks()
def test_clean_capsys(capsys: pytest.CaptureFixture[str]) -> None:
    print("hello " + "x" * 500)
    out, _ = capsys.readouterr()
    assert out.startswith("hello")


@memguard.no_leaks()
def test_clean_tmp_path(tmp_path: Path) -> None:
    target = tmp_path / "data.json"
    target.write_text(json.dumps({"n": list(range(1000))}))
    assert len(json.loads(target.read_text())["n"]) == 1000


@memguard.no_leaks()
def test_clean_record_property(record_property: object) -> None:
    record_property("corpus_size", 42)  # type: ignore[operator]


@memguard.no_leaks()
def test_clean_recwarn_pop(recwarn: pytest.WarningsRecorder) -> None:
    warnings.warn("deprecated call", UserWarning, stacklevel=1)
    assert "deprecated" in str(recwarn.pop(UserWarning).message)


class _Settings:
    debug = False
    level = 1
    name = "prod"
    timeout = 30.0
    retries = 3


@memguard.no_leaks()
def test_clean_monkeypatch(monkeypatch: pytest.MonkeyPatch) -> None:
    # monkeypatch remembers every change to undo it at teardown
    monkeypatch.setattr(_Settings, "debug", True)
    monkeypatch.setattr(_Settings, "level", 5)
    monkeypatch.setattr(_Settings, "name", "test")
    monkeypatch.setattr(_Settings, "timeout", 0.1)
    monkeypatch.setattr(_Settings, "retries", 0)
    monkeypatch.setenv("CORPUS_MODE", "test")
    monkeypatch.setitem(_SEEN, "patched", 1)
    assert _Settings.debug and _Settings.level == 5


@memguard.no_leaks()
def test_clean_request_addfinalizer(request: pytest.FixtureRequest) -> None:
    resource = {"open": True}
    request.addfinalizer(lambda: resource.update(open=False))  # run at teardown


# -- allocations that are all released ------------------------------------------------------------


class _Cyclic:
    def __init__(self) -> None:
        self.me = self
        self.payload = bytes(KIB)


@memguard.no_leaks()
def test_clean_reference_cycles_dropped() -> None:
    nodes = [_Cyclic() for _ in range(100)]
    for a, b in itertools.pairwise(nodes):
        a.next = b  # type: ignore[attr-defined]
    del nodes  # garbage now, freed by the collection after the run


@memguard.no_leaks()
def test_clean_big_allocation_freed() -> None:
    block = bytearray(10 * MIB)
    block[-1] = 1
    del block


@memguard.no_leaks()
def test_clean_string_formatting() -> None:
    template = string.Template("$name has $count items: $items")
    for n in range(500):
        text = template.substitute(name=f"user{n}", count=n, items=",".join(map(str, range(10))))
        assert "{:>10}|{:<8.3f}|{!r}".format(text[:5], n / 3, text)  # noqa: UP032 (str.format on purpose)


@memguard.no_leaks()
def test_clean_json_roundtrip() -> None:
    data = {f"k{n}": {"values": list(range(50)), "name": f"item {n}", "ok": n % 2 == 0} for n in range(500)}
    assert json.loads(json.dumps(data)) == data


@memguard.no_leaks()
def test_clean_deepcopy() -> None:
    data = {"rows": [{"id": n, "tags": [f"t{n}"] * 5, "meta": {"x": (n, n)}} for n in range(300)]}
    assert copy.deepcopy(data) == data


@memguard.no_leaks()
def test_clean_tempfile() -> None:
    with tempfile.TemporaryDirectory() as directory:
        with tempfile.NamedTemporaryFile("w", dir=directory, suffix=".txt", delete=False) as handle:
            handle.write("x" * 10_000)
        assert Path(handle.name).stat().st_size == 10_000
    with tempfile.SpooledTemporaryFile(max_size=KIB) as spooled:
        spooled.write(b"y" * 5000)


@memguard.no_leaks()
def test_clean_decimal_context() -> None:
    with decimal.localcontext() as context:
        context.prec = 50
        third = decimal.Decimal(1) / decimal.Decimal(3)
    assert str(third).startswith("0.3333")


@memguard.no_leaks()
def test_clean_gc_collect_inside() -> None:
    garbage = [[n] for n in range(1000)]
    garbage.append(garbage)  # type: ignore[arg-type]
    del garbage
    gc.collect()


@memguard.no_leaks()
def test_clean_thread_started_and_joined() -> None:
    results: list[int] = []
    workers = [threading.Thread(target=results.append, args=(n,)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(results) == [0, 1, 2, 3]


async def _gather() -> int:
    async def one(n: int) -> int:
        await asyncio.sleep(0)
        return n

    return sum(await asyncio.gather(*(one(n) for n in range(10))))


@memguard.no_leaks()
def test_clean_asyncio_run() -> None:
    assert asyncio.run(_gather()) == 45  # a new event loop per run, closed at the end


@memguard.no_leaks()
def test_clean_dataclass_created_per_run() -> None:
    # A new class per run: the class is garbage after the run (classes are in reference cycles).
    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int
        y: int = 0
        tags: list[str] = dataclasses.field(default_factory=list)

    assert Point(1) == Point(1, 0, [])


# -- shapes of tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [10, 1000, 100_000])
@memguard.no_leaks()
def test_clean_parametrized(size: int) -> None:
    assert len(bytes(size)) == size


class TestCleanMethods:
    @memguard.no_leaks()
    def test_clean_method_sets_attribute(self) -> None:
        self.buffer = bytearray(4 * KIB)  # replaced by each run: one buffer alive at a time

    @memguard.no_leaks()
    def test_clean_method_local_state(self) -> None:
        assert sum(range(1000)) == 499500


class TestCleanUnittest(unittest.TestCase):
    def setUp(self) -> None:
        self.data = [bytes(KIB) for _ in range(16)]

    def tearDown(self) -> None:
        del self.data

    @memguard.no_leaks()
    def test_clean_unittest_setup_allocates(self) -> None:
        self.assertEqual(len(self.data), 16)


@memguard.no_leaks(native=True)
def test_clean_native_big_bytearray_freed() -> None:
    block = bytearray(10 * MIB)
    block[::4096] = b"\x01" * len(block[::4096])
    del block


# Loaded once: a CDLL per run makes a new _FuncPtr class per run, and CPython's type attribute cache
# then keeps ~150 B of attribute-name strings per run for the first few hundred runs (near the noise floor).
_libc = ctypes.CDLL(None)
_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]
_libc.free.argtypes = [ctypes.c_void_p]


@memguard.no_leaks(native=True)
def test_clean_native_malloc_freed() -> None:
    pointers = [_libc.malloc(64 * KIB) for _ in range(32)]
    assert all(pointers)
    for pointer in pointers:
        _libc.free(pointer)
