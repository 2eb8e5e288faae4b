#!/usr/bin/env python3
"""What pytest-memguard costs on real third-party test suites, next to tracemalloc and pytest-memray.

    python benchmarks/overhead.py [--runs N] [--suite packaging|attrs|all] [--stability]

The first run sets up, under ``benchmarks/.work/`` (git-ignored), a venv of its own with this repository
installed editable, pytest-memray, the sdists of packaging and attrs (pinned below) unpacked and installed,
and their test requirements; later runs skip what is done. Then, for each suite, every variant below runs
once to warm up and to check it (same number of tests everywhere, plain pytest passing), then ``--runs``
times, round-robin over the variants (each repetition starts one variant later), so that drift of the
machine hits all of them alike. Each figure is the wall time of the whole pytest process. Last, a quick
stability check: a deterministic file run 5 times in fresh processes, its figures read from JUnit XML.

Only the standard library is used here; it runs under any Python >= 3.10.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work"
VENV = WORK / "venv"
SDISTS = WORK / "sdists"
SRC = WORK / "src"
LOGS = WORK / "logs"
PLUGINS = HERE / "_plugins"

PACKAGING = "26.4"
ATTRS = "26.1.0"
PYTEST_MEMRAY = "1.11.0"
# What the two suites need to run offline, read from their pyproject.toml test groups: packaging's
# tests/test_markers.py imports only pytest and packaging (its group also lists pretend, hypothesis and
# tomli_w for other files: pretend and tomli_w are cheap, so the rest of its suite would run too); attrs'
# "tests" group is cloudpickle, hypothesis, pympler, pytest (and pytest-xdist, not needed serially).
TEST_REQUIREMENTS = ["pretend", "tomli_w", "hypothesis", "pympler", "cloudpickle"]

VPY = VENV / "bin" / "python"


@dataclass(frozen=True)
class Suite:
    name: str
    version: str
    args: tuple[str, ...]  # run from the unpacked sdist, so its own pytest configuration applies

    @property
    def root(self) -> Path:
        return SRC / f"{self.name}-{self.version}"


SUITES = {
    "packaging": Suite("packaging", PACKAGING, ("tests/test_markers.py",)),
    # A fixed hypothesis seed, and no constants mined from "local" modules (_plugins/no_local_constants.py:
    # the editable pytest_memguard would otherwise change the examples drawn): the same examples in every
    # run and every variant. The one deselected test fails under plain pytest here (CPython 3.11: the
    # return annotation pipe() copies is None, not bool): attrs' own, nothing to do with memory.
    "attrs": Suite("attrs", ATTRS, (
        "tests", "--hypothesis-seed=0", "-p", "no_local_constants",
        "--deselect", "tests/test_converters.py::TestPipe::test_wrapped_annotation")),
}

COMMON = ("-q", "-p", "no:cacheprovider", "-p", "no:randomly")


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    args: tuple[str, ...]
    python_flags: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()


VARIANTS = (
    Variant("plain", "plain pytest", ("-p", "no:memguard", "-p", "no:memray")),
    Variant("memguard", "--memguard", ("--memguard", "-p", "no:memray")),
    Variant("heap", "--memguard --memguard-heap", ("--memguard", "--memguard-heap", "-p", "no:memray")),
    Variant("few", "5 tests marked, no flag", ("-p", "mark_few", "-p", "no:memray")),
    Variant("trace_call", "tracemalloc around each call", ("-p", "trace_each_call", "-p", "no:memguard",
                                                           "-p", "no:memray")),
    Variant("trace_session", "tracemalloc whole session (-X)", ("-p", "no:memguard", "-p", "no:memray"),
            ("-X", "tracemalloc=1")),
    Variant("memray", "pytest --memray", ("--memray", "-p", "no:memguard")),
)
# With --deep-frames: the same at 5 frames a traceback (compare with --memguard-frames=5). Slow: on attrs'
# hypothesis tests tracemalloc costs about 4 times more at 5 frames than at 1.
DEEP = Variant("trace_call5", "tracemalloc around each call, 5 fr.",
               ("-p", "trace_each_call", "-p", "no:memguard", "-p", "no:memray"),
               env=(("TRACE_EACH_CALL_FRAMES", "5"),))


def log(message: str) -> None:
    print(message, flush=True)


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    log("+ " + " ".join(str(c) for c in cmd))
    return subprocess.run(cmd, check=True, text=True, **kwargs)  # type: ignore[call-overload]


# -- setup ------------------------------------------------------------------------------------------------


def _stamp_ok(name: str, content: str) -> bool:
    stamp = WORK / f".done-{name}"
    return stamp.exists() and stamp.read_text() == content


def _stamp(name: str, content: str) -> None:
    (WORK / f".done-{name}").write_text(content)


def setup() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    if not VPY.exists():
        base = getattr(sys, "_base_executable", sys.executable)
        run([base, "-m", "venv", str(VENV)])
    pip = [str(VPY), "-m", "pip", "--disable-pip-version-check"]

    wanted = json.dumps({"repo": str(REPO), "memray": PYTEST_MEMRAY, "tests": TEST_REQUIREMENTS,
                         "pyproject": hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()})
    if not _stamp_ok("deps", wanted):
        run([*pip, "install", "-q", "-e", str(REPO), f"pytest-memray=={PYTEST_MEMRAY}", *TEST_REQUIREMENTS])
        _stamp("deps", wanted)

    SDISTS.mkdir(exist_ok=True)
    SRC.mkdir(exist_ok=True)
    archives = {s.name: SDISTS / f"{s.name}-{s.version}.tar.gz" for s in SUITES.values()}
    missing = [f"{s.name}=={s.version}" for s in SUITES.values() if not archives[s.name].exists()]
    if missing:
        run([*pip, "download", "-q", "--no-deps", "--no-binary", ":all:", "-d", str(SDISTS), *missing])
    for suite in SUITES.values():
        if not suite.root.exists():
            with tarfile.open(archives[suite.name]) as tar:
                if sys.version_info >= (3, 12):
                    tar.extractall(SRC, filter="data")
                else:
                    tar.extractall(SRC)  # PyPI sdists we pinned
        # The package itself, from its sdist (packaging replaces the copy pytest pulled in: same version).
        if not _stamp_ok(f"install-{suite.name}", suite.version):
            run([*pip, "install", "-q", "--no-deps", "--force-reinstall", str(suite.root)])
            _stamp(f"install-{suite.name}", suite.version)

    # The editable install must point at this checkout (the work tree may have moved).
    where = subprocess.run([str(VPY), "-c", "import pytest_memguard, os; print(os.path.realpath("
                            "pytest_memguard.__file__))"], capture_output=True, text=True, check=True)
    if not Path(where.stdout.strip()).is_relative_to(REPO.resolve()):
        sys.exit(f"overhead: the benchmark venv imports pytest_memguard from {where.stdout.strip()}, "
                 f"not {REPO}: remove {VENV} and {WORK}/.done-deps and run again")


def code_state() -> str:
    """The plugin code benchmarked: its commit and a hash of uncommitted changes (installed editable)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                                  check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return ""
    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    diff = git("diff", "HEAD", "--", "pytest_memguard", "pyproject.toml")
    return head + (f"+dirty:{hashlib.sha256(diff.encode()).hexdigest()[:8]}" if diff else "")


