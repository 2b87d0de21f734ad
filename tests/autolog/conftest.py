"""The differential harness for autologging: one scenario, run against MLflow then eventlog, in-process.

A scenario ``scenario(m, ctx)`` gets ``m`` (``mlflow`` or ``eventlog``, used as a user script would after
``import eventlog as mlflow``) and an :class:`AutologCtx` whose experiment is already active. It trains
models with autologging on; its return value and everything the runs of its experiment hold are
compared: params, metrics (to 10 significant digits), tags, status, metric histories, the artifact
names, the model directories (file names, ``MLmodel`` fields, input example files) and the contents of
``metric_info.json``, ``feature_importance_*.json`` and ``cv_results.csv``.

Normalised away, and only here:

- run ids, run names MLflow/eventlog pick at random, ``mlflow.parentRunId`` (replaced by the parent's
  normalised name), git tags, wall-clock times, and the ``mean/std_fit/score_time`` cv timings;
- what differs by design: model ids, ``artifact_path`` / ``utc_time_created`` / ``mlflow_version`` (eventlog:
  ``eventlog_version``) in ``MLmodel``, the ``loader_module`` package (``mlflow.sklearn`` vs
  ``eventlog.sklearn``), the contents of ``requirements.txt`` / ``conda.yaml``, and where a logged model
  is listed: MLflow 3 keeps it in a LoggedModel and shows it under ``runs:/<id>/model`` only, eventlog
  stores it in the run's artifacts, so ``model/`` and ``best_estimator/`` are left out of the top-level
  artifact listing and compared on their own.

MLflow runs on a sqlite store created once per session (its migrations take seconds). Its
requirements inference (loading each model in a subprocess, seconds per model) is replaced by its own
fallback, the flavor's pinned packages: the requirement files' contents are not compared anyway.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import os
import pprint
import re
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import differential as shared
import pytest

_prefixes = itertools.count(1)
_RANDOM_NAME = re.compile(r"^[a-z]+-[a-z]+-\d{1,4}$")
_TIMING_METRICS = {"mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time"}
MODEL_DIRS = ("model", "best_estimator")
_VOLATILE_MLMODEL_KEYS = {
    "artifact_path",
    "utc_time_created",
    "mlflow_version",
    "eventlog_version",
    "model_id",
    "model_uuid",
}


@pytest.fixture(scope="session")
def autolog_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    import mlflow
    import mlflow.models

    root = tmp_path_factory.mktemp("autolog")
    uris = {"mlflow": f"sqlite:///{root}/mlflow.db", "eventlog": str(root / "el")}
    saved = dict(os.environ)
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    mlflow.set_tracking_uri(uris["mlflow"])
    mlflow.MlflowClient().get_experiment("0")  # runs the migrations once
    os.environ.clear()
    os.environ.update(saved)
    original = mlflow.models.infer_pip_requirements
    mlflow.models.infer_pip_requirements = lambda path, flavor, fallback=None, **kwargs: fallback
    yield uris
    mlflow.models.infer_pip_requirements = original
    mlflow.set_tracking_uri(None)


def disable_mlflow_autologging() -> None:
    import mlflow
    from mlflow.utils.autologging_utils import AUTOLOGGING_INTEGRATIONS

    for name in ("sklearn", "xgboost", "lightgbm"):
        if not AUTOLOGGING_INTEGRATIONS.get(name, {}).get("disable", True):
            getattr(mlflow, name).autolog(disable=True)
    if not AUTOLOGGING_INTEGRATIONS.get("mlflow", {}).get("disable", True):
        mlflow.autolog(disable=True)
    # Forget the configurations too: a flavor "configured explicitly" would ignore a later autolog().
    AUTOLOGGING_INTEGRATIONS.clear()


def disable_eventlog_autologging() -> None:
    from eventlog._autolog import _config, _hooks, _patch

    for name in list(_config.AUTOLOGGING_INTEGRATIONS):
        _patch.revert_patches(name)
    _config.AUTOLOGGING_INTEGRATIONS.clear()
    with _hooks._lock:
        _hooks._hooks.clear()


def reset_mlflow() -> None:
    disable_mlflow_autologging()
    shared.reset_mlflow()


def reset_eventlog() -> None:
    disable_eventlog_autologging()
    shared.reset_eventlog()


def open_library(name: str, uris: dict[str, str]) -> Any:
    """The differential suite's open_library, with autologging switched off first."""
    disable_mlflow_autologging() if name == "mlflow" else disable_eventlog_autologging()
    return shared.open_library(name, uris)


