"""Why is this object alive: the shortest chain of references from a root to it.

Roots are module globals (each ``sys.modules`` module's ``__dict__``), class attributes (each live class's
``__dict__``), the frames of every thread (their locals) and the ``threading.Thread`` objects. The search runs
*forward*: a breadth-first walk from the roots with ``gc.get_referents``, a level at a time, that stops as
soon as the target turns up, bounded by ``max_depth`` and ``timeout``. That is at most one pass over the
reachable heap, where objgraph's backward walk with ``gc.get_referrers`` scans the whole heap for every step.

Every level is kept in a list while the search runs, so no id it recorded can be reused by a new object; the
chain is then traced back through the levels and labelled (``['key']``, ``[3]``, ``.attr``, ``local 'x'``)
only for the few objects on it. This module imports nothing of pytest.
"""

from __future__ import annotations

import contextlib
import gc
import os
import reprlib
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from .units import format_duration

__all__ = [
    "DEFAULT_IGNORED_MODULE_PREFIXES",
    "Chain",
    "Link",
    "SearchResult",
    "find_chain",
    "find_chain_report",
    "format_chain",
]

#: Modules whose globals, classes and frames are not roots: the test runner's and ours. The plugin searches
#: from inside pytest's frames, which hold the test's arguments and would otherwise explain every object.
DEFAULT_IGNORED_MODULE_PREFIXES = ("_pytest", "pytest", "pluggy", "pytest_memguard", "xdist", "execnet")

Reason = Literal["found", "exhausted", "max_depth", "timeout", "changed"]
RootKind = Literal["module", "class", "frame", "thread"]

_OWN = (__name__.partition(".")[0],)
_CHUNK = 1024
_TYPE_DICT = type.__dict__["__dict__"]
_C_DESCRIPTORS = (types.GetSetDescriptorType, types.MemberDescriptorType)
_UNREAD_DESCRIPTORS = frozenset({"f_locals", "__weakref__"})  # f_locals: see _edge; a weakref holds nothing
_NOWHERE = "a module, class, frame or thread"
_UNWALKED = "(it may be held by a C extension or a reference cycle kept by a root we do not walk)"


@dataclass(frozen=True)
class Link:
    """One step of a chain: how the previous object holds the next, with the next one's type in parentheses
    unless it is the target (``"_handlers (list)"``, ``"[3]"``); the first link names the root."""

    label: str


@dataclass(frozen=True)
class Chain:
    """References from a root to the target; ``root_kind`` is ``"module"``, ``"class"``, ``"frame"`` or
    ``"thread"`` and ``links[0]`` names the root (``"module app.registry"``)."""

    root_kind: str
    links: tuple[Link, ...]


@dataclass(frozen=True)
class SearchResult:
    """A search's answer and why it stopped: ``reason`` is ``"found"`` (``chain`` is set), ``"exhausted"``
    (everything reachable from the roots was visited), ``"max_depth"``, ``"timeout"`` or ``"changed"`` (the
    heap changed under the search, so the chain could not be traced back). ``visited`` counts the objects
    seen, ``depth`` the levels of references walked and ``elapsed`` the seconds taken."""

    chain: Chain | None
    reason: Reason
    visited: int
    depth: int
    elapsed: float


def find_chain(
    target: object,
    *,
    max_depth: int = 30,
    timeout: float = 2.0,
    ignore: Iterable[object] = (),
    ignore_modules: Iterable[str] = DEFAULT_IGNORED_MODULE_PREFIXES,
) -> Chain | None:
    """The shortest chain of references from a root to ``target``, or None; ``find_chain_report`` says why."""
    report = find_chain_report(
        target, max_depth=max_depth, timeout=timeout, ignore=ignore, ignore_modules=ignore_modules
    )
    return report.chain


def find_chain_report(
    target: object,
    *,
    max_depth: int = 30,
    timeout: float = 2.0,
    ignore: Iterable[object] = (),
    ignore_modules: Iterable[str] = DEFAULT_IGNORED_MODULE_PREFIXES,
) -> SearchResult:
    """Search for the shortest chain of at most ``max_depth`` references from a root to ``target``.

    Objects in ``ignore`` (with the ``__dict__`` of an ignored module or class) are neither roots nor links,
    by identity. A module named by a prefix in ``ignore_modules`` (the prefix itself or a submodule) gives no
    roots (not its globals, its classes, nor frames running its code, told by ``__name__`` or by file) and
    its globals are no links either. ``sys.modules`` is no link: each module is a root of its own.
    ``gc.garbage`` is an ordinary global of ``gc``, so uncollectable objects show as ``module gc → garbage
    (list) → [i]``. The search's own objects, frames of this module in any thread and the frames of this
    package calling it are never seen, nor is the target a root. The collector is paused while searching, so
    nothing is freed (and no id reused) under it.
    """
    if max_depth < 0:
        raise ValueError(f"max_depth must be >= 0, got {max_depth!r}")
    if timeout < 0:
        raise ValueError(f"timeout must be >= 0, got {timeout!r}")
    started = time.monotonic()
    collecting = gc.isenabled()
    gc.disable()
    try:
        ignored = list(ignore)
        excluded = {id(ignored), id(ignore), id(sys.modules), id(target), *map(id, ignored)}
        excluded.update(id(_owned_dict(obj)) for obj in ignored if isinstance(obj, (type, types.ModuleType)))
        roots = _roots(excluded, tuple(ignore_modules))
        excluded.discard(id(target))
        return _search(target, roots, excluded, max_depth, started, started + timeout)
    finally:
        if collecting:
            gc.enable()


