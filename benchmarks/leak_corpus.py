"""Score memguard's leak verdict on a corpus of tests that leak and tests that do not.

Runs ``benchmarks/leak_corpus`` with pytest in a subprocess ``--runs`` times (default 5), reads each test's
outcome, its ``memguard`` user property (``leak_verdict``, ``leak_per_run``) and its failure message from
the JUnit XML, and prints one row per test: what it is expected to be (``test_leak_*`` leak, ``test_clean_*``
clean), the verdict of each run, and the classification:

* ``found``       a leaking test judged "leak" in every run
* ``missed``      a leaking test judged "ok" in a run
* ``ok``          a clean test judged "ok" and passed in every run
* ``FALSE ALARM`` a clean test judged "leak", or failed for another reason (an extra run raised), in a run

A verdict per run is ``leak``, ``ok``, ``error`` (the test failed without a leak verdict: an extra run of the
body raised, or the test itself failed) or ``-`` (no memguard property: the test was not leak-checked).

Exit code 1 if there is a false alarm or a verdict that changes between runs, 0 otherwise (misses are
reported but fail the run only with ``--strict``).

    /work/venv/bin/python benchmarks/leak_corpus.py [--runs N] [-k EXPR] [-v] [--strict] [--json FILE]
        [--keep-xml DIR] [--corpus DIR] [-- PYTEST_ARGS...]

``--corpus`` runs another copy of the corpus (for instance one with a conftest.py that tries out a change to
the leak check); arguments after ``--`` go to pytest (``-- --capture=sys`` scores it under sys capture).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "leak_corpus"
PYTHON = "/work/venv/bin/python" if Path("/work/venv/bin/python").exists() else sys.executable
PROPERTY = "memguard"


@dataclass
class Observation:
    """One test in one run of the corpus."""

    outcome: str  # "passed", "failed", "error", "skipped"
    verdict: str  # "leak", "ok", "error", "-"
    per_run: int | None
    message: str
    details: str


@dataclass
class Row:
    test: str
    observations: list[Observation] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.test.rsplit("::", 1)[-1]

    @property
    def expected(self) -> str:
        if self.name.startswith("test_leak_"):
            return "leak"
        if self.name.startswith("test_clean_"):
            return "clean"
        return "?"

    @property
    def verdicts(self) -> list[str]:
        return [observation.verdict for observation in self.observations]

    @property
    def stable(self) -> bool:
        return len(set(self.verdicts)) <= 1

    @property
    def classification(self) -> str:
        verdicts = self.verdicts
        if self.expected == "leak":
            return "found" if verdicts and all(v == "leak" for v in verdicts) else "missed"
        if self.expected == "clean":
            pairs = zip(verdicts, self.observations, strict=True)
            clean = all(v == "ok" and o.outcome == "passed" for v, o in pairs)
            return "ok" if verdicts and clean else "FALSE ALARM"
        return "?"


def _plugin_available(module: str) -> bool:
    code = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({module!r}) else 1)"
    return subprocess.run([PYTHON, "-c", code], check=False).returncode == 0


def pytest_command(junitxml: Path, extra: list[str], corpus: Path = CORPUS) -> list[str]:
    command = [
        PYTHON,
        "-m",
        "pytest",
        str(corpus),
        "-p",
        "no:cacheprovider",
        "-q",
        f"--junitxml={junitxml}",
        "-o",
        "junit_family=xunit1",
    ]
    if _plugin_available("pytest_randomly"):
        command += ["-p", "no:randomly"]
    return command + extra


def run_once(
    extra: list[str], keep: Path | None, index: int, corpus: Path = CORPUS
) -> tuple[dict[str, Observation], str]:
    """Run the corpus once; the observations by test id, and pytest's last line."""
    with tempfile.TemporaryDirectory(prefix="leak-corpus-") as directory:
        junitxml = (keep / f"run-{index}.xml") if keep else Path(directory) / "junit.xml"
        command = pytest_command(junitxml, extra, corpus)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        completed = subprocess.run(
            command, cwd=corpus.parent, capture_output=True, text=True, env=env, check=False
        )
        if not junitxml.exists():
            sys.stderr.write(completed.stdout + completed.stderr)
            raise SystemExit(f"leak_corpus: pytest wrote no JUnit XML (exit code {completed.returncode})")
        lines = [line for line in completed.stdout.splitlines() if line.strip()]
        return parse_junit(junitxml), lines[-1] if lines else ""


