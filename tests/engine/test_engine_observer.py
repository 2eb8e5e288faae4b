"""WeakObserver: weakly held observers (bound methods included), pruning, error isolation."""

from __future__ import annotations

import pytest

from pytest_memguard.engine import WeakObserver


class Recorder:
    def __init__(self) -> None:
        self.events: list[object] = []

    def on_next(self, value: object) -> None:
        self.events.append(value)

    def on_error(self, exc: BaseException) -> None:
        self.events.append(exc)

    def on_complete(self) -> None:
        self.events.append("done")


class Handler:
    def __init__(self) -> None:
        self.values: list[int] = []

    def handle(self, value: int) -> None:
        self.values.append(value)


def test_full_observers_get_every_event() -> None:
    subject: WeakObserver[int] = WeakObserver()
    recorder = Recorder()
    subject.subscribe(recorder)
    boom = ValueError("x")
    assert subject.notify(1) == []
    assert subject.error(boom) == []
    assert subject.complete() == []
    assert recorder.events == [1, boom, "done"]


def test_bound_methods_are_held_weakly_and_unsubscribe() -> None:
    subject: WeakObserver[int] = WeakObserver()
    handler = Handler()
    subject.subscribe(handler.handle)
    subject.subscribe(handler.handle)
    assert len(subject) == 1
    subject.notify(3)
    assert handler.values == [3]
    assert subject.unsubscribe(handler.handle)
    assert not subject.unsubscribe(handler.handle)
    subject.notify(4)
    assert handler.values == [3]


def test_dead_observers_are_pruned() -> None:
    subject: WeakObserver[int] = WeakObserver()
    handler, recorder = Handler(), Recorder()
    subject.subscribe(handler.handle)
    subject.subscribe(recorder)
    subject.subscribe(lambda value: None)  # dies at once: nobody else holds it
    assert len(subject) == 2
    del handler, recorder
    assert len(subject) == 0
    assert subject.notify(1) == []


def test_plain_callables_get_on_next_only() -> None:
    subject: WeakObserver[int] = WeakObserver()
    seen: list[int] = []

    def callback(value: int) -> None:
        seen.append(value)

    subject.subscribe(callback)
    subject.notify(1)
    subject.error(RuntimeError())
    subject.complete()
    assert seen == [1]


def test_one_raising_observer_does_not_stop_the_others() -> None:
    subject: WeakObserver[int] = WeakObserver()
    error = RuntimeError("bad observer")

    def bad(value: int) -> None:
        raise error

    handler = Handler()
    subject.subscribe(bad)
    subject.subscribe(handler.handle)
    assert subject.notify(7) == [error]
    assert handler.values == [7]


def test_observers_may_unsubscribe_while_notified() -> None:
    subject: WeakObserver[int] = WeakObserver()

    class Once:
        def __call__(self, value: int) -> None:
            subject.unsubscribe(self)

    once = Once()
    subject.subscribe(once)
    assert subject.notify(1) == []
    assert len(subject) == 0


def test_bad_observers() -> None:
    subject: WeakObserver[int] = WeakObserver()
    with pytest.raises(TypeError, match="callable"):
        subject.subscribe(object())  # type: ignore[arg-type]

    class Slotted:
        __slots__ = ()

        def __call__(self, value: int) -> None:
            pass

    with pytest.raises(TypeError, match="cannot be weakly referenced"):
        subject.subscribe(Slotted())
    with pytest.raises(TypeError, match="made anew at each attribute access"):
        subject.subscribe([].append)  # type: ignore[arg-type]
