"""The end of a session: compare with the baseline, write the files, push the metrics.

Runs on the controller only (a serial run is its own controller): xdist workers measure, and their results
arrive here through the test reports. Bad paths are refused before any test runs, so a long suite never
ends in a file it cannot write; a file is replaced atomically or not at all.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from .baseline import Baseline, Comparison, compare, format_comparison, load_figures
from .errors import MemguardError, MemguardUsageError
from .results import TestResult
from .settings import Settings
from .units import format_duration

__all__ = ["SessionOutputs", "check_output_path"]


def check_output_path(path: str, option: str) -> None:
    """Refuse, up front, a path whose directory is missing or not writable, naming the option."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        raise MemguardUsageError(f"{option}: {path!r} is a directory, expected a file path")
    if not os.path.isdir(directory):
        raise MemguardUsageError(f"{option}: cannot write {path!r}: directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise MemguardUsageError(f"{option}: cannot write {path!r}: directory {directory!r} is not writable")


class SessionOutputs:
    """What ``--memguard-save/-compare/-json/-prometheus/-pushgateway`` ask for, done once at the end."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.baseline: Baseline | None = None
        self.comparison: Comparison | None = None
        self.written: list[str] = []
        self.warnings: list[str] = []

    def validate(self) -> None:
        """Load the baseline and check the output paths now; raises ``MemguardUsageError``."""
        settings = self.settings
        if settings.fail_regression and not settings.compare:
            raise MemguardUsageError(
                "--memguard-fail-regression needs a baseline: add --memguard-compare=PATH"
            )
        if settings.compare:
            self.baseline = load_figures(settings.compare)
        for path, option in (
            (settings.save, "--memguard-save"),
            (settings.json, "--memguard-json"),
            (settings.prometheus, "--memguard-prometheus"),
        ):
            if path:
                check_output_path(path, option)

    def compare(self, results: list[TestResult]) -> Comparison | None:
        if self.baseline is None:
            return None
        self.comparison = compare(
            self.baseline, results, self.settings.fail_regression, self.settings.regression_floor
        )
        self.warnings.extend(self.comparison.warnings)
        for rule in self.settings.fail_regression:
            if rule.figure != "leak" and all(
                test.figure(rule.figure) is None for test in self.baseline.tests.values()
            ):
                self.warnings.append(
                    f"the baseline {self.settings.compare} has no {rule.figure} figures, "
                    f"so {rule.expr} compares nothing"
                    + (" (save it with --memguard-heap)" if rule.figure == "peak_heap" else "")
                )
        return self.comparison

    def write(
        self, results: list[TestResult], session_info: dict[str, Any], extra_registries: Iterable[Any] = ()
    ) -> None:
        """Write every requested file and push; each failure becomes a warning, the others still happen."""
        settings = self.settings
        if settings.save:
            self._attempt(
                f"wrote {settings.save}", lambda: Baseline.from_results(results).save(settings.save or "")
            )
        if settings.json:
            from .jsonreport import build_report, write_report

            self._attempt(
                f"wrote {settings.json}",
                lambda: write_report(
                    settings.json or "", build_report(results, {**session_info, **self._comparison_info()})
                ),
            )
        if settings.prometheus or settings.pushgateway:
            from .metrics import build_registry, push, write_textfile

            registry = build_registry(results, session_info, extra_registries)
            if settings.prometheus:
                path = settings.prometheus

                def textfile() -> None:
                    warning = write_textfile(path, registry)
                    if warning:
                        self.warnings.append(warning)

                self._attempt(f"wrote {path}", textfile)
            if settings.pushgateway:
                url = settings.pushgateway
                self._attempt(
                    f"pushed the metrics to {url} (job {settings.job!r})",
                    lambda: push(url, settings.job, registry, settings.labels),
                )

    def _attempt(self, done: str, action: Callable[[], None]) -> None:
        started = time.perf_counter()
        try:
            action()
        except MemguardError as exc:
            self.warnings.append(str(exc))
        else:
            self.written.append(f"{done} in {format_duration(time.perf_counter() - started)}")

    def _comparison_info(self) -> dict[str, Any]:
        comparison = self.comparison
        if comparison is None:
            return {}
        return {
            "comparison": {
                "baseline": self.settings.compare,
                "rules": [rule.expr for rule in comparison.rules],
                "regressions": [
                    {
                        "test": r.nodeid,
                        "figure": r.figure,
                        "baseline": r.baseline,
                        "now": r.now,
                        "change": r.change,
                        "rule": r.rule.expr,
                    }
                    for r in comparison.regressions
                ],
                "new": comparison.new,
                "gone": comparison.gone,
            }
        }

    def summary_lines(self) -> list[str]:
        lines: list[str] = []
        if self.comparison is not None:
            lines.extend(format_comparison(self.comparison).splitlines())
        lines.extend(f"memguard: {done}" for done in self.written)
        lines.extend(f"memguard: warning: {warning}" for warning in self.warnings)
        return lines

    def report_without_terminal(self) -> None:
        """Without a terminal reporter (``-p no:terminal``), warnings still reach stderr."""
        for warning in self.warnings:
            print(f"memguard: warning: {warning}", file=sys.stderr)
