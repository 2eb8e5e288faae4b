"""Why is this object alive: the shortest chain of references from a root to it.

The roots are module globals (every ``sys.modules`` module's ``__dict__``), class attributes (every live class's
``__dict__``), the frames of every thread (their locals) and the ``threading.Thread`` objects. The search runs
*forward*: a breadth-first walk from the roots with ``gc.get_referents``, one level at a time, that stops as soon as
the target turns up and is bounded by ``max_depth`` and ``timeout``. That is one pass over (at most) the reachable
heap; objgraph's backward walk with ``gc.get_referrers`` costs a scan of the whole heap for every step.

Each level is kept in a list while the search runs, so that no id it recorded can be reused by a new object; the
chain is then recovered by walking back through the levels, and labelled (``['key']``, ``[3]``, ``.attr``,
``local 'x'``) only for the handful of objects on it. This module imports nothing of pytest.
"""

from __future__ import annotations

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

#: Modules whose globals, classes and frames are not roots: the test runner's and our own. The plugin calls the
#: search from inside pytest's frames, which hold the test's arguments and would otherwise explain every object.
DEFAULT_IGNORED_MODULE_PREFIXES: tuple[str, ...] = ("_pytest", "pytest", "pluggy", "pytest_memguard", "xdist", "execnet")

Reason = Literal["found", "exhausted", "max_depth", "timeout", "changed"]
RootKind = Literal["module", "class", "frame", "thread"]

_OWN_PACKAGE = __name__.partition(".")[0]
_CHUNK = 1024
_TYPE_DICT = type.__dict__["__dict__"]
_DESCRIPTORS = (types.GetSetDescriptorType, types.MemberDescriptorType)
# f_locals is read deliberately (see _edge); __weakref__ never holds a strong reference.
_SKIPPED_DESCRIPTORS = frozenset({"f_locals", "__weakref__"})
_NOWHERE = "a module, class, frame or thread"


@dataclass(frozen=True)
class Link:
    """One step of a chain: how the previous object holds the next one, with the next one's type in parentheses
    unless it is the target (``"_handlers (list)"``, ``"[3]"``); the first link names the root."""

    label: str


@dataclass(frozen=True)
class Chain:
    """A chain of references from a root (``root_kind`` is ``"module"``, ``"class"``, ``"frame"`` or ``"thread"``)
    to the target; ``links[0]`` names the root."""

    root_kind: str
    links: tuple[Link, ...]


@dataclass(frozen=True)
class SearchResult:
    """What a search found and why it stopped: ``reason`` is ``"found"`` (``chain`` is set), ``"exhausted"`` (every
    object reachable from the roots was visited), ``"max_depth"``, ``"timeout"``, or ``"changed"`` (the heap changed
    under the search so the chain could not be traced back). ``depth`` is the number of reference levels walked."""

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
    """The shortest chain of references from a root to ``target``, or ``None``; ``find_chain_report`` says why."""
    return find_chain_report(
        target, max_depth=max_depth, timeout=timeout, ignore=ignore, ignore_modules=ignore_modules
    ).chain


def find_chain_report(
    target: object,
    *,
    max_depth: int = 30,
    timeout: float = 2.0,
    ignore: Iterable[object] = (),
    ignore_modules: Iterable[str] = DEFAULT_IGNORED_MODULE_PREFIXES,
) -> SearchResult:
    """Search for the shortest chain of at most ``max_depth`` references from a root to ``target``.

    Objects in ``ignore`` (and the ``__dict__`` of an ignored module or class) are neither roots nor links, by
    identity. Modules named by a prefix in ``ignore_modules`` (a prefix matches itself and its submodules) give no
    roots: not their globals, not their classes, not frames running their code, and their globals are not links
    either. ``sys.modules`` is not a link (each module is a root of its own); ``gc.garbage`` is an ordinary global of
    ``gc``, so uncollectable objects show as ``module gc → garbage (list) → [i]``. The search's own objects and the
    frames of this package at the top of the calling thread are never seen. The collector is paused during the
    search, so objects are not freed (and their ids reused) under it; the target itself is never a root.
    """
    if max_depth < 0:
        raise ValueError(f"max_depth must be >= 0, got {max_depth!r}")
    if timeout < 0:
        raise ValueError(f"timeout must be >= 0, got {timeout!r}")
    started = time.monotonic()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        ignored = list(ignore)
        prefixes = tuple(ignore_modules)
        excluded = {id(ignored), id(ignore), id(sys.modules), id(target)}
        excluded.update(map(id, ignored))
        excluded.update(id(_owned_dict(obj)) for obj in ignored if isinstance(obj, (type, types.ModuleType)))
        roots = _roots(excluded, prefixes)
        excluded.discard(id(target))
        return _search(target, roots, excluded, max_depth, started, started + timeout)
    finally:
        if gc_was_enabled:
            gc.enable()


