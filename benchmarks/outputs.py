"""How long the end of a session spends writing the baseline, the JSON report and the Prometheus textfile.

Runs a suite of 2,507 small tests (the size of packaging's ``tests/test_markers.py``) once with ``--memguard``
and every output, reads the time memguard reports for each write ("memguard: wrote PATH in 12.3 ms") and the
session's own duration, and prints the share of the run the writes took. Target: under 5%.

    python benchmarks/outputs.py [--tests 2507] [--runs 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUITE = """
import pytest

@pytest.mark.parametrize("value", range({count}))
def test_small(value):
    assert str(value).isdigit()
"""

_WROTE = re.compile(r"^memguard: wrote (\S+) in ([\d.]+) (us|ms|s)$", re.MULTILINE)
_SCALE = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def run_once(directory: Path) -> tuple[float, dict[str, float]]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "--memguard",
        "--memguard-save=base.json",
        "--memguard-json=report.json",
        "--memguard-prometheus=metrics.prom",
        "test_suite.py",
    ]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=directory, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the suite failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    writes = {name: float(value) * _SCALE[unit] for name, value, unit in _WROTE.findall(done.stdout)}
    if set(writes) != {"base.json", "report.json", "metrics.prom"}:
        raise SystemExit(f"expected three 'memguard: wrote' lines, got {writes}:\n{done.stdout}")
    return elapsed, writes


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tests", type=int, default=2507)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        directory = Path(temp)
        (directory / "test_suite.py").write_text(SUITE.format(count=args.tests))
        runs = [run_once(directory) for _ in range(args.runs)]
        sizes = {
            name: (directory / name).stat().st_size for name in ("base.json", "report.json", "metrics.prom")
        }
    total = statistics.median(elapsed for elapsed, _ in runs)
    print(f"{args.tests} tests, {args.runs} runs, median wall time of the whole pytest run: {total:.2f} s")
    writing = 0.0
    for name in ("base.json", "report.json", "metrics.prom"):
        median = statistics.median(writes[name] for _, writes in runs)
        writing += median
        size = sizes[name] / 1024
        print(f"  {name:<13} {median * 1e3:8.1f} ms  {size:8.0f} KiB  {median / total:6.2%} of the run")
    share = writing / total
    print(
        f"  all three     {writing * 1e3:8.1f} ms            {share:6.2%} of the run  "
        f"({'PASS' if share < 0.05 else 'MISS'}: target < 5%)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
