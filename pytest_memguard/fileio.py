"""Write files atomically and read JSON with errors a user can act on.

Baselines, JSON reports and Prometheus textfiles are read by other programs (a later CI job, node_exporter,
a dashboard) that may run while we write. A reader must see either the old file or the new one, never half of
one, and a write that fails must leave the old file as it was: so we write a temporary file in the same
directory (``os.replace`` is atomic only within one filesystem), fsync it, then replace the target.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from typing import Any

from .errors import MemguardUsageError

__all__ = ["describe_os_error", "read_json", "write_atomic"]

StrPath = str | os.PathLike[str]


def describe_os_error(error: OSError) -> str:
    """Return ``error`` as a short phrase without the path (the caller names the path once)."""
    reason = error.strerror or str(error) or type(error).__name__
    return f"{reason} [errno {error.errno}]" if error.errno is not None else reason


def write_atomic(path: StrPath, data: str | bytes, what: str = "file") -> None:
    """Replace ``path`` with ``data`` (``str`` is written as UTF-8) so readers never see a partial file.

    The temporary file is created with mode 0o666 minus the umask, like ``open(path, "w")`` would, so a
    textfile collector running as another user can still read the result. On any ``OSError`` the existing
    file is left untouched, the temporary file is removed, and :class:`MemguardUsageError` names ``what``,
    the path and the OS error.
    """
    target = os.fspath(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    directory, name = os.path.split(os.path.abspath(target))
    temporary: str | None = None
    try:
        temporary, fd = _create_temporary(directory, name)
        with os.fdopen(fd, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
        temporary = None
        _fsync_directory(directory)
    except OSError as error:
        raise MemguardUsageError(f"cannot write {what} {target}: {describe_os_error(error)}") from error
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):  # nothing more we can do; the original error matters
                os.unlink(temporary)


def _create_temporary(directory: str, name: str) -> tuple[str, int]:
    # Our own O_EXCL loop rather than tempfile.mkstemp: mkstemp forces mode 0o600, which would make the
    # final file unreadable to a collector running as another user.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _attempt in range(100):
        candidate = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return candidate, os.open(candidate, flags, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name for {name} in {directory}")


def _fsync_directory(directory: str) -> None:
    # Makes the rename itself durable on POSIX; best effort, since some platforms cannot open directories.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_json(path: StrPath, what: str = "file") -> dict[str, Any]:
    """Return the JSON object stored in ``path``.

    Every way this can go wrong (missing, unreadable, not UTF-8, empty, truncated, not JSON, not an object)
    raises :class:`MemguardUsageError` naming ``what`` and the path, with the line and column of a JSON
    error, because the usual cause is a CI artifact that was cut short or a wrong path in a workflow file.
    """
    source = os.fspath(path)
    try:
        with open(source, "rb") as stream:
            raw = stream.read()
    except FileNotFoundError as error:
        raise MemguardUsageError(f"cannot read {what} {source}: no such file") from error
    except OSError as error:
        raise MemguardUsageError(f"cannot read {what} {source}: {describe_os_error(error)}") from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MemguardUsageError(
            f"{what} {source} is not JSON: byte {error.start} is not UTF-8 text"
        ) from error
    if not text.strip():
        raise MemguardUsageError(f"{what} {source} is empty (an interrupted write, or not a {what}?)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        # json reports an unterminated string at its start, but it only raises that at the end of the input.
        if error.pos >= len(text.rstrip()) or error.msg.startswith("Unterminated string"):
            problem = "is truncated (the JSON ends early)"
        else:
            problem = "is not valid JSON"
        raise MemguardUsageError(
            f"{what} {source} {problem}: line {error.lineno}, column {error.colno}: {error.msg}"
        ) from error
    except RecursionError as error:
        raise MemguardUsageError(f"{what} {source} is not valid JSON: nested too deeply") from error
    if not isinstance(data, dict):
        raise MemguardUsageError(f"{what} {source} does not hold a JSON object (found {_json_kind(data)})")
    return data


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
