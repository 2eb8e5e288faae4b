"""What a leak failure looks like: growth per run, by allocation site and by type, and who holds it."""

from pytest_memguard import memguard


class Subscriber:
    def __init__(self) -> None:
        self.inbox = bytearray(2048)


_subscribers: list[Subscriber] = []


def subscribe() -> Subscriber:
    subscriber = Subscriber()
    _subscribers.append(subscriber)  # never unsubscribed: one more per call
    return subscriber


@memguard.no_leaks()
def test_subscribe_leaks() -> None:
    subscribe()
