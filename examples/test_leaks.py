"""Leak checks: the test body runs again, and memory left behind must not grow run after run."""

import functools
import re

from pytest_memguard import memguard


@functools.lru_cache(maxsize=256)
def tokenize(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\w+", text))


# Caches that fill once are not leaks: the warm-up run fills them, the measured runs do not grow.
@memguard.no_leaks()
def test_cached_tokenizer_does_not_leak() -> None:
    assert tokenize("memory is a test assertion") == ("memory", "is", "a", "test", "assertion")


# Tolerate a known small growth per run.
_audit_log: list[str] = []


@memguard.max_leak("1 KiB", runs=5)
def test_audit_log_grows_slowly() -> None:
    _audit_log.append("x")  # a few bytes per run, under the tolerance


# native=True also watches the C allocator (malloc'ed bytes, which tracemalloc cannot see).
@memguard.no_leaks(native=True)
def test_native_buffers_are_freed() -> None:
    chunks = [bytes(64 * 1024) for _ in range(16)]
    assert sum(map(len, chunks)) == 1024 * 1024
