"""The fluent API: module-level functions over an active-run stack, as ``mlflow`` offers them.

The only process state is what MLflow has: the active experiment id (process-wide) and, per thread, the
stack of active runs and the id of the last run ended. Every function takes one road, as MLflow's do (and as
httpx's ``_api`` does with its ``Client``): it finds its run (the active run, started if none is) and calls an
``MlflowClient``; only the client reaches the store. Most calls use a client of the current tracking URI;
``end_run`` and the artifact functions use the client of the store the active run started in
(``ActiveRun._client``).

One exception: ``log_metric`` and ``log_metrics`` of the active run append to its ``MetricSink`` directly,
the hot path of the package (see ``log_metric`` and ``eventlog._sink``).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
from copy import deepcopy
from time import time_ns
from typing import TYPE_CHECKING, Any

from eventlog import _context, _validation
from eventlog._client import MlflowClient, RunOperations
from eventlog._registry import all_stores
from eventlog._writer import flush_all_writers, now_ms
from eventlog.entities import Experiment, LifecycleStage, Param, Run, RunStatus, RunTag, ViewType
from eventlog.exceptions import InvalidParameterValue, MlflowException

if TYPE_CHECKING:
    from eventlog._runs import RunHandle
    from eventlog._sink import MetricSink
    from eventlog._store import TrackingStore

__all__ = [
    "ActiveRun",
    "active_run",
    "create_experiment",
    "delete_experiment",
    "delete_experiment_tag",
    "delete_run",
    "delete_tag",
    "end_run",
    "flush",
    "flush_async_logging",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_run",
    "last_active_run",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "restore_experiment",
    "restore_run",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "start_run",
]

_log = logging.getLogger("eventlog")

PARENT_RUN_ID_TAG = "mlflow.parentRunId"
NOTE_TAG = "mlflow.note.content"

_active_experiment_id: str | None = None


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.stack: list[ActiveRun] = []
        self.last_run_id: str | None = None


_state = _ThreadState()


class ActiveRun(Run):
    """The run on top of the stack; a context manager that ends it FINISHED, or FAILED on an exception.

    Like MLflow's, its ``data`` is the snapshot taken when the run started; call ``get_run`` for fresh data.
    """

    def __init__(self, run: Run, handle: RunHandle, client: MlflowClient) -> None:
        super().__init__(run.info, run.data, run.inputs, run.outputs)
        self._handle = handle
        self._client = client  # a client of the store the run started in
        # The log_metric hot path's buffer: this thread's fluent points of this run (closed by end_run).
        self._sink: MetricSink = handle.open_sink()

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        if any(r.info.run_id == self.info.run_id for r in _state.stack):
            status = RunStatus.FINISHED if exc_type is None else RunStatus.FAILED
            end_run(RunStatus.to_string(status))
        return exc_type is None


def _store() -> TrackingStore:
    """The current tracking store, for tests and tools; the fluent functions reach it through MlflowClient."""
    return MlflowClient()._store


# -- experiments ------------------------------------------------------------------------------------
def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment active, creating it by name if it does not exist."""
    global _active_experiment_id
    if (experiment_name is not None and experiment_id is not None) or (
        experiment_name is None and experiment_id is None
    ):
        raise InvalidParameterValue("Must specify exactly one of: `experiment_id` or `experiment_name`.")
    client = MlflowClient()
    if experiment_id is not None:
        experiment = client.get_experiment(str(experiment_id))
    else:
        assert experiment_name is not None  # narrowed by the check above
        experiment = _get_or_create_experiment(client, experiment_name)
    if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
        raise InvalidParameterValue(
            f"Cannot set a deleted experiment '{experiment.name}' as the active experiment. You can "
            "restore the experiment, or permanently delete the experiment to create a new one."
        )
    _active_experiment_id = experiment.experiment_id
    os.environ["MLFLOW_EXPERIMENT_ID"] = experiment.experiment_id
    return experiment


