"""A Markdown summary for the GitHub Actions job page (``$GITHUB_STEP_SUMMARY``).

The summary is a courtesy on top of the test result: writing it must never fail a run, so
:func:`append_step_summary` returns a warning instead of raising.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from .baseline import Comparison
from .fileio import describe_os_error
from .results import TestResult
from .rules import describe_change, format_figure
from .units import format_duration, format_size

__all__ = ["STEP_SUMMARY_ENV", "append_step_summary", "github_step_summary"]

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def _cell(text: str) -> str:
    # A node id can hold any character of a parametrize id; '|' would end the cell and a newline the row.
    escaped = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("`", "'")
    return f"`{escaped}`"


def _size(value: int | None) -> str:
    return "–" if value is None else format_size(value)


def github_step_summary(
    results: Iterable[TestResult], comparison: Comparison | None = None, top: int = 10
) -> str:
    """Return Markdown: the ``top`` largest tests by peak heap (or peak RSS), then the regressions, if any.

    Tests are ordered by peak heap when any test traced its heap, else by peak RSS, because those are the
    figures a reviewer acts on. ``comparison`` is the result of :func:`pytest_memguard.baseline.compare`,
    or ``None`` when the run was not compared with a baseline.
    """
    results = list(results)
    lines = ["## pytest-memguard", ""]
    failing = sum(1 for result in results if result.failed_checks)
    lines.append(
        f"{len(results)} tests measured, {failing} with failed memory checks."
        if results
        else "No tests were measured."
    )
    key = "peak_heap" if any(result.peak_heap is not None for result in results) else "peak_rss"
    ranked = sorted(
        (result for result in results if getattr(result, key) is not None),
        key=lambda result: getattr(result, key),
        reverse=True,
    )[: max(top, 0)]
    if ranked:
        label = "peak heap" if key == "peak_heap" else "peak RSS"
        lines += ["", f"### Largest tests by {label}", ""]
        lines += [
            "| test | peak heap | peak RSS | leak per run | longest GC pause | checks |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for result in ranked:
            failed = ", ".join(check.name for check in result.failed_checks)
            checks = f"❌ {failed}" if failed else ("✅" if result.checks else "")
            lines.append(
                f"| {_cell(result.nodeid)} | {_size(result.peak_heap)} | {_size(result.peak_rss)} | "
                f"{_size(result.leak_per_run)} | {format_duration(result.gc_pause_max)} | {checks} |"
            )
    if comparison is not None:
        lines += ["", "### Compared with the baseline", ""]
        lines.extend(f"> ⚠️ {warning}" for warning in comparison.warnings)
        if comparison.warnings:
            lines.append("")
        rules = ", ".join(f"`{rule.expr}`" for rule in comparison.rules) or "none"
        summary = f"{comparison.compared} tests compared (rules: {rules})"
        summary += f", {len(comparison.new)} new, {len(comparison.gone)} gone."
        if not comparison.regressions:
            lines.append(f"{summary} No regressions.")
        else:
            count = len(comparison.regressions)
            lines.append(f"{summary} **{count} regression{'s' if count != 1 else ''}:**")
            lines += [
                "",
                "| test | figure | baseline | now | change | rule |",
                "|---|---|---:|---:|---:|---|",
            ]
            for regression in comparison.regressions:
                base = regression.baseline
                shown_base = "–" if base is None else format_figure(regression.figure, base)
                change = describe_change(
                    regression.figure, regression.now - regression.change, regression.now
                )
                lines.append(
                    f"| {_cell(regression.nodeid)} | {regression.figure} | {shown_base} | "
                    f"{format_figure(regression.figure, regression.now)} | {change} | "
                    f"`{regression.rule.expr}` |"
                )
    return "\n".join(lines) + "\n"


def append_step_summary(text: str) -> str | None:
    """Append ``text`` to the file ``$GITHUB_STEP_SUMMARY`` names; do nothing when it is not set.

    Returns ``None`` on success (or when not on GitHub Actions), else a warning naming the file and the
    error; it never raises, because a summary that cannot be written is not a reason to fail the run.
    """
    path = os.environ.get(STEP_SUMMARY_ENV)
    if not path:
        return None
    try:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(text if text.endswith("\n") else text + "\n")
    except OSError as error:
        reason = describe_os_error(error)
        return f"cannot append the memguard summary to {STEP_SUMMARY_ENV} file {path}: {reason}"
    return None
