"""Saved baselines: the figures of a run, kept to compare later runs with, and merged across CI shards.

The file is versioned (``schema`` + ``version``) so that a baseline written by another release of the plugin
is refused with a message that says which version it is and which one we read, rather than compared as if
its fields meant what ours mean. It records the interpreter and platform too, because peak heap and RSS of
the same code differ between Python versions and machines: a comparison across them warns.

:func:`compare` checks a run against a baseline with the rules of :mod:`pytest_memguard.rules`
(``--memguard-fail-regression``); :func:`parse_rule` and :class:`Rule` are re-exported here for callers.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple

from ._schema import json_kind, parse_test
from ._version import __version__
from .errors import MemguardUsageError
from .fileio import StrPath, read_json, write_atomic
from .results import TestResult
from .rules import Rule, describe_change, format_figure, parse_rule
from .units import format_size

__all__ = [
    "REPORT_SCHEMA",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Baseline",
    "Comparison",
    "MergeResult",
    "Regression",
    "Rule",
    "compare",
    "current_environment",
    "format_comparison",
    "load_figures",
    "merge",
    "parse_rule",
]

SCHEMA = "pytest-memguard/baseline"
SCHEMA_VERSION = 1
#: The JSON report's schema name (see :mod:`pytest_memguard.jsonreport`); ``load_figures`` reads both.
REPORT_SCHEMA = "pytest-memguard/report"
REPORT_VERSION = 1

_ENVIRONMENT_FIELDS = ("python", "implementation", "platform", "plugin_version", "created")


def current_environment() -> dict[str, str]:
    """Return what a baseline records about the interpreter and machine this process runs on."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": f"{sys.platform}-{platform.machine() or 'unknown'}",
        "plugin_version": __version__,
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    }


