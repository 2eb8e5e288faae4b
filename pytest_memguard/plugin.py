"""The pytest11 entry point ``memguard``: options and ini keys, the marker, hookspecs and fixtures.

Everything stateful lives in :class:`~pytest_memguard.session.MemguardSession`, registered here once per
session; this module only declares.
"""

from __future__ import annotations

from typing import Any, Literal

import pytest

from . import hookspec
from .errors import MemguardUsageError
from .handle import MemguardHandle
from .markers import MARKER_HELP
from .outputs import SessionOutputs
from .session import HANDLE_KEY, MemguardSession, explain
from .settings import OPTIONS, Option, Settings

SESSION_KEY = pytest.StashKey[MemguardSession]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspec)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("memguard", "memory checks (pytest-memguard)")
    for option in OPTIONS:
        kwargs: dict[str, Any] = {"dest": option.dest, "default": None, "help": option.help}
        if option.action == "store_true":
            kwargs["action"] = "store_true"
        else:
            kwargs.update(action=option.action, type=option.argparse_type(), metavar=option.metavar)
        group.addoption(option.flag, **kwargs)
        ini_type: Literal["linelist", "string"] = "linelist" if option.action == "append" else "string"
        parser.addini(
            option.ini,
            f"default for {option.flag}: {option.help.replace('%%', '%')}",
            type=ini_type,
            default=None,
        )


def _resolve(config: pytest.Config, option: Option) -> Any:
    """The command line wins; otherwise the ini key, parsed with an error that names it."""
    value = config.getoption(option.dest)
    if value is not None:
        return value
    raw = config.getini(option.ini)
    if raw is None or raw == "" or raw == []:
        return option.default
    assert option.parse is not None
    try:
        if option.action == "append":
            return [option.parse(line) for line in raw]
        return option.parse(raw)
    except ValueError as exc:
        raise pytest.UsageError(f"memguard: ini {option.ini}: {exc}") from None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    settings = Settings.from_values({option.dest: _resolve(config, option) for option in OPTIONS})
    outputs = SessionOutputs(settings)
    if not hasattr(
        config, "workerinput"
    ):  # xdist workers measure; only the controller reads and writes files
        try:
            outputs.validate()
        except MemguardUsageError as exc:
            raise pytest.UsageError(f"memguard: {exc}") from None
    session = MemguardSession(config, settings, outputs)
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, "memguard-session")
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        from .xdist_support import XdistController

        config.pluginmanager.register(XdistController(session), "memguard-xdist")
    from . import engine_fixtures

    if not config.pluginmanager.is_registered(engine_fixtures):  # unless also given as -p ...engine_fixtures
        config.pluginmanager.register(engine_fixtures, "memguard-engine")


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        config.pluginmanager.unregister(session)
        del config.stash[SESSION_KEY]


@pytest.fixture
def memguard(request: pytest.FixtureRequest) -> MemguardHandle:
    """The test's memguard handle: ``track(obj)``, ``assert_collected()``, ``measure()``, ``heap()``.

    A tracked object still alive after the test body and a full collection fails the test, with the chain
    of references that keeps it alive. The call's heap is traced while this fixture is in use.
    """
    session = request.config.stash[SESSION_KEY]
    item = request.node

    handle = MemguardHandle(session.settings.frames, lambda obj: explain(obj, item, handle, session, request))
    item.stash[HANDLE_KEY] = handle
    return handle
