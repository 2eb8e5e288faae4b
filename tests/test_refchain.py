"""refchain: the shortest chain of references from a root to an object, and how it reads.

Targets are only held through a weak reference in the tests' own frames (a running test frame is a root) and
handed to the search as ``ref()``, which lives on the caller's value stack, not in a local. Searches are not
run inside an ``assert``: pytest's assertion rewriting keeps its operands in the frame's locals.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
import types
import uuid
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_memguard.refchain import (
    DEFAULT_IGNORED_MODULE_PREFIXES,
    Chain,
    Link,
    SearchResult,
    find_chain,
    find_chain_report,
    format_chain,
)

NOT_FOUND = (
    "no chain of references from a module, class, frame or thread to {} was found (it may be held by a C "
    "extension or a reference cycle kept by a root we do not walk)"
)


class Foo:
    pass


class Holder:
    attr: object

    def method(self) -> None:
        pass


class Node:
    __slots__ = ("__weakref__", "payload", "value")

    def __init__(self, value: int) -> None:
        self.value = value


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


class GoodRepr:
    def __repr__(self) -> str:
        return "GoodRepr(1)"


class LongRepr:
    def __repr__(self) -> str:
        return "L" * 500


@pytest.fixture
def mod() -> Iterator[Any]:
    """A real module in ``sys.modules`` under a unique name, removed afterwards."""
    module = types.ModuleType(f"refchain_fixture_{uuid.uuid4().hex[:8]}")
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]
    module.__dict__.clear()


#: Deep enough to exhaust any heap: the test process may hold long chains of its own (pytester keeps the
#: tracebacks of in-process runs), and a must-not-find case must end "exhausted", not at the default depth.
UNBOUNDED: dict[str, Any] = {"max_depth": 100_000, "timeout": 60.0}


def render(ref: weakref.ref[Any], **options: Any) -> str:
    assert ref() is not None
    return format_chain(find_chain_report(ref(), **{**UNBOUNDED, **options}), ref())


def nest(obj: object, levels: int) -> object:
    for _ in range(levels):
        obj = [obj]
    return obj


def make_handler() -> Callable[[], object]:
    payload = Foo()

    def handler() -> object:
        return payload

    return handler


def test_module_global_list(mod: Any) -> None:
    mod._handlers = [Foo(), Foo(), Foo(), Foo()]
    ref = weakref.ref(mod._handlers[3])
    assert render(ref) == f"module {mod.__name__} → _handlers (list) → [3] → <Foo>"
    assert render(ref, ignore=[mod._handlers]) == NOT_FOUND.format("<Foo>")


def test_find_chain_returns_the_links(mod: Any) -> None:
    mod._handlers = [Foo()]
    ref = weakref.ref(mod._handlers[0])
    chain = find_chain(ref())
    assert chain == Chain("module", (Link(f"module {mod.__name__}"), Link("_handlers (list)"), Link("[0]")))
    assert format_chain(chain, ref()) == f"module {mod.__name__} → _handlers (list) → [0] → <Foo>"
    nothing = find_chain(Foo(), **UNBOUNDED)
    assert nothing is None
    assert format_chain(None, Foo()) == NOT_FOUND.format("<Foo>")


@pytest.mark.parametrize(
    ("build", "edge"),
    [
        (lambda foo: {"key": foo}, "registry (dict) → ['key']"),
        (lambda foo: {foo: 1}, "registry (dict) → key"),
        (lambda foo: {BadRepr(): foo}, "registry (dict) → [?]"),
        (lambda foo: ("a", foo), "registry (tuple) → [1]"),
        (lambda foo: {foo}, "registry (set) → {…}"),
    ],
    ids=["dict-value", "dict-key", "key-whose-repr-raises", "tuple", "set"],
)
def test_containers(mod: Any, build: Callable[[Foo], object], edge: str) -> None:
    mod.registry = build(Foo())
    ref = weakref.ref(next(o for o in gc.get_referents(mod.registry) if type(o) is Foo))
    assert render(ref) == f"module {mod.__name__} → {edge} → <Foo>"
    ignored = (*DEFAULT_IGNORED_MODULE_PREFIXES, mod.__name__)
    assert render(ref, ignore_modules=ignored) == NOT_FOUND.format("<Foo>")


@pytest.mark.parametrize("materialize_dict", [False, True])
def test_instance_attribute(mod: Any, materialize_dict: bool) -> None:
    mod.obj = Holder()
    mod.obj.attr = Foo()
    if materialize_dict:
        assert "attr" in mod.obj.__dict__
    ref = weakref.ref(mod.obj.attr)
    assert render(ref) == f"module {mod.__name__} → obj (Holder) → .attr → <Foo>"
    assert render(ref, ignore=[mod.obj]) == NOT_FOUND.format("<Foo>")


def test_slot(mod: Any) -> None:
    mod.node = Node(1)
    mod.node.payload = Foo()
    ref = weakref.ref(mod.node.payload)
    assert render(ref) == f"module {mod.__name__} → node (Node) → .payload → <Foo>"
    assert render(ref, ignore=(mod.node,)) == NOT_FOUND.format("<Foo>")


def test_class_attribute(mod: Any) -> None:
    exec("class Registry:\n    items = {}\n", mod.__dict__)
    mod.Registry.items["k"] = Foo()
    ref = weakref.ref(mod.Registry.items["k"])
    assert render(ref) == f"class {mod.__name__}.Registry → .items (dict) → ['k'] → <Foo>"
    chain = find_chain(ref())
    assert chain == Chain(
        "class", (Link(f"class {mod.__name__}.Registry"), Link(".items (dict)"), Link("['k']"))
    )
    ignored = (*DEFAULT_IGNORED_MODULE_PREFIXES, mod.__name__)
    assert render(ref, ignore_modules=ignored) == NOT_FOUND.format("<Foo>")


def test_closure_cell(mod: Any) -> None:
    mod.handler = make_handler()
    ref = weakref.ref(mod.handler())
    assert render(ref) == f"module {mod.__name__} → handler (function) → closure 'payload' → <Foo>"
    assert render(ref, ignore=[mod.handler]) == NOT_FOUND.format("<Foo>")


def test_bound_method(mod: Any) -> None:
    mod.callback = Holder().method
    ref = weakref.ref(mod.callback.__self__)
    assert render(ref) == f"module {mod.__name__} → callback (method) → .__self__ → <Holder>"
    assert render(ref, ignore=[mod.callback]) == NOT_FOUND.format("<Holder>")


def test_local_of_a_frame_in_another_thread() -> None:
    held, release = threading.Event(), threading.Event()
    box: list[Any] = []

    def hold() -> None:
        payload = Foo()
        box.append((weakref.ref(payload), sys._getframe().f_lineno + 2))
        held.set()
        release.wait()

    thread = threading.Thread(target=hold, name="holder")
    thread.start()
    try:
        assert held.wait(timeout=30)
        ref, line = box[0]
        where = f"{os.path.relpath(__file__)}:{line}"
        assert render(ref) == f"frame hold ({where}) → local 'payload' → <Foo>"
        ignored = (*DEFAULT_IGNORED_MODULE_PREFIXES, __name__)
        assert render(ref, ignore_modules=ignored) == NOT_FOUND.format("<Foo>")
    finally:
        release.set()
        thread.join()


def test_frames_running_code_of_an_ignored_package_are_not_roots(tmp_path: Any) -> None:
    # execnet runs xdist's worker loop with __name__ == "__channelexec__": such frames are told by their file.
    package = types.ModuleType(f"refchain_pkg_{uuid.uuid4().hex[:8]}")
    package.__path__ = [str(tmp_path)]
    filename = str(tmp_path / "loop.py")
    source = "def hold(box, held, release):\n    payload = box.pop()\n    held.set()\n    release.wait()\n"
    namespace: dict[str, Any] = {"__name__": "__channelexec__"}
    exec(compile(source, filename, "exec"), namespace)
    held, release, box = threading.Event(), threading.Event(), [Foo()]
    ref = weakref.ref(box[0])
    thread = threading.Thread(target=namespace["hold"], args=(box, held, release))
    thread.start()
    sys.modules[package.__name__] = package
    try:
        assert held.wait(timeout=30)
        assert render(ref) == f"frame hold ({filename}:4) → local 'payload' → <Foo>"
        ignored = (*DEFAULT_IGNORED_MODULE_PREFIXES, package.__name__)
        assert render(ref, ignore_modules=ignored) == NOT_FOUND.format("<Foo>")
    finally:
        del sys.modules[package.__name__]
        release.set()
        thread.join()


def test_local_of_the_calling_frame() -> None:
    obj = Foo()
    ref = weakref.ref(obj)
    line = sys._getframe().f_lineno + 1
    text = render(ref)
    where = f"{os.path.relpath(__file__)}:{line}"
    assert text == f"frame test_local_of_the_calling_frame ({where}) → local 'obj' → <Foo>"
    assert render(ref, ignore=[sys._getframe()]) == NOT_FOUND.format("<Foo>")


def test_attribute_of_a_thread() -> None:
    release = threading.Event()

    class Worker(threading.Thread):
        def __init__(self) -> None:
            super().__init__(name="cargo-holder")
            self.cargo = Foo()

        def run(self) -> None:
            release.wait()

    worker = Worker()
    worker.start()
    ref = weakref.ref(worker.cargo)
    try:
        # The test's frame holds the thread object, so ignore it: the thread itself is the root.
        assert render(ref, ignore=[sys._getframe()]) == "thread cargo-holder → .cargo → <Foo>"
        assert render(ref, ignore=[sys._getframe(), worker]) == NOT_FOUND.format("<Foo>")
    finally:
        release.set()
        worker.join()


def test_uncollectable_garbage_is_a_global_of_gc() -> None:
    gc.garbage.append(Foo())
    try:
        ref = weakref.ref(gc.garbage[-1])
        assert render(ref) == f"module gc → garbage (list) → [{len(gc.garbage) - 1}] → <Foo>"
        assert render(ref, ignore=[gc.garbage]) == NOT_FOUND.format("<Foo>")
    finally:
        gc.garbage.pop()


def test_no_referrers() -> None:
    text = format_chain(find_chain_report(Foo(), **UNBOUNDED), Foo())
    assert text == NOT_FOUND.format("<Foo>")
    result = find_chain_report(Foo(), **UNBOUNDED)
    assert (result.chain, result.reason) == (None, "exhausted")
    assert result.visited > 0


def test_reachable_only_from_an_ignored_object(mod: Any) -> None:
    mod.holder = Holder()
    mod.holder.attr = [Foo()]
    ref = weakref.ref(mod.holder.attr[0])
    assert render(ref) == f"module {mod.__name__} → holder (Holder) → .attr (list) → [0] → <Foo>"
    assert render(ref, ignore=[mod.holder]) == NOT_FOUND.format("<Foo>")


@pytest.mark.parametrize("short_first", [True, False])
def test_shortest_chain_is_chosen(mod: Any, short_first: bool) -> None:
    foo = Foo()
    if short_first:
        mod.b = {"k": foo}
        mod.a = nest(foo, 3)
    else:
        mod.a = nest(foo, 3)
        mod.b = {"k": foo}
    ref = weakref.ref(foo)
    del foo
    text = render(ref)
    assert text == f"module {mod.__name__} → b (dict) → ['k'] → <Foo>"
    assert "a (list)" not in text
    longer = render(ref, ignore=[mod.b])
    assert longer == f"module {mod.__name__} → a (list) → [0] (list) → [0] (list) → [0] → <Foo>"


def test_max_depth_is_respected(mod: Any) -> None:
    mod.deep = nest(Foo(), 10)
    ref = weakref.ref(_innermost(mod.deep))
    # module dict → 10 lists → the target: 11 references.
    expected = f"module {mod.__name__} → deep (list) → " + "[0] (list) → " * 9 + "[0] → <Foo>"
    assert render(ref, max_depth=11) == expected
    result = find_chain_report(ref(), max_depth=10)
    assert (result.chain, result.reason, result.depth) == (None, "max_depth", 10)
    assert format_chain(result, ref()).startswith(
        "no chain of references from a module, class, frame or thread to <Foo> was found within "
        "max_depth=10 (the search stopped there after visiting "
    )


def _innermost(nested: object) -> object:
    while isinstance(nested, list):
        nested = nested[0]
    return nested


def test_timeout_of_zero_reports_the_timeout(mod: Any) -> None:
    mod.registry = {"key": Foo()}
    ref = weakref.ref(mod.registry["key"])
    result = find_chain_report(ref(), timeout=0)
    assert (result.chain, result.reason) == (None, "timeout")
    assert format_chain(result, ref()).startswith(
        "no chain of references from a module, class, frame or thread to <Foo> was found before the search "
        "timed out after "
    )
    chain = find_chain(ref(), timeout=0)
    assert chain is None
    assert render(ref) == f"module {mod.__name__} → registry (dict) → ['key'] → <Foo>"


def test_target_reprs(mod: Any) -> None:
    mod.things = [BadRepr(), GoodRepr(), LongRepr()]
    bad, good, long = (weakref.ref(thing) for thing in mod.things)
    assert render(bad) == f"module {mod.__name__} → things (list) → [0] → <BadRepr>"
    assert render(good) == f"module {mod.__name__} → things (list) → [1] → <GoodRepr 'GoodRepr(1)'>"
    assert render(long) == f"module {mod.__name__} → things (list) → [2] → <LongRepr '{'L' * 59}…'>"
    assert format_chain(None, BadRepr()) == NOT_FOUND.format("<BadRepr>")
    assert format_chain(None, GoodRepr()) == NOT_FOUND.format("<GoodRepr 'GoodRepr(1)'>")


def test_the_sentence_for_each_reason() -> None:
    def sentence(reason: Any) -> str:
        return format_chain(SearchResult(None, reason, 1234, 3, 0.5), Foo())

    nowhere = "no chain of references from a module, class, frame or thread to <Foo> was found"
    assert sentence("exhausted") == NOT_FOUND.format("<Foo>")
    assert sentence("max_depth") == (
        f"{nowhere} within max_depth=3 (the search stopped there after visiting 1234 objects; "
        "a longer chain may exist)"
    )
    assert (
        sentence("timeout")
        == f"{nowhere} before the search timed out after 500 ms (depth 3, 1234 objects visited)"
    )
    assert sentence("changed") == (
        "the references to <Foo> changed while the chain was being traced back; search again"
    )


def test_a_heap_of_200k_objects(mod: Any) -> None:
    mod.heap = [Node(i) for i in range(200_000)]
    mod.heap[-1].payload = Foo()
    ref = weakref.ref(mod.heap[-1].payload)
    expected = f"module {mod.__name__} → heap (list) → [199999] (Node) → .payload → <Foo>"
    assert render(ref, timeout=120) == expected
    result = find_chain_report(Foo(), **{**UNBOUNDED, "timeout": 120})
    assert (result.chain, result.reason) == (None, "exhausted")
    assert result.visited > 200_000


def test_the_search_does_not_find_itself(mod: Any) -> None:
    # Without the default prefixes this package's frames and globals are roots; the search's own frames,
    # levels and seen-set still are not, so an object only the search holds has no chain.
    text = format_chain(find_chain_report(Foo(), ignore_modules=(), **UNBOUNDED), Foo())
    assert text == NOT_FOUND.format("<Foo>")
    mod.keep = [Foo()]
    ref = weakref.ref(mod.keep[0])
    for _ in range(2):
        assert render(ref, ignore_modules=()) == f"module {mod.__name__} → keep (list) → [0] → <Foo>"
    del mod.keep
    assert ref() is None


@pytest.mark.parametrize("enabled", [True, False])
def test_collector_state_is_restored(enabled: bool) -> None:
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        find_chain(Foo())
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_bad_bounds() -> None:
    with pytest.raises(ValueError, match=r"max_depth must be >= 0, got -1"):
        find_chain_report(Foo(), max_depth=-1)
    with pytest.raises(ValueError, match=r"timeout must be >= 0, got -0\.5"):
        find_chain_report(Foo(), timeout=-0.5)


def test_search_result_is_frozen() -> None:
    result = find_chain_report(Foo())
    assert isinstance(result, SearchResult)
    with pytest.raises(AttributeError):
        result.reason = "found"  # type: ignore[misc]


@contextlib.contextmanager
def fresh_module() -> Iterator[Any]:
    module = types.ModuleType(f"refchain_graph_{uuid.uuid4().hex[:8]}")
    sys.modules[module.__name__] = module
    try:
        yield module
    finally:
        del sys.modules[module.__name__]
        module.__dict__.clear()


def build_graph(
    module: Any, size: int, edges: list[tuple[int, int]], holders: list[int], globals_: list[int]
) -> weakref.ref[Foo]:
    lists: list[list[object]] = [[] for _ in range(size)]
    for source, sink in edges:
        lists[source % size].append(lists[sink % size])
    target = Foo()
    for holder in holders:
        lists[holder % size].append(target)
    for index in globals_:
        setattr(module, f"g{index % size}", lists[index % size])
    return weakref.ref(target)


def shortest(size: int, edges: list[tuple[int, int]], holders: list[int], globals_: list[int]) -> int | None:
    """References from the module's dict to the target, over the graph as built (None: unreachable)."""
    children = {i: {sink % size for source, sink in edges if source % size == i} for i in range(size)}
    holding = {holder % size for holder in holders}
    frontier, seen, depth = {index % size for index in globals_}, set[int](), 1
    while frontier:
        if frontier & holding:
            return depth + 1
        seen |= frontier
        frontier = {child for node in frontier for child in children[node]} - seen
        depth += 1
    return None


indices = st.integers(min_value=0, max_value=7)


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=8),
    edges=st.lists(st.tuples(indices, indices), max_size=16),
    holders=st.lists(indices, max_size=3),
    globals_=st.lists(indices, min_size=1, max_size=3),
)
def test_the_chain_is_a_shortest_one(
    size: int, edges: list[tuple[int, int]], holders: list[int], globals_: list[int]
) -> None:
    with fresh_module() as module:
        ref = build_graph(module, size, edges, holders, globals_)
        expected = shortest(size, edges, holders, globals_)
        if ref() is None:
            return
        report = find_chain_report(ref())
        if expected is None:
            assert report.chain is None
        else:
            assert report.chain is not None
            assert (report.depth, len(report.chain.links)) == (expected, expected + 1)
            text = format_chain(report, ref())
            assert text.startswith(f"module {module.__name__} → g")
            assert text.endswith(" → <Foo>")
