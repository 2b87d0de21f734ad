"""Fixtures of the differential suite: one MLflow sqlite store and one eventlog store per session.

MLflow's first use of a sqlite file runs its migrations (seconds), so the database is created once;
scenarios isolate themselves with a new experiment (``ctx.new_experiment()``) and unique names
(``ctx.name()``). Both libraries keep process state (active run stack, active experiment id, the
MLFLOW_EXPERIMENT_ID/MLFLOW_TRACKING_URI variables they write): it is reset before and after each run.
"""

from __future__ import annotations

import contextlib
import difflib
import itertools
import os
import pprint
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import Ctx, clear_env

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

_prefixes = itertools.count(1)


@pytest.fixture(scope="session")
def _stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    import mlflow

    root = tmp_path_factory.mktemp("differential")
    uris = {"mlflow": f"sqlite:///{root}/mlflow.db", "eventlog": str(root / "el")}
    saved = dict(os.environ)
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    mlflow.set_tracking_uri(uris["mlflow"])
    mlflow.MlflowClient().get_experiment("0")  # runs the migrations once
    os.environ.clear()
    os.environ.update(saved)
    yield uris
    mlflow.set_tracking_uri(None)


def _reset_mlflow() -> None:
    import mlflow
    import mlflow.tracking.fluent as fluent

    while mlflow.active_run() is not None:
        with contextlib.suppress(Exception):  # e.g. the run's experiment was deleted
            mlflow.end_run()
    fluent._active_experiment_id = None
    fluent._last_active_run_id.set(None)
    clear_env()


def _reset_eventlog() -> None:
    import eventlog
    from eventlog._reset import reset_process_state

    while eventlog.active_run() is not None:
        with contextlib.suppress(Exception):
            eventlog.end_run()
    reset_process_state()
    clear_env()


def _open(name: str, uris: dict[str, str]) -> Any:
    """Reset the module's process state and point it at the session store."""
    if name == "mlflow":
        import mlflow

        _reset_mlflow()
        os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
        mlflow.set_tracking_uri(uris["mlflow"])
        return mlflow
    import eventlog

    _reset_eventlog()
    eventlog.set_tracking_uri(uris["eventlog"])
    return eventlog


def run_scenario(name: str, scenario: Callable[..., Any], prefix: str, uris: dict[str, str]) -> Any:
    m = _open(name, uris)
    ctx = Ctx(m, prefix, reopen=lambda: _open(name, uris))
    try:
        return scenario(m, ctx)
    finally:
        _reset_mlflow() if name == "mlflow" else _reset_eventlog()


@pytest.fixture
def differential(_stores: dict[str, str], tmp_path: Path) -> Callable[[Callable[..., Any]], Any]:
    """``differential(scenario)``: run it on mlflow, then on eventlog, and assert equal outcomes."""

    def check(scenario: Callable[..., Any]) -> Any:
        prefix = f"d{next(_prefixes)}-"
        expected = run_scenario("mlflow", scenario, prefix, _stores)
        if os.environ.get("DIFFERENTIAL_SHOW"):  # debugging aid: print what MLflow did
            print(f"\n== {scenario.__name__}\n{pprint.pformat(expected, width=110)}")
        actual = run_scenario("eventlog", scenario, prefix, _stores)
        if actual != expected:
            diff = difflib.unified_diff(
                pprint.pformat(expected, width=110).splitlines(),
                pprint.pformat(actual, width=110).splitlines(),
                "mlflow",
                "eventlog",
                lineterm="",
                n=2,
            )
            pytest.fail(
                f"eventlog differs from mlflow in {scenario.__name__}:\n" + "\n".join(diff), pytrace=False
            )
        return actual

    return check