def versions() -> dict[str, str]:
    code = ("import importlib.metadata as m, platform, json; print(json.dumps({**{n: m.version(n) for n in "
            "('pytest', 'pytest-memguard', 'pytest-memray', 'memray', 'packaging', 'attrs', 'hypothesis')}, "
            "'python': platform.python_version()}))")
    out = subprocess.run([str(VPY), "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


# -- one pytest process -----------------------------------------------------------------------------------

SUMMARY = re.compile(r"^=*\s*(?P<body>(\d+ \w+(, )?)+) in [\d.]+s")


@dataclass
class Outcome:
    seconds: float
    cpu: float  # user + system CPU seconds of the pytest process: less sensitive to a busy machine
    counts: dict[str, int]
    returncode: int
    output: str

    @property
    def total(self) -> int:
        return sum(v for k, v in self.counts.items() if k not in ("deselected", "warnings", "warning"))

    @property
    def bad(self) -> int:
        return self.counts.get("failed", 0) + self.counts.get("error", 0) + self.counts.get("errors", 0)


def env_for_runs(variant: Variant | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "PYTHONTRACEMALLOC", "COV_", "HYPOTHESIS"))}
    env["PYTHONPATH"] = str(PLUGINS)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # compiled once in the warm-up round, then reused
    env["PYTHONHASHSEED"] = "0"
    if variant is not None:
        env.update(variant.env)
    return env