@dataclass
class Baseline:
    """The figures of every test of one run, with where and when they were measured.

    ``tests`` maps a node id to its :class:`TestResult`. ``source`` is the path the baseline was loaded
    from (``None`` for one built in memory); it is not saved.
    """

    python: str
    implementation: str
    platform: str
    plugin_version: str
    created: str
    tests: dict[str, TestResult] = field(default_factory=dict)
    source: str | None = field(default=None, compare=False)

    @classmethod
    def from_results(cls, results: Iterable[TestResult]) -> Baseline:
        """Build a baseline of ``results`` measured by this interpreter; a repeated node id keeps the last."""
        return cls(**current_environment(), tests={result.nodeid: result for result in results})

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-safe form that :meth:`save` writes."""
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            **{name: getattr(self, name) for name in _ENVIRONMENT_FIELDS},
            "tests": {nodeid: result.to_dict() for nodeid, result in sorted(self.tests.items())},
        }

    def save(self, path: StrPath) -> None:
        """Write the baseline to ``path`` atomically: an existing file is replaced whole or left as it was."""
        # One test per line: readable in a diff, and fast to write (json's C encoder is not used with indent).
        data = self.to_dict()
        tests = data.pop("tests")
        lines = [f"  {json.dumps(key)}: {json.dumps(value)}," for key, value in data.items()]
        entries = ",\n".join(
            f"    {json.dumps(nodeid)}: {json.dumps(test)}" for nodeid, test in tests.items()
        )
        text = (
            "{\n" + "\n".join(lines) + '\n  "tests": {' + (f"\n{entries}\n  " if entries else "") + "}\n}\n"
        )
        write_atomic(path, text, what="memguard baseline")

    @classmethod
    def load(cls, path: StrPath) -> Baseline:
        """Read a baseline saved by :meth:`save`.

        Raises :class:`MemguardUsageError` naming the file when it is missing, unreadable, corrupt or
        truncated, not a memguard baseline, of a schema version this plugin does not read, or has a missing
        or ill-typed field.
        """
        source = str(path)
        data = read_json(path, what="memguard baseline")
        schema = data.get("schema")
        if schema != SCHEMA:
            hint = " (that is a memguard JSON report, not a baseline)" if schema == REPORT_SCHEMA else ""
            raise MemguardUsageError(
                f"{source} is not a memguard baseline: schema is {schema!r}, expected {SCHEMA!r}{hint}"
            )
        _check_version(source, "baseline", data.get("version"), SCHEMA_VERSION)
        tests = data.get("tests")
        if not isinstance(tests, dict):
            raise MemguardUsageError(
                f"memguard baseline {source}: field 'tests' must be an object of node id → figures, "
                f"found {json_kind(tests)}"
            )
        results = {nodeid: parse_test(source, "baseline", entry, nodeid) for nodeid, entry in tests.items()}
        return cls(**_parse_environment(source, "baseline", data), tests=results, source=source)


def load_figures(path: StrPath) -> Baseline:
    """Read the figures of a run from a saved baseline or from a JSON report (told apart by their schema).

    This is what ``python -m pytest_memguard compare`` reads on either side, so a CI job can compare the JSON
    report it already uploads with the baseline of the main branch.
    """
    source = str(path)
    data = read_json(path, what="memguard baseline or report")
    schema = data.get("schema")
    if schema == SCHEMA:
        return Baseline.load(path)
    if schema != REPORT_SCHEMA:
        raise MemguardUsageError(
            f"{source} is neither a memguard baseline nor a memguard JSON report: schema is {schema!r}, "
            f"expected {SCHEMA!r} or {REPORT_SCHEMA!r}"
        )
    _check_version(source, "JSON report", data.get("version"), REPORT_VERSION)
    tests = data.get("tests")
    if not isinstance(tests, list):
        raise MemguardUsageError(
            f"memguard JSON report {source}: field 'tests' must be an array, found {json_kind(tests)}"
        )
    results: dict[str, TestResult] = {}
    for index, entry in enumerate(tests):
        nodeid = entry.get("nodeid") if isinstance(entry, dict) else None
        if not isinstance(nodeid, str):
            raise MemguardUsageError(
                f"memguard JSON report {source}: tests[{index}] must be an object with a string 'nodeid'"
            )
        results[nodeid] = parse_test(source, "JSON report", entry, nodeid)
    return Baseline(**_parse_environment(source, "JSON report", data), tests=results, source=source)


class MergeResult(NamedTuple):
    """What :func:`merge` returns: the merged baseline, and what the caller should tell the user.

    ``duplicates`` maps each node id found in more than one input to the indices of those inputs, in order;
    the last one's figures were kept. ``warnings`` says when inputs came from different interpreters.
    """

    baseline: Baseline
    duplicates: dict[str, list[int]]
    warnings: list[str]


def merge(baselines: Sequence[Baseline]) -> MergeResult:
    """Merge the baselines of CI shards or separate runs into one; a test in two inputs: the later wins.

    The environment recorded is the last input's; inputs from other interpreters or platforms are
    reported in ``warnings``, since their figures are not comparable with each other.
    """
    if not baselines:
        raise MemguardUsageError("nothing to merge: give at least one baseline")
    seen: dict[str, list[int]] = {}
    tests: dict[str, TestResult] = {}
    for index, baseline in enumerate(baselines):
        for nodeid, result in baseline.tests.items():
            seen.setdefault(nodeid, []).append(index)
            tests[nodeid] = result
    last = baselines[-1]
    warnings = [
        f"{_label(baseline, index)} was measured on {describe_environment(baseline)}, "
        f"{_label(last, len(baselines) - 1)} on {describe_environment(last)}"
        for index, baseline in enumerate(baselines[:-1])
        if _environment_key(baseline) != _environment_key(last)
    ]
    merged = Baseline(
        python=last.python,
        implementation=last.implementation,
        platform=last.platform,
        plugin_version=__version__,
        created=current_environment()["created"],
        tests=tests,
    )
    duplicates = {nodeid: indices for nodeid, indices in seen.items() if len(indices) > 1}
    return MergeResult(merged, duplicates, warnings)


def describe_environment(baseline: Baseline) -> str:
    """``'CPython 3.11.7 on linux-x86_64'``: the words a warning about differing environments uses."""
    return f"{baseline.implementation} {baseline.python} on {baseline.platform}"


def _environment_key(baseline: Baseline) -> tuple[str, str, str]:
    # Patch releases rarely move memory figures; minor releases and other machines do.
    minor = ".".join(baseline.python.split(".")[:2])
    return baseline.implementation, minor, baseline.platform


def _label(baseline: Baseline, index: int) -> str:
    return baseline.source or f"input {index + 1}"


def _check_version(source: str, what: str, found: object, supported: int) -> None:
    if found == supported and not isinstance(found, bool):
        return
    if isinstance(found, int) and not isinstance(found, bool) and found > supported:
        advice = "it was written by a newer pytest-memguard; upgrade to read it, or save a new baseline"
    else:
        advice = "save a new baseline with this version"
    raise MemguardUsageError(
        f"memguard {what} {source} has schema version {found!r}, this pytest-memguard reads version "
        f"{supported}: {advice}"
    )


def _parse_environment(source: str, what: str, data: dict[str, Any]) -> dict[str, str]:
    environment: dict[str, str] = {}
    for name in _ENVIRONMENT_FIELDS:
        if name not in data:
            raise MemguardUsageError(f"memguard {what} {source}: missing field {name!r}")
        value = data[name]
        if not isinstance(value, str):
            raise MemguardUsageError(
                f"memguard {what} {source}: field {name!r} must be a string, found {json_kind(value)}"
            )
        environment[name] = value
    return environment


@dataclass(frozen=True)
class Regression:
    """One figure of one test that grew beyond a rule.

    ``baseline`` is ``None`` when the baseline did not measure it (a ``leak`` that was not found before);
    ``change`` is the growth in bytes or seconds over the baseline (taken as 0 for such a leak).
    """

    nodeid: str
    figure: str
    baseline: float | None
    now: float
    change: float
    rule: Rule

    @property
    def message(self) -> str:
        """One line: ``'tests/test_a.py::t: peak_heap grew from 1.00 MiB to 1.50 MiB (+512 KiB, …'``."""
        base = _effective_baseline(self.figure, self.baseline)
        return f"{self.nodeid}: {self.rule.fails(base, self.now) or self.rule.expr}"


@dataclass
class Comparison:
    """The outcome of comparing a run with a baseline; ``regressions`` non-empty means the gate fails."""

    regressions: list[Regression] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    compared: int = 0
    warnings: list[str] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    floor: int = 0


def _effective_baseline(figure: str, value: float | None) -> float:
    # A leak that was absent (None) or a shrink (<= 0) before is "no leak": growth is measured from zero,
    # so ``leak:0`` catches a test that starts leaking.
    if figure == "leak":
        return max(value or 0.0, 0.0)
    assert value is not None
    return value


def compare(
    baseline: Baseline,
    results: Baseline | Iterable[TestResult],
    rules: Sequence[Rule],
    floor: int = 0,
) -> Comparison:
    """Compare ``results`` (this run's, or another saved run) with ``baseline`` under ``rules``.

    A figure is compared only when both sides measured it, except ``leak``, where an unmeasured or
    non-positive baseline counts as zero. Growth of a size figure smaller than ``floor`` bytes is ignored,
    so that allocator noise on tiny tests does not fail a percentage rule. A baseline measured with another
    Python (major.minor or implementation) or platform adds a warning naming both.
    """
    current = results if isinstance(results, Baseline) else Baseline.from_results(results)
    comparison = Comparison(rules=list(rules), floor=floor)
    if _environment_key(baseline) != _environment_key(current):
        comparison.warnings.append(
            f"the baseline was measured on {describe_environment(baseline)}, this run on "
            f"{describe_environment(current)}: figures may differ for that reason alone"
        )
    comparison.new = sorted(set(current.tests) - set(baseline.tests))
    comparison.gone = sorted(set(baseline.tests) - set(current.tests))
    for nodeid in sorted(set(current.tests) & set(baseline.tests)):
        comparison.compared += 1
        before, after = baseline.tests[nodeid], current.tests[nodeid]
        for rule in rules:
            now = after.figure(rule.figure)
            then = before.figure(rule.figure)
            if now is None or (then is None and rule.figure != "leak"):
                continue
            base = _effective_baseline(rule.figure, then)
            change = now - base
            if rule.is_size and change < floor:
                continue
            if rule.fails(base, now) is not None:
                comparison.regressions.append(Regression(nodeid, rule.figure, then, now, change, rule))
    return comparison


def format_comparison(comparison: Comparison) -> str:
    """Render ``comparison`` for a terminal: warnings, a table of regressions, then new and gone tests."""
    lines: list[str] = []
    rules = ", ".join(rule.expr for rule in comparison.rules) or "none"
    floor = f"; growth under {format_size(comparison.floor)} ignored" if comparison.floor else ""
    lines.append(f"memguard: compared {comparison.compared} tests with the baseline (rules: {rules}{floor})")
    lines.extend(f"warning: {warning}" for warning in comparison.warnings)
    if comparison.regressions:
        count = len(comparison.regressions)
        lines.append(f"{count} regression{'s' if count != 1 else ''}:")
        rows = [("test", "figure", "baseline", "now", "change", "rule")]
        for regression in comparison.regressions:
            base = _effective_baseline(regression.figure, regression.baseline)
            rows.append(
                (
                    regression.nodeid,
                    regression.figure,
                    _format_optional(regression.figure, regression.baseline),
                    format_figure(regression.figure, regression.now),
                    describe_change(regression.figure, base, regression.now),
                    regression.rule.expr,
                )
            )
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
        lines.extend(
            "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in rows
        )
    else:
        lines.append("no regressions")
    if comparison.new:
        lines.append(f"new tests (not in the baseline): {len(comparison.new)}")
        lines.extend(f"  {nodeid}" for nodeid in comparison.new)
    if comparison.gone:
        lines.append(f"gone tests (in the baseline, not in this run): {len(comparison.gone)}")
        lines.extend(f"  {nodeid}" for nodeid in comparison.gone)
    return "\n".join(lines)


def _format_optional(figure: str, value: float | None) -> str:
    return "-" if value is None else format_figure(figure, value)
