"""The per-session object: plans each test, measures its call, runs its checks, collects the results.

It holds all of memguard's state for a session; ``plugin.py`` registers one instance. Results reach the
session through each call report's ``user_properties``, so a serial run and an xdist controller collect
them the same way.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from collections.abc import Generator
from typing import Any

import pytest

from . import checks
from .handle import MemguardHandle
from .leaks import LeakReport, check_leaks
from .measure import Figures, Meter
from .outputs import SessionOutputs
from .probes.heap import catch_crossing, top_sites
from .probes.rss import rss_method
from .rerun import run_isolated
from .results import CheckResult, TestResult
from .settings import ItemPlan, PlanError, Settings, plan_for_markers
from .units import format_size

__all__ = ["HANDLE_KEY", "PLAN_KEY", "MemguardSession", "explain", "warn_internal"]

PLAN_KEY = pytest.StashKey["ItemPlan | PlanError"]()
HANDLE_KEY = pytest.StashKey[MemguardHandle]()
CALL_KEY = pytest.StashKey["_CallChecks"]()
PROPERTY = "memguard"
SITES_SHOWN = 10


def explain(obj: object, item: pytest.Item, *ours: object) -> str:
    """Why ``obj`` is alive: the chain of references from a root, pytest's and memguard's objects ignored.

    The session is ignored too: pytest caches fixture values there until teardown, and a chain through
    pytest's own caches explains nothing to the user.
    """
    from .refchain import find_chain_report, format_chain

    return format_chain(find_chain_report(obj, ignore=(item, item.session, *ours)), obj)


def warn_internal(item: pytest.Item, what: str, exc: BaseException) -> None:
    """Report an internal error as a warning naming the test; never let it change the test's result."""
    message = f"memguard: {what} failed for {item.nodeid}: {type(exc).__name__}: {exc}"
    from .errors import MemguardWarning

    with warnings.catch_warnings():
        warnings.simplefilter("always", MemguardWarning)  # a user's "error" filter must not fail the test
        item.warn(MemguardWarning(message))


