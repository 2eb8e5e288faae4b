"""The engine is a library: it imports no pytest and nothing of pytest-memguard above it but units."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest_memguard.engine as engine

ENGINE_DIR = Path(engine.__file__).parent
PUBLIC = {
    "MemoryManager",
    "MemoryConfig",
    "MemoryPool",
    "PoolExhausted",
    "PoolError",
    "WeakReferenceManager",
    "WeakReference",
    "WeakCache",
    "WeakObserver",
    "GCOptimizer",
    "GCStrategy",
    "MemoryMonitor",
    "MemoryAlert",
    "MemoryMetrics",
    "ALERT_KEYS",
    "GC_STRATEGIES",
}


def test_public_names() -> None:
    assert set(engine.__all__) == PUBLIC
    assert all(hasattr(engine, name) for name in PUBLIC)


def test_engine_modules_import_only_units_from_above() -> None:
    for path in ENGINE_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [("." * node.level) + (node.module or "")]
            else:
                continue
            for name in names:
                assert not name.startswith(("pytest", "_pytest", "pluggy")), f"{path.name} imports {name}"
                if name.startswith(".."):
                    assert name == "..units", f"{path.name} imports {name}"


def test_importing_the_engine_does_not_import_pytest() -> None:
    code = "import sys, pytest_memguard.engine; print('pytest' in sys.modules or '_pytest' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
