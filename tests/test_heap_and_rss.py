"""max_heap and max_rss, run as a user runs them."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_max_heap_fails_with_figure_limit_and_allocation_sites(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_big="""
        from pytest_memguard import memguard

        @memguard.max_heap("1 MiB")
        def test_big():
            blocks = [bytearray(1000) for _ in range(5000)]
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*memguard: max_heap: peak heap * MiB > 1.00 MiB",
            "*top allocation sites when the heap first crossed the limit*:",
            "*test_big.py:5: * (* blocks)  blocks = ?bytearray(1000) for _ in range(5000)?",
        ]
    )


def test_max_heap_passes_under_the_limit(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_memguard import memguard

        @memguard.max_heap("10 MiB")
        def test_small():
            blocks = [bytearray(1000) for _ in range(50)]
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_max_heap_counts_from_the_start_of_the_call_not_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_memguard import memguard

        @pytest.fixture
        def big():
            return bytearray(8 * 1024 * 1024)

        @memguard.max_heap("1 MiB")
        def test_uses_big_fixture(big):
            assert len(big) == 8 * 1024 * 1024
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_max_rss_fails_on_touched_native_memory(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_memguard import memguard

        @memguard.max_rss("16 MiB")
        def test_touch():
            buffer = bytearray(64 * 1024 * 1024)  # zero-filled, so every page is touched
            assert buffer[-1] == 0
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*memguard: max_rss: peak RSS * MiB above the start > 16.0 MiB", "*RSS at the start of the call:*"]
    )


def test_max_rss_passes_under_the_limit(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_memguard import memguard

        @memguard.max_rss("256 MiB")
        def test_touch():
            buffer = bytearray(4 * 1024 * 1024)
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_global_max_heap_option_applies_unless_skipped(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_memguard import memguard

        def test_big():
            blocks = [bytearray(1000) for _ in range(5000)]

        @memguard.skip()
        def test_big_but_skipped():
            blocks = [bytearray(1000) for _ in range(5000)]

        def test_small():
            pass
        """
    )
    result = pytester.runpytest("--memguard-max-heap=1MiB")
    result.assert_outcomes(failed=1, passed=2)
    result.stdout.fnmatch_lines(
        ["FAILED test_global_max_heap_option_applies_unless_skipped.py::test_big - *"]
    )


def test_closest_marker_wins_per_key(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_memguard import memguard

        pytestmark = memguard.max_heap("100 KiB")

        @memguard.max_heap("100 MiB")
        def test_loosened():
            blocks = [bytearray(1000) for _ in range(1000)]

        def test_module_limit():
            blocks = [bytearray(1000) for _ in range(1000)]

        @pytest.mark.memguard(max_heap="50 MiB")
        class TestClass:
            @memguard.max_heap("10 KiB")
            def test_tightened(self):
                blocks = [bytearray(1000) for _ in range(100)]

            def test_class_limit(self):
                blocks = [bytearray(1000) for _ in range(1000)]
        """
    )
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "memguard: max_heap: peak heap * > 100 KiB",
            "memguard: max_heap: peak heap * > 10.0 KiB",
            "*test_closest_marker_wins_per_key.py:*: * (* blocks)  "
            "blocks = ?bytearray(1000) for _ in range(1000)?",
        ]
    )
    result.stdout.fnmatch_lines_random(
        [
            "PASSED *::test_loosened",
            "FAILED *::test_module_limit - *",
            "FAILED *::TestClass::test_tightened - *",
            "PASSED *::TestClass::test_class_limit",
        ]
    )