def command(suite: Suite, variant: Variant) -> list[str]:
    return [str(VPY), *variant.python_flags, "-m", "pytest", *COMMON, *suite.args, *variant.args]


def run_pytest(suite: Suite, variant: Variant) -> Outcome:
    cmd = command(suite, variant)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=suite.root, env=env_for_runs(variant), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    counts: dict[str, int] = {}
    for line in reversed(proc.stdout.splitlines()):
        match = SUMMARY.match(line.strip())
        if match:
            for part in match.group("body").split(", "):
                number, word = part.split(" ", 1)
                counts[word] = int(number)
            break
    return Outcome(seconds, cpu, counts, proc.returncode, proc.stdout)


# -- the benchmark ----------------------------------------------------------------------------------------


@dataclass
class Series:
    variant: Variant
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def save_log(suite: Suite, variant: Variant, outcome: Outcome, tag: str) -> Path:
    LOGS.mkdir(exist_ok=True)
    path = LOGS / f"{suite.name}-{variant.key}-{tag}.log"
    env = " ".join(f"{k}={v}" for k, v in variant.env)
    path.write_text(f"cd {suite.root} && PYTHONPATH={PLUGINS} {env} {' '.join(command(suite, variant))}\n\n"
                    + outcome.output)
    return path


def check_outcome(suite: Suite, variant: Variant, outcome: Outcome, expected_total: int | None,
                  tag: str) -> list[str]:
    """Problems with one run; a failing plain run or a different number of tests is fatal."""
    problems = []
    if not outcome.counts:
        path = save_log(suite, variant, outcome, tag)
        sys.exit(f"overhead: {suite.name}/{variant.key}: no pytest summary line (exit {outcome.returncode}); "
                 f"output in {path}")
    if variant.key == "plain" and (outcome.bad or outcome.returncode != 0):
        path = save_log(suite, variant, outcome, tag)
        sys.exit(f"overhead: plain pytest does not pass on {suite.name}: {outcome.counts} "
                 f"(exit {outcome.returncode}); output in {path}")
    if expected_total is not None and outcome.total != expected_total:
        path = save_log(suite, variant, outcome, tag)
        sys.exit(f"overhead: {suite.name}/{variant.key} ran {outcome.total} tests, plain pytest ran "
                 f"{expected_total}: {outcome.counts}; output in {path}")
    if outcome.bad or outcome.returncode not in (0,):
        path = save_log(suite, variant, outcome, tag)
        problems.append(f"{suite.name}/{variant.key}: {outcome.counts} (exit {outcome.returncode}); "
                        f"output in {path}")
    if variant.key == "few":
        match = re.search(r"mark_few: (\d+) marked, (\d+) measured", outcome.output)
        if not match or match.group(1) != match.group(2) or match.group(1) == "0":
            path = save_log(suite, variant, outcome, tag)
            sys.exit(f"overhead: {suite.name}/few: the marked tests were not all measured by memguard "
                     f"({match.group(0) if match else 'no mark_few line'}); output in {path}")
    if variant.key in ("memguard", "heap") and "memguard: largest tests" not in outcome.output:
        path = save_log(suite, variant, outcome, tag)
        sys.exit(f"overhead: {suite.name}/{variant.key}: no memguard summary: was the plugin active? "
                 f"output in {path}")
    return problems