def format_chain(chain: Chain | SearchResult | None, target: object) -> str:
    """Render a chain as ``module app.registry → _handlers (list) → [3] → <Foo>``. For None, or a
    ``SearchResult`` without a chain, a sentence that no chain was found and, if the search stopped early,
    why."""
    shown = _describe(target)
    result = chain if isinstance(chain, SearchResult) else None
    found = chain.chain if isinstance(chain, SearchResult) else chain
    if found is not None:
        return " → ".join([*(link.label for link in found.links), shown])
    nothing = f"no chain of references from {_NOWHERE} to {shown} was found"
    if result is None or result.reason in ("exhausted", "found"):
        return f"{nothing} {_UNWALKED}"
    if result.reason == "max_depth":
        return (
            f"{nothing} within max_depth={result.depth} (the search stopped there after visiting "
            f"{result.visited} objects; a longer chain may exist)"
        )
    if result.reason == "timeout":
        return (
            f"{nothing} before the search timed out after {format_duration(result.elapsed)} "
            f"(depth {result.depth}, {result.visited} objects visited)"
        )
    return f"the references to {shown} changed while the chain was being traced back; search again"


@dataclass(frozen=True)
class _Root:
    kind: RootKind
    node: object  # where the walk starts: a module's or class's __dict__, a frame, a thread
    name: str


def _search(
    target: object, roots: list[_Root], seen: set[int], max_depth: int, started: float, deadline: float
) -> SearchResult:
    tid = id(target)
    levels: list[list[object]] = [[root.node for root in roots]]
    seen.update((id(levels), id(levels[0]), id(seen), *map(id, levels[0])))
    # Objects the collector does not track (str, int, atomic tuples) cannot lead to a tracked target.
    prune_leaves = gc.is_tracked(target)
    visited = len(levels[0])

    def result(chain: Chain | None, reason: Reason, depth: int) -> SearchResult:
        return SearchResult(chain, reason, visited, depth, time.monotonic() - started)

    for depth in range(max_depth):
        frontier, following = levels[-1], list[object]()
        seen.add(id(following))
        for start in range(0, len(frontier), _CHUNK):
            if time.monotonic() >= deadline:
                return result(None, "timeout", depth)
            chunk = frontier[start : start + _CHUNK]
            children = _root_referents(chunk) if depth == 0 else gc.get_referents(*chunk)
            if prune_leaves:
                children = list(filter(gc.is_tracked, children))
            # Dedupe by id in C: an id -> object dict (in discovery order) minus the ids already seen.
            fresh = dict(zip(map(id, children), children, strict=True))
            if tid in fresh and tid not in seen:
                path = _trace_back(levels, target)
                if path is None:
                    return result(None, "changed", depth + 1)
                return result(_chain(roots, path), "found", depth + 1)
            new_ids = fresh.keys() - seen
            seen.update(new_ids)
            visited += len(new_ids)
            following.extend(map(fresh.__getitem__, filter(new_ids.__contains__, fresh)))
        if not following:
            return result(None, "exhausted", depth + 1)
        levels.append(following)
    return result(None, "max_depth", max_depth)


def _root_referents(nodes: Iterable[object]) -> list[object]:
    children: list[object] = []
    for node in nodes:
        if isinstance(node, types.FrameType):
            # A running frame's locals live on its thread's stack, where gc.get_referents does not look.
            children.extend(_frame_locals(node).values())
            children.append(node.f_globals)
        else:
            children.extend(gc.get_referents(node))
    return children


def _trace_back(levels: list[list[object]], target: object) -> list[object] | None:
    path = [target]
    for depth in range(len(levels) - 1, -1, -1):
        parent = _referrer_in(levels[depth], id(path[-1]), _root_referents if depth == 0 else _referents)
        if parent is None:
            return None
        path.append(parent[0])
    path.reverse()
    return path


