"""``python -m pytest_memguard`` (also ``pytest-memguard``): compare and merge saved runs outside pytest.

CI jobs gate on a comparison after the tests ran (often in another job that only has the artifacts), and
sharded runs produce one baseline per shard; these two commands cover that without starting pytest.

Exit status: 0 when all is well, 1 when ``compare`` found a regression, 2 for bad input (a missing or
corrupt file, a bad rule), with a one-line ``error: ...`` on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from ._version import __version__
from .baseline import compare, format_comparison, load_figures, merge
from .errors import MemguardUsageError
from .rules import Rule, parse_rule
from .units import parse_size

__all__ = ["main"]


class _UsageError(Exception):
    """Raised instead of argparse's exit, so :func:`main` returns 2 and prints one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see {self.prog} --help)")


def _rule(value: str) -> Rule:
    try:
        return parse_rule(value)
    except MemguardUsageError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _size(value: str) -> int:
    try:
        return parse_size(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"bad --regression-floor {value!r}: {error}") from None


def _parser() -> _Parser:
    parser = _Parser(
        prog="pytest-memguard",
        description="Compare and merge pytest-memguard baselines and JSON reports.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    compare_parser = commands.add_parser(
        "compare",
        help="compare a run with a baseline; exit 1 on a regression",
        description="Compare NEW with BASE (each a saved baseline or a JSON report) and print the changes "
        "that break a rule. Exit 1 when a test regressed, 0 otherwise, 2 on bad input.",
    )
    compare_parser.add_argument(
        "base", metavar="BASE", help="the baseline (--memguard-save or --memguard-json)"
    )
    compare_parser.add_argument("new", metavar="NEW", help="the run to check, a baseline or a JSON report")
    compare_parser.add_argument(
        "--fail-regression",
        metavar="EXPR",
        dest="rules",
        action="append",
        type=_rule,
        default=[],
        help="a rule such as peak_heap:10%%, peak_rss:5MiB, leak:0, gc_pause:5ms (repeatable)",
    )
    compare_parser.add_argument(
        "--regression-floor",
        metavar="SIZE",
        type=_size,
        default=0,
        help="ignore growth of size figures smaller than SIZE (e.g. 64KiB)",
    )
    merge_parser = commands.add_parser(
        "merge",
        help="merge baselines (CI shards, xdist runs) into one",
        description="Merge baselines or JSON reports into one baseline; a test found in several inputs "
        "keeps the figures of the last one (reported on stderr).",
    )
    merge_parser.add_argument("inputs", metavar="INPUT", nargs="+", help="baselines or JSON reports")
    merge_parser.add_argument(
        "-o", "--output", metavar="OUT", required=True, help="the merged baseline to write"
    )
    return parser


def _compare(args: argparse.Namespace) -> int:
    base = load_figures(args.base)
    new = load_figures(args.new)
    comparison = compare(base, new, args.rules, floor=args.regression_floor)
    print(format_comparison(comparison))
    return 1 if comparison.regressions else 0


def _merge(args: argparse.Namespace) -> int:
    inputs = [load_figures(path) for path in args.inputs]
    merged, duplicates, warnings = merge(inputs)
    for nodeid, indices in sorted(duplicates.items()):
        sources = ", ".join(args.inputs[index] for index in indices)
        print(f"duplicate: {nodeid} in {sources}; kept {args.inputs[indices[-1]]}", file=sys.stderr)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    merged.save(args.output)
    print(f"merged {len(merged.tests)} tests from {len(inputs)} files into {args.output}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and return the exit status."""
    try:
        args = _parser().parse_args(argv)
        return _compare(args) if args.command == "compare" else _merge(args)
    except (_UsageError, MemguardUsageError) as error:
        print("error: " + " ".join(str(error).split()), file=sys.stderr)
        return 2
    except SystemExit as exit_:  # --help and --version
        return exit_.code if isinstance(exit_.code, int) else 0
    except BrokenPipeError:  # `... | head` closed the pipe; the output was not wanted any more
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
