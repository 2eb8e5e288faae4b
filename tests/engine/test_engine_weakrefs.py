"""WeakReferenceManager and WeakReference: real weak references, provenance, safe-point callbacks."""

from __future__ import annotations

import gc
import logging
import sys

import pytest

from pytest_memguard.engine import WeakReference, WeakReferenceManager


class Thing:
    pass


def test_track_returns_a_real_weak_reference_with_provenance() -> None:
    manager = WeakReferenceManager()
    thing = Thing()
    line = sys._getframe().f_lineno + 1
    ref = manager.track(thing, name="thing")
    assert isinstance(ref, WeakReference)
    assert ref.get() is thing
    assert ref.alive
    assert ref.name == "thing"
    assert ref.type_name == f"{__name__}.Thing"
    assert ref.created_where == f"{__file__}:{line}"
    assert ref.size == sys.getsizeof(thing)
    assert ref.created_at > 0
    del thing
    assert ref.get() is None
    assert not ref.alive
    assert "dead" in repr(ref)


def test_callbacks_run_at_the_next_call_not_at_death() -> None:
    manager = WeakReferenceManager()
    seen: list[str | None] = []
    thing = Thing()
    manager.track(thing, callback=lambda ref: seen.append(ref.name), name="a")
    del thing
    assert seen == []
    assert manager.run_pending() == 1
    assert seen == ["a"]
    assert manager.run_pending() == 0


def test_callbacks_of_cyclic_garbage_wait_for_a_safe_point() -> None:
    manager = WeakReferenceManager()
    seen: list[str] = []
    thing = Thing()
    thing.self = thing  # type: ignore[attr-defined]
    manager.track(thing, callback=lambda ref: seen.append("ran"))
    del thing
    gc.collect()
    assert seen == []
    stats = manager.stats()
    assert seen == ["ran"]
    assert (stats.total, stats.active, stats.cleaned) == (1, 0, 1)


def test_stats() -> None:
    manager = WeakReferenceManager()
    alive = Thing()
    manager.track(alive)
    manager.track(Thing())
    stats = manager.stats()
    assert (stats.total, stats.active, stats.cleaned) == (2, 1, 1)
    assert len(manager) == 1
    assert [r.get() for r in manager.references()] == [alive]


def test_untrack_skips_the_callback() -> None:
    manager = WeakReferenceManager()
    seen: list[object] = []
    thing = Thing()
    ref = manager.track(thing, callback=seen.append)
    assert manager.untrack(ref)
    assert not manager.untrack(ref)
    del thing
    manager.run_pending()
    assert seen == []


def test_a_raising_callback_is_logged_and_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    manager = WeakReferenceManager()
    seen: list[str] = []

    def boom(ref: WeakReference[object]) -> None:
        raise RuntimeError("boom")

    one, two = Thing(), Thing()
    manager.track(one, callback=boom)
    manager.track(two, callback=lambda ref: seen.append("two"))
    del one, two
    with caplog.at_level(logging.ERROR, logger="pytest_memguard.engine"):
        assert manager.run_pending() == 2
    assert seen == ["two"]
    assert "boom" in caplog.text


@pytest.mark.parametrize(
    ("obj", "words"),
    [
        (1, "an int cannot be weakly referenced"),
        ("s", "a str cannot be weakly referenced"),
        ((1,), "a tuple cannot be weakly referenced"),
        ([1], "a list cannot be weakly referenced; track an object that owns it"),
        ({}, "a dict cannot be weakly referenced"),
        (None, "None cannot be weakly referenced"),
    ],
)
def test_objects_that_cannot_be_weakly_referenced(obj: object, words: str) -> None:
    with pytest.raises(TypeError, match=words):
        WeakReferenceManager().track(obj)
