from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pytest_memguard
from pytest_memguard.__main__ import main
from pytest_memguard.baseline import Baseline
from pytest_memguard.jsonreport import build_report, write_report
from pytest_memguard.results import TestResult

MiB = 1024 * 1024
ROOT = str(Path(pytest_memguard.__file__).resolve().parent.parent)


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}
    return subprocess.run(
        [sys.executable, "-m", "pytest_memguard", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def save(path: Path, *results: TestResult) -> Path:
    Baseline.from_results(results).save(path)
    return path


def one_line_error(completed: subprocess.CompletedProcess[str]) -> str:
    assert completed.returncode == 2, completed
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), completed.stderr
    return lines[0]


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return save(
        tmp_path / "base.json",
        TestResult("t::a", peak_heap=1 * MiB, peak_rss=10 * MiB),
        TestResult("t::b", peak_heap=2 * MiB, leak_per_run=None),
        TestResult("t::old", peak_heap=1),
    )


def test_compare_no_change_exits_0(tmp_path: Path, base: Path) -> None:
    completed = run("compare", base, base, "--fail-regression", "peak_heap:10%", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "compared 3 tests" in completed.stdout and "no regressions" in completed.stdout


def test_compare_regression_exits_1_and_names_the_test(tmp_path: Path, base: Path) -> None:
    new = save(
        tmp_path / "new.json",
        TestResult("t::a", peak_heap=3 * MiB, peak_rss=10 * MiB),
        TestResult("t::b", peak_heap=2 * MiB, leak_per_run=4096),
        TestResult("t::fresh", peak_heap=5),
    )
    completed = run(
        "compare",
        base,
        new,
        "--fail-regression",
        "peak_heap:10%",
        "--fail-regression",
        "leak:0",
        cwd=tmp_path,
    )
    assert completed.returncode == 1, completed.stderr
    out = completed.stdout
    assert "2 regressions:" in out
    assert any(line.split()[:2] == ["t::a", "peak_heap"] and "+200.0%" in line for line in out.splitlines())
    assert any(line.split()[:2] == ["t::b", "leak"] for line in out.splitlines())
    assert "new tests (not in the baseline): 1\n  t::fresh" in out
    assert "gone tests (in the baseline, not in this run): 1\n  t::old" in out


def test_compare_floor(tmp_path: Path, base: Path) -> None:
    new = save(tmp_path / "new.json", TestResult("t::a", peak_heap=1 * MiB + 1000))
    args = ("compare", base, new, "--fail-regression", "peak_heap:0%")
    assert run(*args, cwd=tmp_path).returncode == 1
    floored = run(*args, "--regression-floor", "64KiB", cwd=tmp_path)
    assert floored.returncode == 0 and "growth under 64.0 KiB ignored" in floored.stdout


def test_compare_without_rules_reports_but_passes(tmp_path: Path, base: Path) -> None:
    new = save(tmp_path / "new.json", TestResult("t::a", peak_heap=100 * MiB))
    completed = run("compare", base, new, cwd=tmp_path)
    assert completed.returncode == 0 and "rules: none" in completed.stdout


def test_compare_accepts_a_json_report_as_new(tmp_path: Path, base: Path) -> None:
    report = tmp_path / "report.json"
    write_report(report, build_report([TestResult("t::a", peak_heap=2 * MiB)], {"exitstatus": 0}))
    completed = run("compare", base, report, "--fail-regression", "peak_heap:10%", cwd=tmp_path)
    assert completed.returncode == 1 and "t::a" in completed.stdout


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("peak_heap:ten%", "'ten%' is not a percentage"),
        ("nosuch:5%", "unknown figure 'nosuch'"),
        ("peak_heap", "no ':'"),
        ("gc_pause:5MiB", "not a percentage or a duration"),
        ("peak_rss:-1MiB", "negative"),
    ],
)
def test_compare_bad_rule_exits_2(tmp_path: Path, base: Path, rule: str, words: str) -> None:
    line = one_line_error(run("compare", base, base, "--fail-regression", rule, cwd=tmp_path))
    assert words in line and repr(rule) in line


