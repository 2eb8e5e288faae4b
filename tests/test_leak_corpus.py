"""The leak corpus (benchmarks/leak_corpus) as a regression test of the no_leaks verdict.

Every ``test_leak_*`` must fail with ``memguard: no_leaks: ...`` and every ``test_clean_*`` must pass.
Entries the current implementation gets wrong are deselected by name in KNOWN_WRONG (with the reason);
when one is fixed, remove it from there so it is checked from then on. ``benchmarks/leak_corpus.py`` scores
the whole corpus, KNOWN_WRONG included, over several runs.
"""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent.parent / "benchmarks" / "leak_corpus"
FILES = ("test_leaking.py", "test_clean.py")

#: Corpus entries the current implementation misclassifies (reported to the lead), not checked here.
KNOWN_WRONG: dict[str, str] = {}


def _corpus_tests() -> tuple[list[str], list[str]]:
    """The ids of the corpus's leaking and clean test functions, from the files' text (not imported)."""
    import ast

    leaking, clean = [], []
    for name in FILES:
        tree = ast.parse((CORPUS / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.startswith(("test_leak_", "test_clean_")):
                (leaking if node.name.startswith("test_leak_") else clean).append(node.name)
    return leaking, clean


def _outcomes(junitxml: Path) -> dict[str, tuple[str, str]]:
    """``file::[Class::]name`` -> (outcome, failure text) from a JUnit XML report."""
    found = {}
    for case in ET.parse(junitxml).getroot().iter("testcase"):
        parts = case.get("classname", "").split(".")
        test = "::".join([parts[0] + ".py", *parts[1:], case.get("name", "")])
        failure = case.find("failure")
        error = case.find("error")
        if failure is not None:
            found[test] = ("failed", failure.text or failure.get("message", ""))
        elif error is not None:
            found[test] = ("error", error.text or error.get("message", ""))
        elif case.find("skipped") is not None:
            found[test] = ("skipped", "")
        else:
            found[test] = ("passed", "")
    return found


def test_leak_corpus_verdicts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(**{Path(name).stem: (CORPUS / name).read_text() for name in FILES})
    junitxml = pytester.path / "corpus.xml"
    args = ["-p", "no:cacheprovider", f"--junitxml={junitxml}", "-o", "junit_family=xunit1"]
    if importlib.util.find_spec("pytest_randomly") is not None:
        args += ["-p", "no:randomly"]
    for test in KNOWN_WRONG:
        args += ["--deselect", test]
    pytester.runpytest_subprocess(*args)
    outcomes = _outcomes(junitxml)

    leaking, clean = _corpus_tests()
    assert len(leaking) >= 10 and len(clean) >= 20, "the corpus files were not found or not parsed"
    checked = {test: result for test, result in outcomes.items() if test not in KNOWN_WRONG}
    names = {test.rsplit("::", 1)[-1].split("[")[0] for test in outcomes}
    assert names == set(leaking + clean) - {t.rsplit("::", 1)[-1] for t in KNOWN_WRONG}, (
        "a corpus test did not run, or an unexpected one did"
    )

    wrong = []
    for test, (outcome, text) in sorted(checked.items()):
        name = test.rsplit("::", 1)[-1]
        if name.startswith("test_leak_"):
            if outcome != "failed" or not text.startswith("memguard: no_leaks:"):
                wrong.append(f"{test}: expected a no_leaks failure, got {outcome}: {text[:200]!r}")
        elif outcome != "passed":
            wrong.append(f"{test}: expected to pass, got {outcome}: {text[:300]!r}")
    assert not wrong, "misclassified by the leak check:\n" + "\n".join(wrong)


def test_known_wrong_entries_exist() -> None:
    """Every KNOWN_WRONG entry names a corpus test, so a rename does not silently drop one."""
    leaking, clean = _corpus_tests()
    for test in KNOWN_WRONG:
        file, name = test.split("::", 1)
        assert file in FILES and name in leaking + clean, test
