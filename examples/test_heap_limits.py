"""Peak-memory limits: max_heap (Python objects, tracemalloc) and max_rss (resident memory, native too)."""

from pytest_memguard import memguard


def parse_rows(count: int) -> list[dict[str, str]]:
    return [{"id": str(i), "name": f"row {i}"} for i in range(count)]


# Peak Python heap during the call, above its level when the call began. Fixtures are not counted.
@memguard.max_heap("16 MiB")
def test_parsing_10k_rows_stays_under_16_mib() -> None:
    rows = parse_rows(10_000)
    assert len(rows) == 10_000


# Peak resident set size above its level when the call began: counts native buffers too.
@memguard.max_rss("128 MiB")
def test_buffer_stays_resident_under_128_mib() -> None:
    buffer = bytearray(32 * 1024 * 1024)  # zero-filled: every page is touched, so it is resident
    assert buffer[0] == 0


# A module-wide default; the closest marker wins per key.
class TestReports:
    pytestmark = memguard.max_heap("8 MiB")

    def test_small_report(self) -> None:
        assert len(parse_rows(100)) == 100

    @memguard.max_heap("32 MiB")  # this one needs more
    def test_big_report(self) -> None:
        assert len(parse_rows(50_000)) == 50_000
