"""Checking a test's figures read from a file against :class:`TestResult`'s annotations.

``TestResult.from_dict`` trusts its input (it also reads the xdist transport, which we wrote ourselves);
files on disk may have been edited, cut short or written by something else, so baselines and reports are
checked field by field first, with a message that names the file, the test and the field.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Union

from .errors import MemguardUsageError
from .results import CheckResult, TestResult

__all__ = ["json_kind", "parse_test"]


def parse_test(source: str, what: str, entry: object, nodeid: str) -> TestResult:
    """Validate one test's figures against :class:`TestResult`'s annotations, then build it.

    Fields missing from the file take their defaults (a file written before a field was added stays
    readable); a field of the wrong type is an error, since comparing it would be meaningless.
    """
    where = f"memguard {what} {source}: test {nodeid!r}"
    if not isinstance(entry, dict):
        raise MemguardUsageError(f"{where}: must be an object of figures, found {json_kind(entry)}")
    hints = _hints(TestResult)
    for name, value in entry.items():
        hint = hints.get(name)
        if hint is not None and not _matches(value, hint):
            raise MemguardUsageError(
                f"{where}: field {name!r} must be {_describe(hint)}, found {json_kind(value)} {value!r:.60}"
            )
    for index, check in enumerate(entry.get("checks", [])):
        missing = [f.name for f in dataclasses.fields(CheckResult) if _required(f) and f.name not in check]
        if missing:
            raise MemguardUsageError(f"{where}: checks[{index}] is missing {', '.join(map(repr, missing))}")
    return TestResult.from_dict({**entry, "nodeid": nodeid})


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _matches(value: object, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is list:
        (item_hint,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(_matches(item, item_hint) for item in value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            return False
        nested = _hints(hint)
        return all(_matches(item, nested[key]) for key, item in value.items() if key in nested)
    return True  # a kind of field this reader does not know how to check: trust TestResult.from_dict


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in typing.get_args(hint))
    if origin is list:
        (item_hint,) = typing.get_args(hint) or (Any,)
        plurals = {bool: "booleans", int: "integers", float: "numbers", str: "strings"}
        return f"an array of {plurals.get(item_hint) or getattr(item_hint, '__name__', 'value') + ' objects'}"
    names = {type(None): "null", bool: "true/false", int: "an integer", float: "a number", str: "a string"}
    if hint in names:
        return names[hint]
    return f"a {getattr(hint, '__name__', hint)} object"


def json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
