"""Differential tests: the same scenario runs against real MLflow (sqlite store) and against eventlog.

A scenario is a function ``scenario(m, ctx)``: ``m`` is the module under test (``mlflow`` or ``eventlog``,
used exactly as a user script would after ``import eventlog as mlflow``) and ``ctx`` is a :class:`Ctx`
bound to that module. It returns a plain, comparable outcome; the ``differential`` fixture (conftest.py)
runs it once per module and asserts the two outcomes are equal.

What is normalised away, here and only here:

- volatile values: run ids and experiment ids (replaced by ``<run1>``, ``<exp1>``... in order of first
  appearance), wall-clock times (``<time>``), ``mlflow.user`` is kept (both read ``getpass``), default
  random run names (``<random-name>``), and artifact locations / artifact URIs, whose *format* differs
  deliberately (eventlog stores artifacts under its own store root; only the ``<run_id>/artifacts`` tail
  is compared);
- ``±1.7976931348623157e308`` -> ``±inf``: MLflow's sqlite store clamps infinite metric values to the
  largest double, eventlog deliberately keeps real ``±inf`` (documented choice);
- NaN -> the string ``"nan"`` (NaN is not equal to itself).

Everything else must be identical: values, types where MLflow's are deterministic, error class family
(``MlflowException`` or plain ``Exception`` or the builtin class), error code and message.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any

import pytest

__all__ = ["Ctx", "Scenarios", "outcome_of_exception"]

_RUN_ID = re.compile(r"\b[0-9a-f]{32}\b")
_SET_OF_STRINGS = re.compile(r"\{'[^'{}]*'(?:, '[^'{}]*')+\}")
_RANDOM_NAME = re.compile(r"^[a-z]+-[a-z]+-\d{1,4}$")
_DOUBLE_MAX = sys.float_info.max
_ENV_PREFIXES = ("MLFLOW_", "EVENTLOG_")


def clear_env() -> None:
    """Drop every MLFLOW_*/EVENTLOG_* variable (set_tracking_uri and set_experiment write some)."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES):
            del os.environ[name]


def reset_mlflow() -> None:
    """End MLflow's active runs and forget its active experiment and the variables it set."""
    import mlflow
    import mlflow.tracking.fluent as fluent

    while mlflow.active_run() is not None:
        with contextlib.suppress(Exception):  # e.g. the run's experiment was deleted
            mlflow.end_run()
    fluent._active_experiment_id = None
    fluent._last_active_run_id.set(None)
    clear_env()


def reset_eventlog() -> None:
    """End eventlog's active runs and reset its process state and the variables it set."""
    import eventlog
    from eventlog._reset import reset_process_state

    while eventlog.active_run() is not None:
        with contextlib.suppress(Exception):
            eventlog.end_run()
    reset_process_state()
    clear_env()


def open_library(name: str, uris: dict[str, str]) -> Any:
    """Reset the module's process state and point it at the session store."""
    if name == "mlflow":
        import mlflow

        reset_mlflow()
        os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
        mlflow.set_tracking_uri(uris["mlflow"])
        return mlflow
    import eventlog

    reset_eventlog()
    eventlog.set_tracking_uri(uris["eventlog"])
    return eventlog


def outcome_of_exception(e: BaseException) -> tuple[str, str, str | None, str]:
    """``("raise", family, error_code, message)``; family is MlflowException, Exception or the builtin."""
    if (
        hasattr(e, "error_code")
        and type(e).__name__ != "Exception"
        and any(c.__name__ == "MlflowException" for c in type(e).__mro__)
    ):
        return ("raise", "MlflowException", e.error_code, e.message)  # type: ignore[attr-defined]
    return ("raise", type(e).__name__, None, str(e))