def bench_suite(suite: Suite, runs: int, variants: tuple[Variant, ...]
                ) -> tuple[dict[str, Series], list[str], list[float]]:
    series = {v.key: Series(v) for v in variants}
    problems: list[str] = []
    loads: list[float] = []
    log(f"\n== {suite.name} {suite.version}: warm-up round (not timed) ==")
    expected: int | None = None
    for variant in variants:
        outcome = run_pytest(suite, variant)
        if expected is None:
            expected = outcome.total
        problems += check_outcome(suite, variant, outcome, expected, "warmup")
        series[variant.key].total, series[variant.key].counts = outcome.total, outcome.counts
        log(f"  {variant.label:<34} {outcome.seconds:7.2f} s {outcome.cpu:7.2f} s cpu  {outcome.counts}")
    for rep in range(runs):
        order = variants[rep % len(variants):] + variants[:rep % len(variants)]
        loads.append(os.getloadavg()[0])
        log(f"== {suite.name}: repetition {rep + 1}/{runs} (load average {loads[-1]:.2f}) ==")
        for variant in order:
            outcome = run_pytest(suite, variant)
            problems += check_outcome(suite, variant, outcome, expected, f"rep{rep + 1}")
            series[variant.key].times.append(outcome.seconds)
            series[variant.key].cpu.append(outcome.cpu)
            log(f"  {variant.label:<34} {outcome.seconds:7.2f} s {outcome.cpu:7.2f} s cpu")
    loads.append(os.getloadavg()[0])
    return series, problems, loads


TARGETS = {"memguard": 1.05, "few": 1.02}


def table(suite: Suite, series: dict[str, Series], loads: list[float]) -> list[str]:
    plain = statistics.median(series["plain"].times)
    plain_cpu = statistics.median(series["plain"].cpu)
    ratio = {k: statistics.median(s.times) / plain for k, s in series.items()}
    cpu_ratio = {k: statistics.median(s.cpu) / plain_cpu for k, s in series.items()}
    limits = dict(TARGETS, heap=ratio["trace_call"])
    lines = [f"{suite.name} {suite.version}: {' '.join(suite.args)} -- {series['plain'].total} tests "
             f"({', '.join(f'{n} {w}' for w, n in series['plain'].counts.items())}), "
             f"{len(series['plain'].times)} timed runs per variant, load average "
             f"{min(loads):.2f}..{max(loads):.2f} on {os.cpu_count()} cores",
             f"  {'variant':<36} {'median s':>8} {'min s':>7} {'ratio':>7}  {'target (wall ratio)':<33}"
             f"{'cpu s':>7} {'cpu ratio':>9}",
             "  " + "-" * 111]
    for key, s in series.items():
        if key in limits:
            name = "trace-each-call" if key == "heap" else ""
            verdict = "PASS" if ratio[key] <= limits[key] else "MISS"
            target = f"<= {limits[key]:.3f}x {name:<16} {verdict}"
        elif key == "plain":
            target = "(baseline)"
        else:
            target = "(reference)"
        lines.append(f"  {s.variant.label:<36} {statistics.median(s.times):8.3f} {min(s.times):7.3f} "
                     f"{ratio[key]:6.3f}x  {target:<33}{statistics.median(s.cpu):7.2f} "
                     f"{cpu_ratio[key]:8.3f}x")
    deep = (f", {ratio['heap'] / ratio['trace_call5']:.3f}x at 5 frames" if "trace_call5" in ratio else "")
    lines.append(f"  pytest-memray for comparison: {ratio['memray']:.3f}x; --memguard-heap / tracemalloc "
                 f"each call: {ratio['heap'] / ratio['trace_call']:.3f}x at 1 frame{deep}")
    return lines


# -- stability ----------------------------------------------------------------------------------------------

STABLE_TEST = '''\
"""Deterministic memory behaviour: the figures must be the same in every fresh run."""

from pytest_memguard import memguard

_KEPT = []


@memguard.max_heap("1 GiB")
def test_alloc():
    data = [bytearray(1000) for _ in range(10_000)]
    assert len(data) == 10_000


@memguard.no_leaks()
def test_leaky():
    _KEPT.append([bytearray(100) for _ in range(100)])  # about 15 KiB kept per run


@memguard.no_leaks()
def test_clean():
    data = [bytearray(100) for _ in range(100)]
    assert len(data) == 100
'''


def read_junit(path: Path) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for case in ET.parse(path).iter("testcase"):
        for prop in case.iter("property"):
            if prop.get("name") == "memguard":
                found[case.get("name", "")] = json.loads(prop.get("value", "{}"))
    return found


