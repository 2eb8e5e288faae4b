"""What a track() failure looks like: the chain of references from a root to the survivor."""


class Handler:
    pass


_handlers: list[Handler] = []


def register(handler: Handler) -> None:
    _handlers.append(handler)


def test_handler_outlives_the_test(memguard) -> None:
    handler = Handler()
    memguard.track(handler, name="request handler")
    register(handler)