class MemguardSession:
    """Session state and the hooks that measure and check each test."""

    def __init__(self, config: pytest.Config, settings: Settings, outputs: SessionOutputs) -> None:
        self.config = config
        self.settings = settings
        self.outputs = outputs
        self.results: list[TestResult] = []
        #: Results measured in this process whose call report is not logged yet, by node id.
        self.measured: dict[str, TestResult] = {}
        self.started = time.time()
        self.is_worker = hasattr(config, "workerinput")
        #: What each xdist worker's engine fixtures reported (stats and metrics), by worker id.
        self.worker_engines: dict[str, dict[str, Any]] = {}

    # -- planning -------------------------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            markers = [(mark.args, mark.kwargs) for mark in item.iter_markers(PROPERTY)]
            try:
                item.stash[PLAN_KEY] = plan_for_markers(markers, self.settings)
            except PlanError as exc:
                item.stash[PLAN_KEY] = exc

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        plan = item.stash.get(PLAN_KEY, None)
        if isinstance(plan, PlanError):
            pytest.fail(f"memguard: bad memguard marker on {item.nodeid}: {plan}", pytrace=False)

    # -- measuring the call ---------------------------------------------------------------------------

    # Innermost of the call wrappers, so pytest's capture and logging set-up are not measured as the test's.
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        plan = item.stash.get(PLAN_KEY, None)
        handle = item.stash.get(HANDLE_KEY, None)
        if not isinstance(plan, ItemPlan) or not (plan.active or handle is not None):
            return (yield)
        call = _CallChecks(self, item, plan, handle)
        # A plain test function is measured closer still, around pytest_pyfunc_call; others from here.
        via_pyfunc = type(item).runtest is pytest.Function.runtest
        if via_pyfunc:
            item.stash[CALL_KEY] = call
        else:
            call.start()
        try:
            outcome = yield
        except BaseException as exc:
            call.finish("skipped" if isinstance(exc, pytest.skip.Exception) else "failed")
            raise
        finally:
            if via_pyfunc:
                del item.stash[CALL_KEY]
        failures = call.finish("passed")
        if failures:
            pytest.fail("\n".join(failures), pytrace=False)
        return outcome

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> Generator[None, object, object]:
        call = pyfuncitem.stash.get(CALL_KEY, None)
        if call is None or call.started:  # not measured, or a re-run of the body by a check
            return (yield)
        call.start()
        try:
            return (yield)
        finally:
            call.stop()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        result = self.measured.pop(report.nodeid, None)
        if result is None:  # measured by an xdist worker: it comes serialized in the report
            for name, value in report.user_properties:
                if name == PROPERTY and isinstance(value, str):
                    result = TestResult.from_dict(json.loads(value))
        if result is not None:
            result.outcome = report.outcome  # pytest's word, after xfail and the like
            self.results.append(result)

    # -- reporting ------------------------------------------------------------------------------------

    def pytest_report_header(self, config: pytest.Config) -> str:
        heap = "every test (--memguard-heap)" if self.settings.trace_all else "tests that need it"
        scope = "every test (--memguard)" if self.settings.measure_all else "marked tests"
        interpreter = (
            ""
            if sys.implementation.name == "cpython"
            else (f"; on {sys.implementation.name} GC pauses and allocated blocks may not be measured")
        )
        return (
            f"memguard: measuring {scope}; heap traced for {heap}; peak RSS by {rss_method()}" + interpreter
        )

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.is_worker:
            from .xdist_support import worker_output

            self.config.workeroutput["memguard"] = worker_output(self.managers())  # type: ignore[attr-defined]
            return
        comparison = self.outputs.compare(self.results)
        if comparison is not None and comparison.regressions:
            self.config.hook.pytest_memguard_regression(regressions=comparison.regressions)
            self._junit_regressions(comparison.regressions)
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        info = {
            "duration": time.time() - self.started,
            "exitstatus": int(session.exitstatus),
            "probes": {"rss": rss_method(), "heap": "tracemalloc, around each measured call"},
            "options": {
                "measure_all": self.settings.measure_all,
                "trace_all": self.settings.trace_all,
                "leaks": self.settings.leaks,
            },
        }
        self.outputs.write(self.results, info, self.engine_registries())
        if os.environ.get("GITHUB_STEP_SUMMARY") and self.results:
            from .ci_summary import append_step_summary, github_step_summary

            warning = append_step_summary(github_step_summary(self.results, comparison, self.settings.top))
            if warning:
                self.outputs.warnings.append(warning)
        if self.config.pluginmanager.get_plugin("terminalreporter") is None:
            self.outputs.report_without_terminal()

    def _junit_regressions(self, regressions: list[Any]) -> None:
        """Regressions as suite properties of ``--junitxml`` (this hook runs before it writes the file)."""
        from _pytest.junitxml import xml_key

        xml = self.config.stash.get(xml_key, None)
        if xml is not None:
            for regression in regressions:
                xml.add_global_property("memguard_regression", regression.message)

    def managers(self) -> list[Any]:
        from .engine_fixtures import session_managers

        return session_managers(self.config)

    def engine_registries(self) -> list[Any]:
        """The engine's metrics of this session's ``memory_manager`` fixture, and of the xdist workers'."""
        registries: list[Any] = [manager.metrics.registry for manager in self.managers() if manager.metrics]
        if self.worker_engines:
            from .metrics import WorkerMetrics

            registries.append(WorkerMetrics(self.worker_engines))
        return registries

    def engine_lines(self) -> list[str]:
        from .report import manager_lines

        lines = [line for manager in self.managers() for line in manager_lines(manager.stats())]
        for worker, output in sorted(self.worker_engines.items()):
            lines.extend(line for stats in output["stats"] for line in manager_lines(stats, worker))
        return lines

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker:
            return
        from .report import summary_lines

        if (self.settings.measure_all or self.settings.trace_all) and self.results:
            terminalreporter.write_sep("=", "memguard: largest tests")
            for line in summary_lines(self.results, self.settings.top):
                terminalreporter.write_line(line)
            for line in self.engine_lines():
                terminalreporter.write_line(line)
        lines = self.outputs.summary_lines()
        if lines:
            terminalreporter.write_sep("=", "memguard: baseline and outputs")
            regressions = self.outputs.comparison is not None and self.outputs.comparison.regressions
            for line in lines:
                terminalreporter.write_line(
                    line,
                    red=bool(regressions) and not line.startswith("memguard: wrote"),
                    yellow="warning" in line,
                )


