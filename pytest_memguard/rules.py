"""Regression rules: ``--memguard-fail-regression=peak_heap:10%`` parsed into a small checking object.

A rule is ``FIGURE:N%`` (growth relative to the baseline) or ``FIGURE:AMOUNT`` (absolute growth: a size for
``peak_heap``, ``peak_rss`` and ``leak``, a duration for ``gc_pause``). The model is pytest-benchmark's
``--benchmark-compare-fail=min:5%``: one parser that says exactly what is wrong with an expression, and
objects whose :meth:`Rule.fails` returns a message rather than a bare boolean, so the report can say why.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final, Literal

from .errors import MemguardUsageError
from .results import FIGURES
from .units import format_duration, format_size, parse_duration, parse_size

__all__ = ["FIGURE_KINDS", "Rule", "format_figure", "parse_rule"]

#: Each comparable figure and the kind of quantity it is; ``size`` figures are bytes, ``duration`` seconds.
FIGURE_KINDS: Final[dict[str, Literal["size", "duration"]]] = {
    "peak_heap": "size",
    "peak_rss": "size",
    "leak": "size",
    "gc_pause": "duration",
}
assert set(FIGURE_KINDS) == set(FIGURES), "FIGURE_KINDS must cover results.FIGURES"

_PERCENT = re.compile(r"^\s*([+]?(?:\d+(?:\.\d*)?|\.\d+))\s*%\s*$")


def format_figure(figure: str, value: float) -> str:
    """Format ``value`` of ``figure`` in human units (``'1.50 MiB'``, ``'4.20 ms'``)."""
    if FIGURE_KINDS[figure] == "duration":
        return format_duration(value)
    return format_size(value)


@dataclass(frozen=True)
class Rule:
    """One parsed regression rule: ``figure`` may grow by at most ``threshold`` (percent, or bytes/seconds).

    ``expr`` is the expression as the user wrote it, kept for messages.
    """

    figure: str
    kind: Literal["percent", "absolute"]
    threshold: float
    expr: str

    @property
    def is_size(self) -> bool:
        return FIGURE_KINDS[self.figure] == "size"

    def __str__(self) -> str:
        return self.expr

    def limit(self, baseline: float) -> float:
        """Return the largest growth over ``baseline`` this rule tolerates."""
        if self.kind == "percent":
            return baseline * self.threshold / 100.0
        return self.threshold

    def fails(self, baseline: float, now: float) -> str | None:
        """Return why growing from ``baseline`` to ``now`` breaks this rule, or ``None`` if it does not.

        A percentage of a baseline of zero is zero, so with ``N%`` any growth from nothing fails: memory that
        appears where there was none is exactly what a percentage rule cannot excuse.
        """
        change = now - baseline
        if change <= self.limit(baseline):
            return None
        grown = f"{self.figure} grew from {format_figure(self.figure, baseline)} to "
        grown += f"{format_figure(self.figure, now)} ({describe_change(self.figure, baseline, now)})"
        if self.kind == "percent":
            return f"{grown}, more than {self.threshold:g}% ({self.expr})"
        return f"{grown}, more than {format_figure(self.figure, self.threshold)} ({self.expr})"


def describe_change(figure: str, baseline: float, now: float) -> str:
    """``'+512 KiB, +50.0%'``: the growth in units, and relative to the baseline when that means something."""
    change = now - baseline
    text = ("+" if change >= 0 else "") + format_figure(figure, change)
    if baseline > 0:
        text += f", {change / baseline * 100:+.1f}%"
    elif change > 0:
        text += ", new"
    return text


def parse_rule(expr: str) -> Rule:
    """Parse ``FIGURE:N%``, ``FIGURE:SIZE`` or ``FIGURE:DURATION`` into a :class:`Rule`.

    Raises :class:`MemguardUsageError` naming the expression and what is wrong with it (unknown figure,
    missing threshold, a unit that does not fit the figure, a negative number), listing the valid figures.
    """
    valid = ", ".join(FIGURE_KINDS)
    usage = f"expected FIGURE:N% or FIGURE:AMOUNT with FIGURE one of {valid} (e.g. peak_heap:10%, leak:0)"
    if not isinstance(expr, str):
        raise MemguardUsageError(f"bad regression rule {expr!r}: {usage}")
    figure, colon, threshold_text = expr.partition(":")
    figure = figure.strip()
    threshold_text = threshold_text.strip()
    if not colon:
        raise MemguardUsageError(f"bad regression rule {expr!r}: no ':' and threshold; {usage}")
    if figure not in FIGURE_KINDS:
        raise MemguardUsageError(
            f"bad regression rule {expr!r}: unknown figure {figure!r}; valid figures: {valid}"
        )
    if not threshold_text:
        raise MemguardUsageError(f"bad regression rule {expr!r}: no threshold after ':'; {usage}")
    if threshold_text.startswith("-"):
        raise MemguardUsageError(f"bad regression rule {expr!r}: the threshold must not be negative")
    if threshold_text.endswith("%"):
        match = _PERCENT.match(threshold_text)
        if match is None or not math.isfinite(percent := float(match.group(1))):
            raise MemguardUsageError(
                f"bad regression rule {expr!r}: {threshold_text!r} is not a percentage such as 10%"
            )
        return Rule(figure, "percent", percent, expr.strip())
    kind = FIGURE_KINDS[figure]
    try:
        amount = float(parse_size(threshold_text)) if kind == "size" else parse_duration(threshold_text)
    except ValueError:
        example = "5MiB" if kind == "size" else "5ms"
        raise MemguardUsageError(
            f"bad regression rule {expr!r}: {threshold_text!r} is not a percentage or a {kind} "
            f"(the {figure} figure is a {kind}: e.g. {figure}:10% or {figure}:{example})"
        ) from None
    return Rule(figure, "absolute", amount, expr.strip())