def _get_or_create_experiment(client: MlflowClient, name: str) -> Experiment:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment
    _log.info("Experiment with name '%s' does not exist. Creating a new experiment.", name)
    try:
        experiment_id = client.create_experiment(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        # Another process created it between our look-up and our claim: use theirs.
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found
    return client.get_experiment(experiment_id)


def _get_experiment_id() -> str:
    if _active_experiment_id:
        return _active_experiment_id
    client = MlflowClient()
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME")
    env_id = os.environ.get("MLFLOW_EXPERIMENT_ID")
    if name:
        experiment = _get_or_create_experiment(client, name)
        if env_id and env_id != experiment.experiment_id:
            raise InvalidParameterValue(
                f"The provided MLFLOW_EXPERIMENT_ID environment variable value `{env_id}` does not match "
                f"the experiment id `{experiment.experiment_id}` for experiment name `{name}`"
            )
        return experiment.experiment_id
    if env_id:
        try:
            return client.get_experiment(env_id).experiment_id
        except MlflowException:
            raise InvalidParameterValue(
                f"The provided MLFLOW_EXPERIMENT_ID environment variable value `{env_id}` does not exist "
                "in the tracking server. Provide a valid experiment_id."
            ) from None
    return "0"


def create_experiment(
    name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
) -> str:
    return MlflowClient().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    return MlflowClient().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return MlflowClient().get_experiment_by_name(name)


def delete_experiment(experiment_id: str) -> None:
    MlflowClient().delete_experiment(experiment_id)


def restore_experiment(experiment_id: str) -> None:
    MlflowClient().restore_experiment(experiment_id)


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[Experiment]:
    return list(MlflowClient().search_experiments(view_type, max_results, filter_string, order_by))


def set_experiment_tag(key: str, value: Any) -> None:
    client = MlflowClient()
    client.set_experiment_tag(_get_experiment_id(), key, value)


def set_experiment_tags(tags: dict[str, Any]) -> None:
    for key, value in tags.items():
        set_experiment_tag(key, value)


def delete_experiment_tag(key: str) -> None:
    client = MlflowClient()
    client.delete_experiment_tag(_get_experiment_id(), key)


# -- runs ---------------------------------------------------------------------------------------------
def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a new run, or resume ``run_id``, and make it the active run."""
    stack = _state.stack
    if (experiment_id is not None and not isinstance(experiment_id, (str, int))) or isinstance(
        experiment_id, bool
    ):
        raise InvalidParameterValue(
            f"Invalid experiment id: {experiment_id} of type {type(experiment_id)}. "
            "Must be one of str, int, or None."
        )
    experiment_id = str(experiment_id) if isinstance(experiment_id, int) else experiment_id
    if stack and not nested:
        raise Exception(
            f"Run with UUID {stack[0].info.run_id} is already active. To start a new run, first end the "
            "current run with mlflow.end_run(). To start a nested run, call start_run with nested=True"
        )
    client = MlflowClient()
    existing_run_id = run_id or os.environ.pop("MLFLOW_RUN_ID", None) or None
    if existing_run_id:
        run = _resume_run(client, existing_run_id, run_name, tags, description)
    else:
        run = _new_run(client, stack, experiment_id, run_name, parent_run_id, tags, description)
    active = ActiveRun(run, client._run_handle(run.info.run_id), client)
    stack.append(active)
    return active


def _resume_run(
    client: MlflowClient,
    run_id: str,
    run_name: str | None,
    tags: dict[str, Any] | None,
    description: str | None,
) -> Run:
    _validation.validate_run_id(run_id)
    run = client.get_run(run_id)
    if _active_experiment_id is not None and _active_experiment_id != run.info.experiment_id:
        raise MlflowException(
            f"Cannot start run with ID {run_id} because active experiment ID does not match environment "
            "run ID. Make sure --experiment-name or --experiment-id matches experiment set with "
            "set_experiment(), or just use command-line arguments"
        )
    if run.info.lifecycle_stage == LifecycleStage.DELETED:
        raise MlflowException(f"Cannot start run with ID {run_id} because it is in the deleted state.")
    client.update_run(run_id, RunStatus.to_string(RunStatus.RUNNING), run_name)
    tags = dict(tags or {})
    if description:
        _check_note(tags)
        tags[NOTE_TAG] = description
    if tags:
        client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])
    return client.get_run(run_id)


def _check_note(tags: dict[str, Any]) -> None:
    if NOTE_TAG in tags:
        raise InvalidParameterValue(
            f"Description is already set via the tag {NOTE_TAG} in tags."
            f"Remove the key {NOTE_TAG} from the tags or omit the description."
        )


def _new_run(
    client: MlflowClient,
    stack: list[ActiveRun],
    experiment_id: str | None,
    run_name: str | None,
    parent_run_id: str | None,
    tags: dict[str, Any] | None,
    description: str | None,
) -> Run:
    if parent_run_id:
        _validation.validate_run_id(parent_run_id)
        if stack and parent_run_id != stack[-1].info.run_id:
            current = stack[-1].info.run_id
            raise MlflowException(
                f"Current run with UUID {current} does not match the specified parent_run_id "
                f"{parent_run_id}. To start a new nested run under the parent run with UUID {current}, "
                "first end the current run with mlflow.end_run()."
            )
        parent = client.get_run(parent_run_id)
        if parent.info.lifecycle_stage == LifecycleStage.DELETED:
            raise MlflowException(
                f"Cannot start run under parent run with ID {parent_run_id} "
                "because it is in the deleted state."
            )
    else:
        parent_run_id = stack[-1].info.run_id if stack else None
    target_experiment = experiment_id if experiment_id is not None else _get_experiment_id()
    user_tags = deepcopy(tags) or {}
    if description:
        _check_note(user_tags)
        user_tags[NOTE_TAG] = description
    if parent_run_id is not None:
        user_tags[PARENT_RUN_ID_TAG] = parent_run_id
    if run_name:
        user_tags["mlflow.runName"] = run_name
    resolved = _context.resolve_context_tags({k: str(v) for k, v in user_tags.items()})
    return client.create_run(experiment_id=target_experiment, tags=resolved, run_name=run_name)


def end_run(status: str = "FINISHED") -> None:
    """End the innermost active run (a no-op when none is active)."""
    stack = _state.stack
    if not stack:
        return
    os.environ.pop("MLFLOW_RUN_ID", None)
    run = stack.pop()
    _state.last_run_id = run.info.run_id
    run._handle.close_sink(run._sink)  # its points join the writer's buffer, flushed by set_terminated
    RunStatus.from_string(status)  # before set_terminated, which takes "" for FINISHED
    run._client.set_terminated(run.info.run_id, status)


def active_run() -> ActiveRun | None:
    stack = _state.stack
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    current = active_run()
    if current is not None:
        return current
    if _state.last_run_id is None:
        return None
    return get_run(_state.last_run_id)


def get_run(run_id: str) -> Run:
    return MlflowClient().get_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    return MlflowClient().get_parent_run(run_id)


def delete_run(run_id: str) -> None:
    MlflowClient().delete_run(run_id)


def restore_run(run_id: str) -> None:
    MlflowClient().restore_run(run_id)


def _handle(run_id: str | None) -> RunHandle:
    """The handle of ``run_id`` (in the current store), or of the active run, starting one if none is
    active (as MLflow does)."""
    if run_id is not None:
        return MlflowClient()._run_handle(run_id)
    stack = _state.stack
    if stack:
        return stack[-1]._handle
    return start_run()._handle


def _run_id(run_id: str | None = None) -> str:
    """``run_id`` (it must exist in the current store), or the active run's id, starting a run if none is
    active."""
    return _handle(run_id).run_id


# -- logging ------------------------------------------------------------------------------------------
def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> RunOperations | None:
    # The hot path of the package: a training loop calls this per step. With an active run, a float
    # value, an int step (or none), no timestamp and no synchronous, the point goes straight into the
    # run's sink for this thread: no client, no store, no run lookup, no validation (its key passed when
    # the sink first met it), no lock, one raw clock reading, four appends in the order eventlog._sink's
    # protocol requires (step first, timestamp last). Everything else takes a checked path with MLflow's
    # conversions, rules and messages. `python -m bench --only core` measures it against a no-op call.
    stack = _state.stack
    if stack and run_id is None:
        sink = stack[-1]._sink
        step = step or 0  # as MLflow: None (and 0, False) means step 0
        if type(value) is float and type(step) is int and timestamp is None and synchronous is None:
            slot = sink.keys.get(key)
            if slot is not None:
                try:
                    sink.step.append(step)
                except OverflowError:
                    pass  # a step past int64: the checked path says so (nothing was appended)
                else:
                    sink.key.append(slot)
                    sink.value.append(value)
                    sink.timestamp.append(time_ns())
                    if len(sink.timestamp) >= sink.limit:
                        sink.full()
                    return None
        sink.log_metric(key, value, timestamp, step)
        handle = sink.handle
    else:
        handle = _handle(run_id)
        if run_id is None:  # no active run: start_run made one
            sink = _state.stack[-1]._sink
            sink.log_metric(key, value, timestamp, step or 0)
        else:
            handle.log_metric(key, value, timestamp or now_ms(), step or 0)
    if synchronous is None and not handle.async_default:
        return None
    return MlflowClient()._operations(synchronous)


def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> RunOperations | None:
    # The active run's points go to its sink, as log_metric's (see there), checked as one batch.
    handle = _handle(run_id)
    if run_id is None:
        _state.stack[-1]._sink.log_metrics(metrics, timestamp, step or 0)
    else:
        handle.log_metrics(metrics, timestamp or now_ms(), step or 0)
    if synchronous is None and not handle.async_default:
        return None
    return MlflowClient()._operations(synchronous)


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    run_id = _run_id()
    return MlflowClient().log_param(run_id, key, value, synchronous)


def log_params(
    params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> RunOperations | None:
    run_id = _run_id(run_id)
    # Values are str()-ed, keys are not (as in MLflow): a None key is an error, not a param named "None".
    return MlflowClient().log_batch(
        run_id, params=[Param(k, str(v)) for k, v in params.items()], synchronous=synchronous
    )


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> RunOperations | None:
    run_id = _run_id()
    return MlflowClient().set_tag(run_id, key, value, synchronous)


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> RunOperations | None:
    run_id = _run_id()
    return MlflowClient().log_batch(
        run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()], synchronous=synchronous
    )


def delete_tag(key: str) -> None:
    run_id = _run_id()
    MlflowClient().delete_tag(run_id, key)


SEARCH_MAX_RESULTS_PANDAS = 100000
NUM_RUNS_PER_PAGE_PANDAS = 10000


def search_runs(
    experiment_ids: list[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = SEARCH_MAX_RESULTS_PANDAS,
    order_by: list[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: list[str] | None = None,
) -> Any:
    """Search runs; a pandas DataFrame by default, ``output_format="list"`` for Run objects, and
    ``"polars"`` for a Polars DataFrame with the pandas frame's columns."""
    if output_format not in ("pandas", "list", "polars"):
        raise ValueError(
            f"Unsupported output format: {output_format}. Supported string values are 'pandas' or 'list'"
        )
    if experiment_ids and experiment_names:
        raise InvalidParameterValue("Only experiment_ids or experiment_names can be used, but not both")
    client = MlflowClient()
    if experiment_names:
        ids = []
        for name in experiment_names:
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                _log.warning("Cannot retrieve experiment by name %s", name)
            else:
                ids.append(experiment.experiment_id)
    elif experiment_ids:
        ids = [
            str(e) for e in ([experiment_ids] if isinstance(experiment_ids, (str, int)) else experiment_ids)
        ]
    elif search_all_experiments:
        ids = [e.experiment_id for e in client.search_experiments(ViewType.ACTIVE_ONLY, max_results=None)]
    else:
        ids = [_get_experiment_id()]
    runs: list[Run] = []
    if ids:
        token = None
        limit = max_results if max_results is not None else float("inf")  # None: every run, as MLflow
        while len(runs) < limit:
            page = client.search_runs(
                ids,
                filter_string,
                run_view_type,
                int(min(NUM_RUNS_PER_PAGE_PANDAS, limit - len(runs))),
                order_by,
                token,
            )
            runs.extend(page)
            token = page.token
            if not token:
                break
    from eventlog._run_search import runs_to_pandas, runs_to_polars

    if output_format == "list":
        return runs
    return runs_to_pandas(runs) if output_format == "pandas" else runs_to_polars(runs)


def flush() -> None:
    """Make everything logged so far durable, in every store this process has written to."""
    for store in all_stores():
        MlflowClient._of_store(store).flush()


def flush_async_logging() -> None:
    flush()


def _safe_end_run() -> None:
    with contextlib.suppress(Exception):
        end_run()
    with contextlib.suppress(Exception):
        flush_all_writers()


def _forget_runs_in_child() -> None:
    # As in MLflow, a forked child starts with no active run: its exit must not end its parent's run.
    _state.stack = []
    _state.last_run_id = None


atexit.register(_safe_end_run)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_runs_in_child)
