"""Fixtures of the differential suite: one MLflow sqlite store and one eventlog store per session.

MLflow's first use of a sqlite file runs its migrations (seconds), so the database is created once;
scenarios isolate themselves with a new experiment (``ctx.new_experiment()``) and unique names
(``ctx.name()``). Both libraries keep process state (active run stack, active experiment id, the
MLFLOW_EXPERIMENT_ID/MLFLOW_TRACKING_URI variables they write): it is reset before and after each run.
"""

from __future__ import annotations

import difflib
import itertools
import os
import pprint
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import Ctx, open_library, reset_eventlog, reset_mlflow

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


def run_scenario(name: str, scenario: Callable[..., Any], prefix: str, uris: dict[str, str]) -> Any:
    m = open_library(name, uris)
    ctx = Ctx(m, prefix, reopen=lambda: open_library(name, uris))
    try:
        return scenario(m, ctx)
    finally:
        reset_mlflow() if name == "mlflow" else reset_eventlog()


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
