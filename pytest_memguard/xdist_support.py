"""pytest-xdist: what workers send the controller beyond the test reports, and the controller's side.

Per-test figures travel in each report's ``user_properties``; only the engine's session-wide state (the
``memory_manager`` fixture's statistics and metrics) needs ``workeroutput``. The controller hook lives in a
class registered only when xdist is installed, since pytest refuses hooks it has no spec for.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

if TYPE_CHECKING:
    from .session import MemguardSession

__all__ = ["WorkerMetrics", "XdistController", "worker_output"]


def worker_output(managers: list[Any]) -> dict[str, Any]:
    """The JSON-safe summary of a worker's managers: their statistics and their metrics as exposition text."""
    return {
        "stats": [manager.stats() for manager in managers],
        "metrics": [
            generate_latest(manager.metrics.registry).decode() for manager in managers if manager.metrics
        ],
    }


class WorkerMetrics(Collector):
    """The workers' engine metrics, each sample labelled with its worker so that none collide."""

    def __init__(self, outputs: dict[str, dict[str, Any]]) -> None:
        self._outputs = outputs

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for worker, output in sorted(self._outputs.items()):
            for text in output.get("metrics", []):
                for family in text_string_to_metric_families(text):
                    merged = families.setdefault(
                        family.name, Metric(family.name, family.documentation, family.type)
                    )
                    merged.samples.extend(
                        Sample(s.name, {**s.labels, "worker": worker}, s.value, s.timestamp, s.exemplar)
                        for s in family.samples
                    )
        yield from families.values()


class XdistController:
    """Collects each worker's engine output when the worker finishes."""

    def __init__(self, session: MemguardSession) -> None:
        self.session = session

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", {}).get("memguard")
        if output:
            self.session.worker_engines[str(node.gateway.id)] = output