def format_chain(chain: Chain | SearchResult | None, target: object) -> str:
    """Render a chain as ``module app.registry → _handlers (list) → [3] → <Foo>``; for ``None``, or a
    ``SearchResult`` without a chain, a sentence saying no chain was found and, if the search was cut short, why."""
    shown = _describe(target)
    if isinstance(chain, SearchResult):
        result, chain = chain, chain.chain
        if chain is None and result.reason == "max_depth":
            return (
                f"no chain of references from {_NOWHERE} to {shown} was found within max_depth={result.depth} "
                f"(the search stopped there after visiting {result.visited} objects; a longer chain may exist)"
            )
        if chain is None and result.reason == "timeout":
            return (
                f"no chain of references from {_NOWHERE} to {shown} was found before the search timed out after "
                f"{format_duration(result.elapsed)} (depth {result.depth}, {result.visited} objects visited)"
            )
        if chain is None and result.reason == "changed":
            return f"the references to {shown} changed while the chain was being traced back; search again"
    if chain is None:
        return (
            f"no chain of references from {_NOWHERE} to {shown} was found (it may be held by a C extension or a "
            "reference cycle kept by a root we do not walk)"
        )
    return " → ".join([*(link.label for link in chain.links), shown])


# ---------------------------------------------------------------------------------------------------------- search


@dataclass(frozen=True)
class _Root:
    kind: RootKind
    node: object  # what the walk starts from: a module's or class's __dict__, a frame, a thread
    owner: object  # the module, class, frame or thread, for the label
    name: str


def _search(
    target: object, roots: list[_Root], excluded: set[int], max_depth: int, started: float, deadline: float
) -> SearchResult:
    tid = id(target)
    levels: list[list[object]] = [[root.node for root in roots]]
    seen = excluded
    seen.update((id(levels), id(levels[0]), id(seen)))
    seen.update(map(id, levels[0]))
    # Objects the collector does not track (str, int, all-atomic tuples) hold nothing that can lead to a tracked
    # target, so they are dead ends; an untracked target can sit in an untracked tuple, so then keep them all.
    leaves_pruned = gc.is_tracked(target)
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
            # Dedupe by id in C: an id -> object dict, minus the ids already seen, kept in discovery order.
            fresh = dict(zip(map(id, children), children, strict=True))
            if tid in fresh and tid not in seen:
                path = _trace_back(levels, target)
                if path is None:
                    return result(None, "changed", depth + 1)
                return result(_chain(roots, path), "found", depth + 1)
            new_ids = fresh.keys() - seen
            seen.update(new_ids)
            visited += len(new_ids)
            found = map(fresh.__getitem__, filter(new_ids.__contains__, fresh))
            following.extend(filter(gc.is_tracked, found) if leaves_pruned else found)
        if not following:
            return result(None, "exhausted", depth + 1)
        levels.append(following)
    return result(None, "max_depth", max_depth)


def _root_referents(nodes: Iterable[object]) -> list[object]:
    children: list[object] = []
    for node in nodes:
        if isinstance(node, types.FrameType):
            # A running frame's locals live on the thread's stack, which gc.get_referents does not see.
            children.extend(_frame_locals(node).values())
            children.append(node.f_globals)
        else:
            children.extend(gc.get_referents(node))
    return children


def _trace_back(levels: list[list[object]], target: object) -> list[object] | None:
    path = [target]
    for depth in range(len(levels) - 1, -1, -1):
        wanted = id(path[-1])
        referents: Callable[[object], list[object]] = (
            (lambda node: _root_referents((node,))) if depth == 0 else gc.get_referents
        )
        parent = next((node for node in levels[depth] if wanted in map(id, referents(node))), _MISSING)
        if parent is _MISSING:
            return None
        path.append(parent)
    path.reverse()
    return path


_MISSING = object()


# ----------------------------------------------------------------------------------------------------------- roots


