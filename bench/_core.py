"""The logging hot path: single log_metric calls, log_metrics batches, import time."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Figure", "core_figures"]

# The hot path's budgets (issue 16): a million single calls a second on a quiet machine, and at most 15 times
# a no-op Python call with the same arguments, timed in the same process a moment before.
LOG_METRIC_BUDGET = 1_000_000.0
LOG_METRIC_NOOP_RATIO_BUDGET = 15.0


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    budget: float | None = None  # the figure must be >= budget (or <= for "max" figures)
    higher_is_better: bool = True
    note: str = ""

    @property
    def ok(self) -> bool:
        if self.budget is None:
            return True
        return self.value >= self.budget if self.higher_is_better else self.value <= self.budget


def _best_rate(fn: Callable[[], int], repeats: int = 5) -> float:
    """Best of several runs: the figure least disturbed by other work on a shared machine."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        count = fn()
        rates.append(count / (time.perf_counter() - start))
    return max(rates)


def core_figures(calls: int = 300_000, batches: int = 20_000) -> list[Figure]:
    import eventlog

    store = tempfile.mkdtemp(prefix="eventlog-bench-")
    eventlog.set_tracking_uri(store)
    eventlog.start_run()

    def noop(key: str, value: float, step: int | None = None, synchronous: bool | None = None) -> None:
        return None

    def loop_noop() -> int:
        for i in range(calls):
            noop("loss", 0.5, step=i)
        return calls

    def loop_log_metric() -> int:
        log_metric = eventlog.log_metric
        for i in range(calls):
            log_metric("loss", 0.5, step=i)
        return calls

    metrics = {f"metric_{j}": 0.5 for j in range(50)}

    def loop_log_metrics() -> int:
        log_metrics = eventlog.log_metrics
        for i in range(batches):
            log_metrics(metrics, step=i)
        return batches * len(metrics)

    noop_rate = _best_rate(loop_noop)
    metric_rate = _best_rate(loop_log_metric)
    batch_rate = _best_rate(loop_log_metrics, repeats=3)
    start = time.perf_counter()
    eventlog.end_run()
    end_run_s = time.perf_counter() - start

    imports = []
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTLOG_", "MLFLOW_"))}
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import eventlog"], check=True, env=env)
        imports.append(time.perf_counter() - start)
    baseline = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, env=env)
        baseline.append(time.perf_counter() - start)

    return [
        Figure("no-op Python call, same arguments", noop_rate, "calls/s"),
        Figure("log_metric, single calls", metric_rate, "calls/s", budget=LOG_METRIC_BUDGET),
        Figure(
            "  its cost in no-op calls, measured beside it",
            noop_rate / metric_rate,
            "x",
            budget=LOG_METRIC_NOOP_RATIO_BUDGET,
            higher_is_better=False,
            note="log_metric's cost over the no-op call's: the machine's speed cancels out",
        ),
        Figure("log_metrics, 50 keys a call", batch_rate, "points/s", budget=1_000_000),
        Figure("end_run after those points (flush + status)", end_run_s, "s"),
        Figure(
            "python -c 'import eventlog'",
            statistics.median(imports),
            "s",
            budget=0.3,
            higher_is_better=False,
            note=f"interpreter start alone: {statistics.median(baseline):.3f} s",
        ),
    ]