def _referrer_in(
    level: list[object], wanted: int, referents: Callable[[list[object]], list[object]]
) -> tuple[object] | None:
    # A chunk at a time in C, then one object at a time only in the chunk that holds it.
    for start in range(0, len(level), _CHUNK):
        chunk = level[start : start + _CHUNK]
        if wanted in map(id, referents(chunk)):
            return next(((node,) for node in chunk if wanted in map(id, referents([node]))), None)
    return None


def _referents(nodes: list[object]) -> list[object]:
    return gc.get_referents(*nodes)


def _roots(excluded: set[int], prefixes: tuple[str, ...]) -> list[_Root]:
    roots: list[_Root] = []
    for name, module in list(sys.modules.items()):
        namespace = _owned_dict(module)
        if _in_modules(name, prefixes) or id(module) in excluded:
            excluded.update((id(module), id(namespace)))
        elif namespace is not None:
            roots.append(_Root("module", namespace, name))
    for cls in _all_classes():
        module_name = _type_attr(cls, "__module__")
        if id(cls) not in excluded and not _in_modules(module_name, prefixes):
            namespace = _owned_dict(cls)
            if namespace is not None:
                roots.append(_Root("class", namespace, f"{module_name}.{_type_attr(cls, '__qualname__')}"))
    _add_frame_roots(roots, excluded, prefixes)
    for thread in threading.enumerate():
        if id(thread) not in excluded and not _in_modules(_type_attr(type(thread), "__module__"), prefixes):
            roots.append(_Root("thread", thread, thread.name))
    unique: dict[int, _Root] = {}
    for root in roots:
        unique.setdefault(id(root.node), root)
    return [root for key, root in unique.items() if key not in excluded]


def _add_frame_roots(roots: list[_Root], excluded: set[int], prefixes: tuple[str, ...]) -> None:
    current, files = threading.get_ident(), _package_files(prefixes)
    stacks: list[tuple[int, types.FrameType | None]] = list(sys._current_frames().items())
    frame: types.FrameType | None = None
    try:
        for ident, frame in stacks:
            # This call and its callers from this package hold the search's structures and its target.
            while ident == current and frame is not None and _in_modules(_frame_module(frame), _OWN):
                excluded.add(id(frame))
                frame = frame.f_back
            while frame is not None:
                module_name = _frame_module(frame)
                ignored = _in_modules(module_name, prefixes) or frame.f_code.co_filename.startswith(files)
                if module_name == __name__ or ignored:
                    # Another thread's search holds its own target; and up to 3.10 a running frame's locals
                    # are its referents, so an ignored frame must not be a link either.
                    excluded.add(id(frame))
                elif id(frame) not in excluded:
                    roots.append(_Root("frame", frame, frame.f_code.co_name))
                frame = frame.f_back
    finally:
        # This call's own frame object would hold itself through these locals, and with it its callers.
        stacks.clear()
        frame = None


def _package_files(prefixes: tuple[str, ...]) -> tuple[str, ...]:
    """Where the ignored modules' code lives: execnet runs xdist's worker loop under another ``__name__``."""
    places: list[str] = []
    for prefix in prefixes:
        namespace = _owned_dict(sys.modules.get(prefix))
        if isinstance(namespace, dict) and "__path__" in namespace:
            with contextlib.suppress(TypeError):
                places.extend(os.path.join(str(path), "") for path in namespace["__path__"])
        elif isinstance(namespace, dict) and isinstance(namespace.get("__file__"), str):
            places.append(namespace["__file__"])
    return tuple(places)


def _all_classes() -> Iterator[type]:
    seen: set[int] = set()
    stack: list[type] = [object]
    while stack:
        cls = stack.pop()
        if id(cls) not in seen:
            seen.add(id(cls))
            yield cls
            stack.extend(reversed(type.__subclasses__(cls)))