def test_compare_bad_floor_exits_2(tmp_path: Path, base: Path) -> None:
    line = one_line_error(run("compare", base, base, "--regression-floor", "lots", cwd=tmp_path))
    assert "--regression-floor 'lots'" in line


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"schema": "pytest-memguard/baseline", "version": 1, "tests": {', "truncated"),
        ("{corrupt", "not valid JSON"),
        (json.dumps({"schema": "pytest-memguard/baseline", "version": 99, "tests": {}}), "schema version 99"),
        (json.dumps({"schema": "coverage.py", "version": 1}), "neither a memguard baseline nor"),
    ],
)
def test_compare_bad_files_exit_2_naming_the_file(
    tmp_path: Path, base: Path, content: str, words: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    for args in ((base, bad), (bad, base)):
        line = one_line_error(run("compare", *args, cwd=tmp_path))
        assert str(bad) in line and words in line


def test_compare_missing_and_unreadable_files(tmp_path: Path, base: Path) -> None:
    line = one_line_error(run("compare", base, tmp_path / "nope.json", cwd=tmp_path))
    assert str(tmp_path / "nope.json") in line and "no such file" in line
    line = one_line_error(run("compare", tmp_path, base, cwd=tmp_path))  # a directory is unreadable as a file
    assert str(tmp_path) in line and "Is a directory" in line


def test_merge(tmp_path: Path) -> None:
    shard1 = save(tmp_path / "shard1.json", TestResult("t::a", peak_heap=1), TestResult("t::b", peak_heap=2))
    shard2 = save(tmp_path / "shard2.json", TestResult("t::b", peak_heap=20), TestResult("t::c", peak_heap=3))
    out = tmp_path / "merged.json"
    completed = run("merge", shard1, shard2, "-o", out, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert f"duplicate: t::b in {shard1}, {shard2}; kept {shard2}" in completed.stderr
    assert "merged 3 tests from 2 files" in completed.stdout
    merged = Baseline.load(out)
    assert sorted(merged.tests) == ["t::a", "t::b", "t::c"] and merged.tests["t::b"].peak_heap == 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged.json", "shard1.json", "shard2.json"]


def test_merge_bad_input_leaves_the_output_untouched(tmp_path: Path) -> None:
    good = save(tmp_path / "good.json", TestResult("t::a"))
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"schema": "pytest-memguard/baseline", "version": 1, "tests": {"t::a": {"peak_heap": "x"}}}'
    )
    out = tmp_path / "merged.json"
    out.write_text("sentinel")
    line = one_line_error(run("merge", good, bad, "-o", out, cwd=tmp_path))
    assert str(bad) in line and "'peak_heap'" in line
    assert out.read_text() == "sentinel"


def test_merge_unwritable_output_exits_2(tmp_path: Path) -> None:
    good = save(tmp_path / "good.json", TestResult("t::a"))
    blocker = tmp_path / "blocker"
    blocker.write_text("sentinel")
    line = one_line_error(run("merge", good, "-o", blocker / "merged.json", cwd=tmp_path))
    assert str(blocker / "merged.json") in line
    assert blocker.read_text() == "sentinel"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert "required" in one_line_error(run(cwd=tmp_path))
    assert "-o/--output" in one_line_error(run("merge", "a.json", cwd=tmp_path))
    assert "invalid choice" in one_line_error(run("frobnicate", cwd=tmp_path))


def test_help_and_version_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "compare" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert pytest_memguard.__version__ in capsys.readouterr().out


def test_main_in_process(tmp_path: Path, base: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(base), str(base), "--fail-regression", "leak:0"]) == 0
    assert "no regressions" in capsys.readouterr().out
    assert main(["compare", str(base), str(tmp_path / "nope.json")]) == 2
    assert capsys.readouterr().err.startswith("error: cannot read")
