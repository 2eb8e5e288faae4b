from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

import pytest

from pytest_memguard.errors import MemguardUsageError
from pytest_memguard.fileio import read_json, write_atomic

not_as_root = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores file permissions"
)


def test_write_text_and_bytes(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a.txt", "héllo\n")
    write_atomic(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "a.txt").read_bytes() == "héllo\n".encode()
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin"]


def test_write_replaces_an_existing_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_text("old")
    write_atomic(str(path), "new")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_written_file_is_readable_by_others_like_a_normal_open(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        write_atomic(tmp_path / "metrics.prom", "x 1\n")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "metrics.prom").stat().st_mode) == 0o644


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = tmp_path / "baseline.json"
    path.write_text("sentinel")

    def broken(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, failing, broken)
    with pytest.raises(MemguardUsageError) as excinfo:
        write_atomic(path, "new contents", what="memguard baseline")
    monkeypatch.undo()
    message = str(excinfo.value)
    assert str(path) in message and "No space left on device" in message and "memguard baseline" in message
    assert path.read_text() == "sentinel"
    assert [p.name for p in tmp_path.iterdir()] == ["baseline.json"]


def test_parent_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("sentinel")
    with pytest.raises(MemguardUsageError, match=re.escape(str(blocker / "out.json"))):
        write_atomic(blocker / "out.json", "x")
    assert blocker.read_text() == "sentinel"


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(MemguardUsageError, match="No such file or directory"):
        write_atomic(tmp_path / "missing" / "out.json", "x")


@not_as_root
def test_unwritable_directory(tmp_path: Path) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    (directory / "out.json").write_text("sentinel")
    directory.chmod(0o500)
    try:
        with pytest.raises(MemguardUsageError, match="Permission denied"):
            write_atomic(directory / "out.json", "x")
        assert (directory / "out.json").read_text() == "sentinel"
        assert [p.name for p in directory.iterdir()] == ["out.json"]
    finally:
        directory.chmod(0o700)


def test_read_json(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{"a": [1, 2]}')
    assert read_json(path, "baseline") == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "is empty"),
        (b"  \n", "is empty"),
        (b'{"schema": "pytest-memguard/baseline", "tests": {', "is truncated"),
        (b'{"a": 1,\n "b": nope}', "is not valid JSON: line 2, column 7"),
        (b"[1, 2]", "does not hold a JSON object (found an array)"),
        (b'"text"', "does not hold a JSON object (found a string)"),
        (b'{"a": "\xff"}', "is not UTF-8"),
    ],
)
def test_read_json_errors_name_the_file(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(MemguardUsageError) as excinfo:
        read_json(path, "memguard baseline")
    assert str(path) in str(excinfo.value)
    assert words in str(excinfo.value)
    assert "memguard baseline" in str(excinfo.value)


def test_read_json_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MemguardUsageError, match="no such file") as excinfo:
        read_json(tmp_path / "nope.json", "memguard baseline")
    assert str(tmp_path / "nope.json") in str(excinfo.value)


def test_read_json_of_a_directory(tmp_path: Path) -> None:
    with pytest.raises(MemguardUsageError, match="Is a directory") as excinfo:
        read_json(tmp_path, "memguard baseline")
    assert str(tmp_path) in str(excinfo.value)


@not_as_root
def test_read_json_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "secret.json"
    path.write_text("{}")
    path.chmod(0)
    try:
        with pytest.raises(MemguardUsageError, match="Permission denied"):
            read_json(path, "memguard baseline")
    finally:
        path.chmod(0o600)


def test_unwritable_directory_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same failure as test_unwritable_directory, which root (CI containers) cannot provoke with chmod.
    path = tmp_path / "out.json"
    path.write_text("sentinel")

    def denied(*args: object, **kwargs: object) -> int:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(MemguardUsageError, match="Permission denied") as excinfo:
        write_atomic(path, "x")
    monkeypatch.undo()
    assert str(path) in str(excinfo.value)
    assert path.read_text() == "sentinel"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_unreadable_file_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.json"
    path.write_text("{}")

    def denied(*args: object, **kwargs: object) -> object:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("builtins.open", denied)
    with pytest.raises(MemguardUsageError, match="Permission denied") as excinfo:
        read_json(path, "memguard baseline")
    monkeypatch.undo()
    assert str(path) in str(excinfo.value)
