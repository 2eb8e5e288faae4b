"""pytest-xdist: what workers send the controller beyond the test reports, and the controller's side.

Per-test figures travel in each report's ``user_properties``; only the engine's session-wide state (the
``memory_manager`` fixture's statistics and metrics) needs ``workeroutput``. The controller hook lives in a
class registered only when xdist is installed, since pytest refuses hooks it has no spec for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .session import MemguardSession

__all__ = ["XdistController", "worker_output"]


def worker_output(managers: list[Any]) -> dict[str, Any]:
    """The JSON-safe summary of a worker's managers: their statistics and their metrics as exposition text."""
    from prometheus_client import generate_latest

    return {
        "stats": [manager.stats() for manager in managers],
        "metrics": [
            generate_latest(manager.metrics.registry).decode() for manager in managers if manager.metrics
        ],
    }


class XdistController:
    """Collects each worker's engine output when the worker finishes."""

    def __init__(self, session: MemguardSession) -> None:
        self.session = session

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", {}).get("memguard")
        if output:
            self.session.worker_engines[str(node.gateway.id)] = output