def norm_float(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = float(value)
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return value
        return float(f"{value:.10g}")
    return value


class AutologCtx:
    """Helpers for one scenario against one library; ``experiment_id`` is active when it starts."""

    def __init__(self, m: Any, prefix: str, ignore_tags: tuple[str, ...] = ()) -> None:
        self.m = m
        self.ignore_tags = ignore_tags
        self.lib = m.__name__
        self.is_eventlog = self.lib == "eventlog"
        self.experiment_id = m.create_experiment(f"{prefix}autolog")
        m.set_experiment(experiment_id=self.experiment_id)

    # -- reading what was logged ----------------------------------------------------------------
    def client(self) -> Any:
        return self.m.MlflowClient()

    def runs(self) -> list[Any]:
        if self.is_eventlog:
            # The store's own listing: the runs of the experiment, whatever their state.
            from eventlog import _fluent

            return list(_fluent._store().runs_in_experiments([self.experiment_id]))
        return list(self.client().search_runs([self.experiment_id], run_view_type=3, max_results=1000))

    def download(self, run_id: str, path: str, dst: str) -> str:
        if self.is_eventlog:
            return str(self.client().download_artifacts(run_id, path, dst))
        import mlflow

        return str(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path, dst_path=dst))

    def run_name(self, run: Any) -> str:
        name = run.info.run_name
        return "<random>" if name and _RANDOM_NAME.match(name) else name

    def outcome(self) -> list[dict[str, Any]]:
        runs = self.runs()
        names = {run.info.run_id: self.run_name(run) for run in runs}
        out = [self.run(run, names) for run in runs]
        return sorted(out, key=lambda r: json.dumps(r, sort_keys=True, default=str))

    def run(self, run: Any, names: dict[str, str]) -> dict[str, Any]:
        run_id = run.info.run_id
        client = self.client()
        tags = {}
        for key, value in run.data.tags.items():
            if key.startswith("mlflow.source.git.") or key in self.ignore_tags:
                continue
            if key == "mlflow.runName":
                value = names[run_id]
            elif key == "mlflow.parentRunId":
                value = f"<parent {names.get(value, '?')}>"
            tags[key] = value
        metrics = {
            key: ("<timing>" if key in _TIMING_METRICS else norm_float(value))
            for key, value in run.data.metrics.items()
        }
        histories = {}
        for key in run.data.metrics:
            history = client.get_metric_history(run_id, key)
            if len(history) > 1:
                histories[key] = sorted((m.step, norm_float(m.value)) for m in history)
        artifacts = sorted(f.path for f in client.list_artifacts(run_id) if f.path not in MODEL_DIRS)
        outcome: dict[str, Any] = {
            "name": names[run_id],
            "status": run.info.status,
            "params": dict(run.data.params),
            "metrics": metrics,
            "tags": tags,
            "histories": histories,
            "artifacts": artifacts,
            "files": self.files(run_id, artifacts),
            "models": {},
        }
        for directory in MODEL_DIRS:
            files = sorted(f.path for f in client.list_artifacts(run_id, directory))
            if files:
                outcome["models"][directory] = self.model(run_id, directory, files)
        return outcome

    def files(self, run_id: str, artifacts: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for name in artifacts:
                if name == "metric_info.json" or (
                    name.startswith("feature_importance_") and name.endswith(".json")
                ):
                    with open(self.download(run_id, name, tmp)) as fh:
                        out[name] = json.load(fh)
                elif name == "cv_results.csv":
                    import pandas as pd

                    frame = pd.read_csv(self.download(run_id, name, tmp))
                    kept = [c for c in frame.columns if c not in _TIMING_METRICS]
                    out[name] = {
                        "columns": list(frame.columns),
                        "values": [
                            [norm_float(v) for v in row] for row in frame[kept].itertuples(index=False)
                        ],
                    }
        return out

    def model(self, run_id: str, directory: str, files: list[str]) -> dict[str, Any]:
        import yaml

        out: dict[str, Any] = {"files": files}
        with tempfile.TemporaryDirectory() as tmp:
            local = self.download(run_id, directory, tmp)
            with open(os.path.join(local, "MLmodel")) as fh:
                mlmodel = yaml.safe_load(fh)
            assert mlmodel.get("run_id") == run_id, mlmodel.get("run_id")
            for key in _VOLATILE_MLMODEL_KEYS | {"run_id"}:
                mlmodel.pop(key, None)
            for flavor in mlmodel.get("flavors", {}).values():
                # MLflow writes a set here: its order depends on the string hash seed.
                if isinstance(flavor.get("skops_trusted_types"), list):
                    flavor["skops_trusted_types"] = sorted(flavor["skops_trusted_types"])
            pyfunc = mlmodel.get("flavors", {}).get("python_function", {})
            if "loader_module" in pyfunc:
                pyfunc["loader_module"] = re.sub(r"^(mlflow|eventlog)\.", "<lib>.", pyfunc["loader_module"])
            out["MLmodel"] = mlmodel
            for name in ("input_example.json", "serving_input_example.json", "python_env.yaml"):
                path = os.path.join(local, name)
                if os.path.exists(path):
                    with open(path) as fh:
                        out[name] = fh.read()
        return out


def run_scenario(
    name: str,
    scenario: Callable[..., Any],
    prefix: str,
    uris: dict[str, str],
    compare_runs: bool = True,
    ignore_tags: tuple[str, ...] = (),
) -> dict[str, Any]:
    m = open_library(name, uris)
    try:
        ctx = AutologCtx(m, prefix, ignore_tags)
        result = scenario(m, ctx)
        while m.active_run() is not None:
            m.end_run()
        return {"result": result, "runs": ctx.outcome() if compare_runs else None}
    finally:
        reset_mlflow() if name == "mlflow" else reset_eventlog()


@pytest.fixture
def differential(autolog_stores: dict[str, str]) -> Callable[[Callable[..., Any]], Any]:
    """``differential(scenario)``: run it on mlflow, then on eventlog; assert equal outcomes.

    ``compare_runs=False`` compares only what the scenario returns (for what MLflow does not do
    deterministically); ``ignore_tags`` leaves those run tags out of the comparison."""

    def check(
        scenario: Callable[..., Any],
        compare_runs: bool = True,
        ignore_tags: tuple[str, ...] = (),
        racy_params: bool = False,
    ) -> Any:
        prefix = f"a{next(_prefixes)}-"
        expected = run_scenario("mlflow", scenario, prefix, autolog_stores, compare_runs, ignore_tags)
        if os.environ.get("DIFFERENTIAL_SHOW"):
            print(f"\n== {scenario.__name__}\n{pprint.pformat(expected, width=110)}")
        actual = run_scenario("eventlog", scenario, prefix, autolog_stores, compare_runs, ignore_tags)
        if racy_params and expected["runs"] and actual["runs"]:
            # MLflow's params come from a background queue that can lose the race with the end of a
            # failed run: where MLflow's run has none, eventlog's params must still be there.
            for mine, theirs in zip(actual["runs"], expected["runs"], strict=False):
                if theirs.get("params") == {} and mine.get("params"):
                    theirs["params"] = mine["params"]
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


@pytest.fixture
def eventlog_store(tmp_path: Any) -> Iterator[Any]:
    """eventlog on a fresh local store, autologging reset before and after."""
    import eventlog

    reset_eventlog()
    eventlog.set_tracking_uri(str(tmp_path / "store"))
    yield eventlog
    reset_eventlog()
