"""What one measured test produced: its figures and the verdicts of its checks.

These records are the one shape every consumer reads: the terminal summary, ``report.user_properties``,
the JSON report, the saved baseline, the Prometheus metrics, and the xdist transport (``to_dict`` is
JSON-safe).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["FIGURES", "CheckResult", "TestResult"]

#: The figures a baseline compares, with the attribute of :class:`TestResult` each one reads.
FIGURES: dict[str, str] = {
    "peak_heap": "peak_heap",
    "peak_rss": "peak_rss",
    "leak": "leak_per_run",
    "gc_pause": "gc_pause_max",
}


@dataclass
class CheckResult:
    """The verdict of one check on one test: ``message`` is the one-line failure, ``details`` the evidence."""

    name: str
    passed: bool
    limit: str = ""
    message: str = ""
    details: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass
class TestResult:
    """The figures of one test call (the test body, not its fixtures).

    Sizes are bytes, durations seconds. ``None`` means "not measured" (for example ``peak_heap`` when the
    heap was not traced), which is not the same as zero.
    """

    __test__ = False  # not a test class, whatever pytest's collector thinks of the name

    nodeid: str
    outcome: str = "passed"
    duration: float = 0.0
    peak_heap: int | None = None
    retained_heap: int | None = None
    peak_rss: int | None = None
    allocated_blocks: int | None = None
    gc_collections: list[int] = field(default_factory=lambda: [0, 0, 0])
    gc_pause_max: float = 0.0
    gc_pause_total: float = 0.0
    uncollectable: int = 0
    leak_per_run: int | None = None
    leak_verdict: str | None = None
    checks: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [check for check in self.checks if not check.passed]

    def figure(self, name: str) -> float | None:
        """Return the baseline figure ``name`` (a key of :data:`FIGURES`), or ``None`` if not measured."""
        value = getattr(self, FIGURES[name])
        return None if value is None else float(value)

    def to_dict(self) -> dict[str, Any]:
        # By hand rather than dataclasses.asdict, which deep-copies recursively: this runs once per test.
        data = {name: getattr(self, name) for name in _FIELDS}
        data["gc_collections"] = list(self.gc_collections)
        data["checks"] = [check.__dict__.copy() for check in self.checks]
        data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestResult:
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["checks"] = [CheckResult.from_dict(check) for check in data.get("checks", [])]
        values["gc_collections"] = list(data.get("gc_collections", [0, 0, 0]))
        values["notes"] = list(data.get("notes", []))
        return cls(**values)


_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(TestResult))