def stability(repeats: int = 5) -> tuple[list[str], bool]:
    folder = WORK / "stability"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test_stable.py").write_text(STABLE_TEST)
    (folder / "pytest.ini").write_text("[pytest]\n")  # its own rootdir, away from the repo's configuration
    peaks: list[int] = []
    verdicts: dict[str, list[object]] = {"test_leaky": [], "test_clean": []}
    outcomes = []
    for i in range(repeats):
        xml = folder / f"run{i}.xml"
        cmd = [str(VPY), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:memray",
               f"--junitxml={xml}", "test_stable.py"]
        proc = subprocess.run(cmd, cwd=folder, env=env_for_runs(), capture_output=True, text=True)
        last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        outcomes.append(re.sub(r" in [\d.]+s.*$", "", last.strip("= ")))
        props = read_junit(xml) if xml.exists() else {}
        alloc = props.get("test_alloc", {})
        peaks.append(int(alloc.get("peak_heap") or 0))
        for name in verdicts:
            verdicts[name].append(props.get(name, {}).get("leak_verdict"))
    median = statistics.median(peaks)
    spread = (max(peaks) - min(peaks)) / median * 100 if median else float("inf")
    within = bool(median) and all(abs(p - median) <= 0.01 * median for p in peaks)
    same = all(len(set(v)) == 1 for v in verdicts.values())
    right = verdicts["test_leaky"][0] == "leak" and verdicts["test_clean"][0] == "ok"
    lines = [
        f"stability: {repeats} fresh runs of benchmarks/.work/stability/test_stable.py "
        "(JUnit XML property 'memguard')",
        f"  test_alloc peak_heap (bytes): {peaks}",
        f"    median {median:,.0f} B, max-min spread {spread:.3f}% of median -> "
        f"{'PASS' if within else 'MISS'} (each within +-1% of the median)",
        f"  test_leaky leak_verdict: {verdicts['test_leaky']}",
        f"  test_clean leak_verdict: {verdicts['test_clean']}",
        f"    verdicts {'identical' if same else 'DIFFER'} across runs, "
        f"{'as expected (leak / ok)' if right else 'NOT as expected (want leak / ok)'} -> "
        f"{'PASS' if same and right else 'MISS'}",
        f"  pytest summary lines: {sorted(set(outcomes))}",
    ]
    return lines, within and same and right


# -- main -----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each variant (default 5)")
    parser.add_argument("--suite", choices=("packaging", "attrs", "all"), default="all")
    parser.add_argument("--stability", action="store_true", help="only the stability check")
    parser.add_argument("--deep-frames", action="store_true",
                        help="add tracemalloc around each call at 5 frames a traceback (slow)")
    parser.add_argument("--setup-only", action="store_true", help="set up benchmarks/.work and stop")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    setup()
    info = versions()
    log(f"versions: {info}; {platform.platform()}; {os.cpu_count()} cores")
    if args.setup_only:
        return 0

    report: list[str] = []
    problems: list[str] = []
    code_before = code_state()
    log(f"pytest-memguard code: {code_before}")
    if not args.stability:
        names = list(SUITES) if args.suite == "all" else [args.suite]
        for name in names:
            variants = (*VARIANTS[:5], DEEP, *VARIANTS[5:]) if args.deep_frames else VARIANTS
            series, found, loads = bench_suite(SUITES[name], args.runs, variants)
            problems += found
            report += [*table(SUITES[name], series, loads), ""]
    stable_lines, stable_ok = stability()
    report += stable_lines

    code_after = code_state()
    log("\n" + "=" * 80)
    if code_after != code_before:
        log(f"WARNING: pytest_memguard changed during the run ({code_before} -> {code_after}): figures mix "
            "both versions (it is installed editable)")
    log(f"pytest-memguard {info['pytest-memguard']} overhead -- Python {info['python']}, "
        f"pytest {info['pytest']}, packaging {info['packaging']}, attrs {info['attrs']}, "
        f"hypothesis {info['hypothesis']}, pytest-memray {info['pytest-memray']} (memray {info['memray']}); "
        f"code {code_after}; wall time of the whole pytest process")
    for line in report:
        log(line)
    for problem in problems:
        log(f"WARNING: a variant did not pass: {problem}")
    if not stable_ok:
        log("WARNING: the stability check missed")
    cmd = f"python benchmarks/overhead.py --runs {args.runs}"
    if args.suite != "all":
        cmd += f" --suite {args.suite}"
    if args.stability:
        cmd += " --stability"
    if args.deep_frames:
        cmd += " --deep-frames"
    log(f"reproduce with: {cmd}")
    return 1 if problems or not stable_ok else 0


if __name__ == "__main__":
    sys.exit(main())