class _CallChecks:
    """One test call: the meter, the engine helpers its markers ask for, and the checks after it."""

    def __init__(
        self, session: MemguardSession, item: pytest.Item, plan: ItemPlan, handle: MemguardHandle | None
    ) -> None:
        self.session = session
        self.item = item
        self.plan = plan
        self.handle = handle
        settings = session.settings
        self.meter: Meter | None = Meter(
            heap=plan.trace_heap or handle is not None,
            rss=True,
            frames=settings.frames,
        )
        self.engine = _EngineHelpers(plan)
        self.started = False
        self.figures: Figures | None = None

    def start(self) -> None:
        self.started = True
        try:
            self.engine.start()
            assert self.meter is not None
            self.meter.start()
        except Exception as exc:
            warn_internal(self.item, "starting the measurement", exc)
            self.engine.stop()
            if self.meter is not None:
                self.meter.abandon()
            self.meter = None

    def stop(self) -> None:
        """Stop the probes (as soon as the body returns); ``finish`` then checks what they measured."""
        if self.meter is None or not self.started or self.figures is not None:
            return
        try:
            self.figures = self.meter.stop()
        except Exception as exc:
            warn_internal(self.item, "measuring", exc)
            self.meter.abandon()
            self.engine.stop()
            self.meter = None

    def finish(self, outcome: str) -> list[str]:
        """Stop measuring, check (if the test passed), publish the result; return the failed checks' text."""
        self.stop()
        figures = self.figures
        if figures is None:
            return []
        result = _result_from(self.item.nodeid, figures)
        result.outcome = outcome
        try:
            self._check(result, figures, passed=outcome == "passed")
        finally:  # also when an extra run of a leak check raised: the figures are still the test's
            if result.failed_checks:
                result.outcome = "failed"
            self._publish(result)
        return [_failure_text(check) for check in result.failed_checks]

    def _check(self, result: TestResult, figures: Figures, *, passed: bool) -> None:
        try:
            alerts = self.engine.stop()
            if passed:
                result.checks.extend(self._checks(figures, alerts))
        except Exception as exc:
            warn_internal(self.item, "checking", exc)
            return
        leak = self._leak_check() if passed and self.plan.leak is not None else None
        if leak is not None:
            result.leak_per_run = leak.heap_per_run
            result.leak_verdict = "leak" if leak.leaks else "ok"
            result.checks.append(
                CheckResult(
                    leak.plan.check_name,
                    not leak.leaks,
                    _leak_limit(leak),
                    leak.message() if leak.leaks else "",
                    leak.details() if leak.leaks else "",
                )
            )
        if passed and self.handle is not None and self.handle.tracked:
            survivors = self.handle.survivors()
            message = f"memguard: track: {len(survivors)} tracked object(s) still alive after the test"
            result.checks.append(
                CheckResult(
                    "track", not survivors, "collected", message if survivors else "", "\n".join(survivors)
                )
            )

    def _publish(self, result: TestResult) -> None:
        """Hand the result to the hook, JUnit XML (through the item's user_properties) and the session.

        Set on the item before pytest makes the call report, so that report and the teardown report
        (where JUnit XML reads properties) carry it, and xdist sends it to the controller.
        """
        hook = self.item.config.hook.pytest_memguard_test_result
        if hook.get_hookimpls():  # calling a hook nobody implements still costs a few microseconds
            try:
                hook(item=self.item, result=result)
            except Exception as exc:
                warn_internal(self.item, "the pytest_memguard_test_result hook", exc)
        self.item.user_properties.append((PROPERTY, json.dumps(result.to_dict(), separators=(",", ":"))))
        self.session.measured[self.item.nodeid] = result

    def _checks(self, figures: Figures, alerts: list[Any]) -> list[CheckResult]:
        plan, found = self.plan, []
        if plan.max_heap is not None:
            found.append(self._max_heap(figures, plan.max_heap))
        if plan.max_rss is not None:
            found.append(
                checks.check_max_rss(figures.peak_rss, plan.max_rss, figures.start_rss, rss_method())
            )
        if plan.max_gc_pause is not None:
            found.append(
                checks.check_max_gc_pause(
                    figures.gc_pause_max, plan.max_gc_pause, figures.gc_collections, figures.gc_lost
                )
            )
        if plan.no_uncollectable:
            found.append(checks.check_no_uncollectable(figures.uncollectable, figures.garbage_growth))
        if plan.alerts:
            found.append(self.engine.alerts_check(self.item, alerts))
        return found

    def _max_heap(self, figures: Figures, limit: int) -> CheckResult:
        check = checks.check_max_heap(figures.peak_heap, limit, [], "")
        if check.passed:
            return check
        snapshot = catch_crossing(lambda: run_isolated(self.item), limit, self.session.settings.frames)
        if snapshot is None:  # the body raised, or stayed under the limit, when run again
            return check
        when = "when the heap first crossed the limit (found by running the body again under a trace hook)"
        return checks.check_max_heap(figures.peak_heap, limit, top_sites(snapshot, SITES_SHOWN), when)

    def _leak_check(self) -> LeakReport | None:
        """Run the leak check; an extra run that raises fails the test with that error, as it is."""
        assert self.plan.leak is not None
        plan, settings = self.plan.leak, self.session.settings

        def run_once() -> None:
            try:
                run_isolated(self.item)
            except BaseException as exc:
                raise _ExtraRunRaised(exc) from None

        try:
            return check_leaks(run_once, plan, settings.frames, find_chain=self._explain)
        except _ExtraRunRaised as raised:
            exc = raised.error
            note = (
                f"memguard: {plan.check_name}: an extra run of the test body (for the leak check) "
                "raised this; the normal run had passed"
            )
            if sys.version_info >= (3, 11):
                exc.add_note(note)
                raise exc from None
            raise ExtraRunError(note) from exc  # no notes before 3.11: the test's error shows as the cause
        except Exception as exc:
            warn_internal(self.item, "the leak check", exc)
            return None

    def _explain(self, obj: object) -> str:
        return explain(obj, self.item, self.handle, self)