def _in_modules(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _frame_module(frame: types.FrameType) -> str:
    name = frame.f_globals.get("__name__")
    return name if isinstance(name, str) else ""


def _type_attr(cls: type, name: str) -> str:
    try:
        value = type.__dict__[name].__get__(cls, type)
    except Exception:
        return "?"
    return value if isinstance(value, str) else "?"


def _frame_locals(frame: types.FrameType) -> dict[str, object]:
    # Up to 3.12 this snapshot stays cached on the frame until it next syncs; 3.13 gives a live proxy.
    try:
        return dict(frame.f_locals)
    except Exception:
        return {}


def _owned_dict(obj: object) -> object:
    """The dict holding ``obj``'s attributes (for a class its real dict, not the mappingproxy), or None."""
    try:
        if isinstance(obj, type):
            real = gc.get_referents(_TYPE_DICT.__get__(obj, type))
            return real[0] if len(real) == 1 and type(real[0]) is dict else None
        namespace = object.__getattribute__(obj, "__dict__")
    except Exception:
        return None
    return namespace if type(namespace) is dict else None


def _chain(roots: list[_Root], path: list[object]) -> Chain:
    root = next(root for root in roots if root.node is path[0])
    labels = [_root_label(root)]
    last, i = len(path) - 1, 0
    while i < last:
        parent, child = path[i], path[i + 1]
        edge: str | None
        if i == 0 and root.kind in ("module", "class"):
            edge, step = _dict_edge(parent, child, "global" if root.kind == "module" else "attr"), 1
        elif i + 2 <= last and child is not None and _owned_dict(parent) is child:
            edge, step = _dict_edge(child, path[i + 2], "attr"), 2
        elif i + 3 <= last and (name := _closure_name(parent, child, path[i + 2])) is not None:
            edge, step = f"closure {name!r}", 3
        else:
            edge, step = _edge(parent, child), 1
        i += step
        if i == last:
            labels.append(edge or "(referent)")
        else:
            kind = type(path[i]).__qualname__
            labels.append(f"{edge} ({kind})" if edge else f"({kind})")
    return Chain(root.kind, tuple(Link(label) for label in labels))


def _root_label(root: _Root) -> str:
    if not isinstance(root.node, types.FrameType):
        return f"{root.kind} {root.name}"
    filename = root.node.f_code.co_filename
    try:
        relative = os.path.relpath(filename)
        filename = filename if relative.startswith("..") else relative
    except ValueError:  # another drive, on Windows
        pass
    return f"frame {root.name} ({filename}:{root.node.f_lineno})"


def _dict_edge(mapping: object, child: object, style: Literal["item", "attr", "global"]) -> str | None:
    if not isinstance(mapping, dict):
        return _edge(mapping, child)
    try:
        items = list(mapping.items())
    except Exception:
        return None
    for key, value in items:
        if value is child:
            if style != "item" and isinstance(key, str):
                return key if style == "global" else f".{key}"
            return f"[{_short_repr(key, 40) or '?'}]"
    return "key" if any(key is child for key, _ in items) else None


def _edge(parent: object, child: object) -> str | None:
    if isinstance(parent, dict):
        return _dict_edge(parent, child, "item")
    if isinstance(parent, (list, tuple)):
        index = next((i for i, item in enumerate(parent) if item is child), None)
        if index is not None:
            return f"[{index}]"
    if isinstance(parent, (set, frozenset)) and any(item is child for item in parent):
        return "{…}"
    namespace = _owned_dict(parent)
    # Since 3.11 an instance's attributes may live inline, so the instance refers to its values directly.
    if namespace is not None and (attribute := _dict_edge(namespace, child, "attr")) is not None:
        return attribute
    frame = parent if isinstance(parent, types.FrameType) else _suspended_frame(parent)
    if frame is not None:
        name = next((name for name, value in _frame_locals(frame).items() if value is child), None)
        if name is not None:
            return f"local {name!r}"
    return _descriptor_edge(parent, child)


def _suspended_frame(obj: object) -> types.FrameType | None:
    if isinstance(obj, (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)):
        frames = (getattr(obj, name, None) for name in ("gi_frame", "cr_frame", "ag_frame"))
        frame = next(filter(None, frames), None)
        return frame if isinstance(frame, types.FrameType) else None
    return None


def _descriptor_edge(parent: object, child: object) -> str | None:
    """``.name`` for the slot or C-level attribute (``__self__``, ``__defaults__``, ``f_back``…) of ``parent``
    that is ``child``; only descriptors implemented in C are read, so no user code runs."""
    cls = type(parent)
    for klass in cls.__mro__:
        for name, descriptor in list(vars(klass).items()):
            if name in _UNREAD_DESCRIPTORS or not isinstance(descriptor, _C_DESCRIPTORS):
                continue
            try:
                if descriptor.__get__(parent, cls) is child:
                    return f".{name}"
            except Exception:
                continue
    return None


def _closure_name(function: object, cells: object, cell: object) -> str | None:
    if not isinstance(function, types.FunctionType) or function.__closure__ is None:
        return None
    if cells is not function.__closure__ or not isinstance(cell, types.CellType):
        return None
    index = next((i for i, item in enumerate(function.__closure__) if item is cell), None)
    return None if index is None else function.__code__.co_freevars[index]


class _Repr(reprlib.Repr):
    def repr_instance(self, x: object, level: int) -> str:
        # reprlib hides a failing __repr__ behind "<X instance at 0x…>"; let it fail, to show just the type.
        return repr(x)


_REPR = _Repr()
_REPR.maxstring = _REPR.maxother = 60


def _short_repr(obj: object, limit: int) -> str | None:
    try:
        text = _REPR.repr(obj)
    except Exception:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(target: object) -> str:
    """``<Foo>``, or ``<Foo 'short repr'>`` when the type has a repr of its own that does not raise."""
    name = type(target).__qualname__
    text = None if type(target).__repr__ is object.__repr__ else _short_repr(target, 60)
    return f"<{name}>" if text is None else f"<{name} '{text}'>"