def parse_junit(path: Path) -> dict[str, Observation]:
    found: dict[str, Observation] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        test = f"{classname}::{name}" if classname else name
        props: dict[str, object] = {}
        for prop in case.iter("property"):
            if prop.get("name") == PROPERTY:
                try:
                    props = json.loads(prop.get("value", "{}"))
                except json.JSONDecodeError:
                    props = {}
        failure = case.find("failure")
        error = case.find("error")
        skipped = case.find("skipped")
        if failure is not None:
            outcome, node = "failed", failure
        elif error is not None:
            outcome, node = "error", error
        elif skipped is not None:
            outcome, node = "skipped", skipped
        else:
            outcome, node = "passed", None
        message = node.get("message", "") if node is not None else ""
        details = (node.text or "") if node is not None else ""
        verdict = props.get("leak_verdict")
        if verdict in ("leak", "ok"):
            shown = str(verdict)
        elif outcome in ("failed", "error"):
            shown = "error"
        else:
            shown = "-"
        per_run = props.get("leak_per_run")
        found[test] = Observation(
            outcome, shown, per_run if isinstance(per_run, int) else None, message, details
        )
    return found


def _size(value: int | None) -> str:
    if value is None:
        return "-"
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(value) >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value} B"


def report(rows: list[Row], runs: int, verbose: bool) -> tuple[int, int, int, int, bool]:
    width = max(len(row.test) for row in rows)
    header = f"{'test':<{width}}  {'expected':<8}  {'verdict per run':<{6 * runs}}  {'per run':>9}  result"
    print(header)
    print("-" * len(header))
    for row in sorted(rows, key=lambda r: (r.expected, r.test)):
        verdicts = " ".join(f"{v:<5}" for v in row.verdicts)
        sizes = [o.per_run for o in row.observations if o.per_run is not None]
        per_run = _size(sum(sizes) // len(sizes)) if sizes else "-"
        flag = row.classification + ("" if row.stable else "  (UNSTABLE)")
        print(f"{row.test:<{width}}  {row.expected:<8}  {verdicts:<{6 * runs}}  {per_run:>9}  {flag}")
        if verbose or row.classification in ("missed", "FALSE ALARM") or not row.stable:
            messages = {o.message.splitlines()[0] if o.message else "" for o in row.observations} - {""}
            for message in sorted(messages):
                print(f"    {message[:300]}")
            if verbose:
                for observation in row.observations[:1]:
                    for line in observation.details.splitlines()[:20]:
                        print(f"        {line}")
    leaks = [row for row in rows if row.expected == "leak"]
    cleans = [row for row in rows if row.expected == "clean"]
    found = sum(row.classification == "found" for row in leaks)
    alarms = sum(row.classification == "FALSE ALARM" for row in cleans)
    stable = all(row.stable for row in rows)
    print()
    print(
        f"found {found} of {len(leaks)} leaks; {alarms} false alarms of {len(cleans)} clean tests; "
        f"verdicts stable across {runs} runs: {'yes' if stable else 'no'}"
    )
    return found, len(leaks), alarms, len(cleans), stable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="how many times to run the corpus (default 5)")
    parser.add_argument("-k", dest="keyword", help="only the tests matching this pytest -k expression")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show every failure's message and details"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 on a missed leak too")
    parser.add_argument("--keep-xml", type=Path, help="keep each run's JUnit XML in this directory")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=CORPUS,
        help="the corpus directory (default benchmarks/leak_corpus; or a copy)",
    )
    parser.add_argument("--json", type=Path, help="write the rows and totals to this JSON file")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    extra = list(args.pytest_args)
    if args.keyword:
        extra += ["-k", args.keyword]
    if args.keep_xml:
        args.keep_xml.mkdir(parents=True, exist_ok=True)

    rows: dict[str, Row] = {}
    for index in range(args.runs):
        observations, last_line = run_once(extra, args.keep_xml, index, args.corpus.resolve())
        print(f"run {index + 1}/{args.runs}: {last_line}", file=sys.stderr)
        for test in observations:
            rows.setdefault(test, Row(test))
        for test, row in rows.items():
            row.observations.append(observations.get(test, Observation("missing", "missing", None, "", "")))
    if not rows:
        print("no tests ran", file=sys.stderr)
        return 1
    found, leaks, alarms, cleans, stable = report(list(rows.values()), args.runs, args.verbose)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "runs": args.runs,
                    "found": found,
                    "leaks": leaks,
                    "false_alarms": alarms,
                    "clean": cleans,
                    "stable": stable,
                    "tests": [
                        {
                            "test": row.test,
                            "expected": row.expected,
                            "verdicts": row.verdicts,
                            "per_run": [o.per_run for o in row.observations],
                            "classification": row.classification,
                            "stable": row.stable,
                            "messages": sorted({o.message for o in row.observations} - {""}),
                        }
                        for row in rows.values()
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    failed = alarms > 0 or not stable or (args.strict and found < leaks)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