class ExtraRunError(AssertionError):
    """An extra run of a test body (for a leak check) raised; the test's own error is its cause."""


class _ExtraRunRaised(Exception):
    """Carries an exception out of a leak check's extra run, so it is told apart from memguard's own."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


class _EngineHelpers:
    """The monitor and GC strategy a test's markers ask for, from the engine, started around the call."""

    def __init__(self, plan: ItemPlan) -> None:
        self.plan = plan
        self.monitor: Any = None
        self.optimizer: Any = None
        self.started = 0.0

    def start(self) -> None:
        self.started = time.time()
        if self.plan.gc_strategy is not None:
            from .engine import GCOptimizer

            self.optimizer = GCOptimizer()
            self.optimizer.apply(self.plan.gc_strategy)
        if self.plan.alerts:
            from .engine import MemoryMonitor

            self.monitor = MemoryMonitor(interval=0.01)
            for key, value in self.plan.alerts.items():
                self.monitor.set_alert(key, value)
            self.monitor.start()

    def stop(self) -> list[Any]:
        """Stop what ``start()`` started and return the alerts the monitor raised."""
        alerts: list[Any] = []
        if self.monitor is not None:
            monitor, self.monitor = self.monitor, None
            monitor.sample_now()
            monitor.stop()
            alerts = monitor.take_alerts()
        if self.optimizer is not None:
            optimizer, self.optimizer = self.optimizer, None
            optimizer.restore()
        return alerts

    def alerts_check(self, item: pytest.Item, alerts: list[Any]) -> CheckResult:
        for alert in alerts:
            item.config.hook.pytest_memguard_alert(alert=alert)
        limits = ", ".join(f"{key}={value:g}" for key, value in self.plan.alerts.items())
        if not alerts:
            return CheckResult("alerts", True, limits)
        return CheckResult(
            "alerts",
            False,
            limits,
            f"memguard: alerts: the memory monitor raised {len(alerts)} alert(s) during the call",
            "\n".join(self._describe(alert) for alert in alerts),
        )

    def _describe(self, alert: Any) -> str:
        clock = time.strftime("%H:%M:%S", time.localtime(alert.timestamp))
        millis = int(alert.timestamp * 1000) % 1000
        into = max(0.0, alert.timestamp - self.started)
        return f"{alert.message} at {clock}.{millis:03d} ({into:.3f} s into the call)"


def _leak_limit(leak: LeakReport) -> str:
    return format_size(leak.plan.heap_threshold) + "/run"


def _failure_text(check: CheckResult) -> str:
    if not check.details:
        return check.message
    return check.message + "\n" + "\n".join("    " + line for line in check.details.splitlines())


def _result_from(nodeid: str, figures: Figures) -> TestResult:
    return TestResult(
        nodeid=nodeid,
        duration=figures.duration,
        peak_heap=figures.peak_heap,
        retained_heap=figures.retained_heap,
        peak_rss=figures.peak_rss,
        allocated_blocks=figures.allocated_blocks,
        gc_collections=figures.gc_collections,
        gc_pause_max=figures.gc_pause_max,
        gc_pause_total=figures.gc_pause_total,
        uncollectable=figures.uncollectable,
        notes=figures.notes,
    )