class Ctx:
    """Helpers for one scenario run against one module."""

    def __init__(self, m: Any, prefix: str, reopen: Callable[[], None]) -> None:
        self.m = m
        self.is_eventlog = m.__name__ == "eventlog"
        self.prefix = prefix
        self._reopen = reopen
        self._runs: dict[str, str] = {}
        self._experiments: dict[str, str] = {"0": "0"}

    # -- set-up helpers ---------------------------------------------------------------------------
    def name(self, suffix: str = "exp") -> str:
        """An experiment name unique in the session's store (the same for both modules)."""
        return f"{self.prefix}{suffix}"

    def client(self) -> Any:
        return self.m.MlflowClient()

    def new_experiment(self, suffix: str = "exp", *, activate: bool = True) -> str:
        """Create an experiment for this scenario (isolation in the shared store); make it active."""
        experiment_id = self.m.create_experiment(self.name(suffix))
        self.eid(experiment_id)
        if activate:
            self.m.set_experiment(experiment_id=experiment_id)
        return experiment_id

    def setenv(self, name: str, value: str) -> None:
        os.environ[name] = value  # cleared by the fixture after each module's run

    def new_process(self) -> None:
        """Forget all in-process state, as a second Python process would start (the store stays)."""
        self._reopen()

    # -- placeholders -----------------------------------------------------------------------------
    def rid(self, run_id: str) -> str:
        if run_id not in self._runs:
            self._runs[run_id] = f"<run{len(self._runs) + 1}>"
        return self._runs[run_id]

    def eid(self, experiment_id: str) -> str:
        experiment_id = str(experiment_id)
        if experiment_id not in self._experiments:
            self._experiments[experiment_id] = f"<exp{len(self._experiments)}>"
        return self._experiments[experiment_id]

    def text(self, s: str) -> str:
        """A message with run ids and this scenario's experiment ids replaced by placeholders."""
        s = _RUN_ID.sub(lambda mo: self.rid(mo.group(0)), s)
        # A Python set of strings in a message: its order depends on the string hash seed.
        s = _SET_OF_STRINGS.sub(lambda mo: "{" + ", ".join(sorted(mo.group(0)[1:-1].split(", "))) + "}", s)
        for experiment_id, alias in self._experiments.items():
            if experiment_id == "0":
                continue
            # Only where an id is named as such: id=N, id N, experiment N, ID 'N', `N`.
            s = re.sub(
                rf"(id=|id |[Ee]xperiment |ID |'|`){re.escape(experiment_id)}(?![\w.])",
                lambda mo, a=alias: mo.group(1) + a,
                s,
            )
        return s

    # -- normalisation ------------------------------------------------------------------------------
    def norm(self, value: Any) -> Any:
        """A comparable form of anything a tracking call returns."""
        if value is None or isinstance(value, (bool, int)):
            return value
        if isinstance(value, float):
            return norm_float(value)
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes):
            return value
        if hasattr(value, "info") and hasattr(value, "data"):
            return self.run(value)
        if hasattr(value, "experiment_id") and hasattr(value, "artifact_location"):
            return self.experiment(value)
        if hasattr(value, "timestamp") and hasattr(value, "step") and hasattr(value, "value"):
            return self.metric(value)
        if type(value).__name__ in ("Param", "RunTag", "ExperimentTag"):
            return (type(value).__name__, value.key, self.norm(value.value))
        if isinstance(value, dict):
            return {self.norm(k): self.norm(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.norm(v) for v in value]
        if type(value).__name__ == "RunOperations":
            return "<RunOperations>"
        raise TypeError(f"no normalisation for {type(value)!r}")

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """``("ok", normalised result)`` or ``("raise", family, error_code, normalised message)``."""
        try:
            result = fn(*args, **kwargs)
        except Exception as e:
            kind, family, code, message = outcome_of_exception(e)
            return (kind, family, code, self.text(message))
        return ("ok", self.norm(result))

    def run(self, run: Any) -> dict[str, Any]:
        info = run.info
        run_id = info.run_id
        alias = self.rid(run_id)
        # Git tags depend on where the test runner's main file lives; they are compared on their own
        # in test_tags.py (system_tags_of_a_fluent_run), not in every run.
        tags = {
            k: self._tag_value(k, v)
            for k, v in run.data.tags.items()
            if not k.startswith("mlflow.source.git.")
        }
        return {
            "info": {
                "run_id": alias,
                "experiment_id": self.eid(info.experiment_id),
                "run_name": self._run_name(info.run_name),
                "user_id": info.user_id,
                "status": info.status,
                "lifecycle_stage": info.lifecycle_stage,
                "start_time": _time(info.start_time),
                "end_time": _time(info.end_time),
                # Artifact URI formats differ by design; the run's own tail must match.
                "artifact_uri_tail": (info.artifact_uri or "").endswith(f"/{run_id}/artifacts"),
            },
            "data": {
                "params": dict(run.data.params),
                "metrics": {k: norm_float(v) for k, v in run.data.metrics.items()},
                "tags": tags,
            },
        }

    def _run_name(self, name: str | None) -> str | None:
        if name is not None and _RANDOM_NAME.match(name):
            return "<random-name>"
        return name

    def _tag_value(self, key: str, value: Any) -> Any:
        if key == "mlflow.runName" and isinstance(value, str):
            return self._run_name(value)
        if not isinstance(value, str):
            return ("not a str", repr(value))
        return self.text(value)

    def experiment(self, experiment: Any) -> dict[str, Any]:
        return {
            "experiment_id": self.eid(experiment.experiment_id),
            "name": experiment.name,
            # Artifact location formats differ by design (documented); only presence is compared.
            "artifact_location": bool(experiment.artifact_location),
            "lifecycle_stage": experiment.lifecycle_stage,
            "tags": dict(experiment.tags),
            "creation_time": _time(experiment.creation_time),
            "last_update_time": _time(experiment.last_update_time),
        }

    def metric(self, metric: Any, *, timestamp: bool = True) -> tuple[Any, ...]:
        ts = metric.timestamp if timestamp else _time(metric.timestamp)
        return (metric.key, norm_float(metric.value), metric.step, ts)

    def history(self, run_id: str, key: str) -> list[tuple[Any, ...]]:
        return [self.metric(x) for x in self.client().get_metric_history(run_id, key)]


def norm_float(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        # MLflow's sqlite store returns ±inf as ±DBL_MAX; eventlog keeps ±inf (documented difference).
        if value == _DOUBLE_MAX:
            return math.inf
        if value == -_DOUBLE_MAX:
            return -math.inf
    return value


def _time(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return "<time>"
    return f"<bad time {value!r}>"


class Scenarios:
    """A module's scenarios, collected by decorator and turned into one parametrised test."""

    def __init__(self) -> None:
        self._params: list[Any] = []

    def __call__(self, fn: Callable[..., Any] | None = None, *, xfail: str | None = None) -> Any:
        def add(f: Callable[..., Any]) -> Callable[..., Any]:
            marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
            self._params.append(pytest.param(f, id=f.__name__, marks=marks))
            return f

        return add(fn) if fn is not None else add

    def __len__(self) -> int:
        return len(self._params)

    def parametrize(self, test: Callable[..., Any]) -> Callable[..., Any]:
        return pytest.mark.mlflow(pytest.mark.parametrize("case", self._params)(test))


def each(ctx: Ctx, fn: Callable[..., Any], inputs: Iterable[Any]) -> list[Any]:
    """``[(input, ctx.call(fn, input)) ...]``."""
    return [(repr(x), ctx.call(fn, x)) for x in inputs]