def _roots(excluded: set[int], prefixes: tuple[str, ...]) -> list[_Root]:
    roots: list[_Root] = []
    for name, module in list(sys.modules.items()):
        namespace = _owned_dict(module)
        if _in_modules(name, prefixes) or id(module) in excluded:
            excluded.update((id(module), id(namespace)))
        elif namespace is not None and id(namespace) not in excluded:
            roots.append(_Root("module", namespace, module, name))
    for cls in _all_classes():
        namespace = _owned_dict(cls)
        if id(cls) in excluded or _in_modules(_type_attr(cls, "__module__"), prefixes):
            continue
        if namespace is not None and id(namespace) not in excluded:
            name = f"{_type_attr(cls, '__module__')}.{_type_attr(cls, '__qualname__')}"
            roots.append(_Root("class", namespace, cls, name))
    current = threading.get_ident()
    for ident, top in list(sys._current_frames().items()):
        frame: types.FrameType | None = top
        # The search's own frames, and the callers of it from this package, hold its structures and its target.
        while ident == current and frame is not None and _in_modules(_frame_module(frame), (_OWN_PACKAGE,)):
            excluded.add(id(frame))
            frame = frame.f_back
        while frame is not None:
            if id(frame) not in excluded and not _in_modules(_frame_module(frame), prefixes):
                roots.append(_Root("frame", frame, frame, frame.f_code.co_name))
            frame = frame.f_back
    for thread in threading.enumerate():
        if id(thread) not in excluded and not _in_modules(_type_attr(type(thread), "__module__"), prefixes):
            roots.append(_Root("thread", thread, thread, thread.name))
    unique: dict[int, _Root] = {}
    for root in roots:
        unique.setdefault(id(root.node), root)
    return [root for key, root in unique.items() if key not in excluded]


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
    # Up to 3.12 this snapshot is cached on the frame until it next runs FastToLocals; 3.13 gives a proxy.
    try:
        return dict(frame.f_locals)
    except Exception:
        return {}


def _owned_dict(obj: object) -> object:
    """The dict that holds ``obj``'s attributes (a class's real dict, not its mappingproxy), or None."""
    try:
        if isinstance(obj, type):
            real = gc.get_referents(_TYPE_DICT.__get__(obj, type))
            return real[0] if len(real) == 1 and type(real[0]) is dict else None
        namespace = object.__getattribute__(obj, "__dict__")
    except Exception:
        return None
    return namespace if type(namespace) is dict else None


# ---------------------------------------------------------------------------------------------------------- labels


def _chain(roots: list[_Root], path: list[object]) -> Chain:
    root = next(root for root in roots if root.node is path[0])
    labels = [_root_label(root)]
    last, i = len(path) - 1, 0
    while i < last:
        parent, child = path[i], path[i + 1]
        edge: str | None
        if i == 0 and root.kind in ("module", "class"):
            edge, step = _dict_edge(parent, child, "global" if root.kind == "module" else "attr"), 1
        elif i + 2 <= last and _owned_dict(parent) is child and child is not None:
            edge, step = _dict_edge(child, path[i + 2], "attr"), 2
        elif i + 3 <= last and (name := _closure_name(parent, child, path[i + 2])) is not None:
            edge, step = f"closure {name!r}", 3
        else:
            edge, step = _edge(parent, child), 1
        i += step
        if i == last:
            labels.append(edge or "(referent)")
        else:
            kind = _type_name(path[i])
            labels.append(f"{edge} ({kind})" if edge else f"({kind})")
    return Chain(root.kind, tuple(Link(label) for label in labels))


def _root_label(root: _Root) -> str:
    if isinstance(root.owner, types.FrameType):
        filename = root.owner.f_code.co_filename
        try:
            relative = os.path.relpath(filename)
            filename = filename if relative.startswith("..") else relative
        except ValueError:
            pass
        return f"frame {root.name} ({filename}:{root.owner.f_lineno})"
    return f"{root.kind} {root.name}"


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
    if any(key is child for key, _ in items):
        return "key"
    return None


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
        frame = getattr(obj, "gi_frame", None) or getattr(obj, "cr_frame", None) or getattr(obj, "ag_frame", None)
        return frame if isinstance(frame, types.FrameType) else None
    return None


def _descriptor_edge(parent: object, child: object) -> str | None:
    """``.name`` for a slot or a C-level attribute (``__self__``, ``__defaults__``, ``f_back``…) of ``parent`` that
    is ``child``; only descriptors implemented in C are read, so no user code runs."""
    cls = type(parent)
    for klass in cls.__mro__:
        for name, descriptor in list(vars(klass).items()):
            if name in _SKIPPED_DESCRIPTORS or not isinstance(descriptor, _DESCRIPTORS):
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


# -------------------------------------------------------------------------------------------------------- rendering


class _Repr(reprlib.Repr):
    def repr_instance(self, x: object, level: int) -> str:
        # reprlib hides a failing __repr__ behind "<X instance at 0x…>"; let it fail so we show just the type.
        text = repr(x)
        return text if len(text) <= self.maxother else text[: self.maxother - 1] + "…"


_REPR = _Repr()
_REPR.maxstring = _REPR.maxother = 60


def _short_repr(obj: object, limit: int) -> str | None:
    try:
        text = _REPR.repr(obj)
    except Exception:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _type_name(obj: object) -> str:
    return type(obj).__qualname__


def _describe(target: object) -> str:
    """``<Foo>``, or ``<Foo 'short repr'>`` when the type has a repr of its own that does not raise."""
    name = _type_name(target)
    if type(target).__repr__ is object.__repr__:
        return f"<{name}>"
    text = _short_repr(target, 60)
    return f"<{name}>" if text is None else f"<{name} '{text}'>"
