"""``MlflowClient``: MLflow's lower-level tracking API, with its names, signatures and defaults.

It is the one road from the API to the store: the fluent functions (``eventlog._fluent``,
``eventlog._artifacts._fluent``) call it, and it does not import them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from eventlog._artifacts import ArtifactClientMixin
from eventlog._registry import get_store
from eventlog._store import TrackingStore
from eventlog._validation import PARAM_VALIDATION_MSG
from eventlog._validation import validate_run_id as _validate_run_id
from eventlog._writer import now_ms
from eventlog.entities import Experiment, Metric, PagedList, Param, Run, RunStatus, RunTag, ViewType
from eventlog.exceptions import InvalidParameterValue, MlflowException

if TYPE_CHECKING:
    from eventlog._runs import RunHandle

__all__ = ["MlflowClient", "RunOperations"]

SEARCH_MAX_RESULTS_DEFAULT = 1000


class RunOperations:
    """What an asynchronous logging call returns (``synchronous=False``): ``wait()`` makes it durable."""

    def __init__(self, store: TrackingStore | None = None) -> None:
        self._store = store

    def wait(self) -> None:
        if self._store is not None:
            self._store.flush()


def _async_result(store: TrackingStore, synchronous: bool | None) -> RunOperations | None:
    """MLflow returns RunOperations for asynchronous calls; a synchronous call is durable on return."""
    if synchronous is None:
        # Buffered either way (flushed on the timer, at end_run, at exit and before reads); MLflow's
        # MLFLOW_ENABLE_ASYNC_LOGGING only decides whether the caller gets a RunOperations to wait on.
        return RunOperations(store) if store.async_default else None
    if synchronous:
        store.flush()
        return None
    return RunOperations(store)


_MAX_PARAMS_TAGS_PER_BATCH = 100
_MAX_ENTITIES_PER_BATCH = 1000


def _chunks(
    metrics: list[Metric], params: list[Param], tags: list[RunTag]
) -> list[tuple[list[Metric], list[Param], list[RunTag]]]:
    chunks = []
    step = _MAX_PARAMS_TAGS_PER_BATCH
    for start in range(0, max(len(params), len(tags)), step):
        chunk_params, chunk_tags = params[start : start + step], tags[start : start + step]
        room = _MAX_ENTITIES_PER_BATCH - len(chunk_params) - len(chunk_tags)
        chunks.append((metrics[:room], chunk_params, chunk_tags))
        metrics = metrics[room:]
    for start in range(0, len(metrics), _MAX_ENTITIES_PER_BATCH):
        chunks.append((metrics[start : start + _MAX_ENTITIES_PER_BATCH], [], []))
    return chunks


class MlflowClient(ArtifactClientMixin):
    """A client of one store. ``tracking_uri`` defaults to the current tracking URI."""

    def __init__(
        self,
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
        *,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        self._store = get_store(tracking_uri, storage_options)
        self._store.ready()
        self._tracking_uri = tracking_uri if tracking_uri is not None else self._store.location.uri
        self._registry_uri = registry_uri

    @classmethod
    def _of_store(cls, store: TrackingStore) -> MlflowClient:
        """A client of ``store`` itself, whatever the tracking URI is (the fluent ``flush`` flushes every
        store of the process through one)."""
        client = cls.__new__(cls)
        client._store = store
        client._tracking_uri = store.location.uri
        client._registry_uri = None
        return client

    @property
    def tracking_uri(self) -> str:
        return self._tracking_uri

    # -- for the fluent API (eventlog-only, private) --------------------------------------------------
    def _run_handle(self, run_id: str) -> RunHandle:
        """The run's handle (the run must exist): the fluent log_metric hot path logs through it."""
        return self._store.handle(run_id)

    def _operations(self, synchronous: bool | None) -> RunOperations | None:
        """What a logging call returns for ``synchronous`` (see ``_async_result``)."""
        return _async_result(self._store, synchronous)

    # -- experiments --------------------------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        return self._store.create_experiment(name, artifact_location, tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._store.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self._store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | bytes | None = None,
    ) -> PagedList[Experiment]:
        from eventlog._experiment_search import search_experiments

        return search_experiments(
            self._store.list_experiments(ViewType.ALL),
            view_type,
            max_results,
            filter_string,
            order_by,
            page_token,
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._store.rename_experiment(experiment_id, new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        self._store.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        self._store.restore_experiment(experiment_id)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self._store.set_experiment_tag(experiment_id, key, value)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._store.delete_experiment_tag(experiment_id, key)

    # -- runs ---------------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        tag_list = [RunTag(str(k), str(v)) for k, v in (tags or {}).items()]
        return self._store.create_run(
            experiment_id=str(experiment_id),
            user_id=None,
            start_time=start_time,
            tags=tag_list,
            run_name=run_name,
        )

    def get_run(self, run_id: str) -> Run:
        return self._store.get_run(run_id)

    def get_parent_run(self, run_id: str) -> Run | None:
        parent_id = self.get_run(run_id).data.tags.get("mlflow.parentRunId")
        return self.get_run(parent_id) if parent_id is not None else None

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        _validate_run_id(run_id)  # MLflow checks the id here (set_terminated just finds no such run)
        if status is None and name is None:
            return
        if status is not None:
            RunStatus.from_string(status)  # unknown names raise, as in MLflow
        self._store.update_run_info(run_id, status, None, name)

    def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> None:
        status = status or RunStatus.to_string(RunStatus.FINISHED)
        RunStatus.from_string(status)
        self._store.update_run_info(run_id, status, end_time if end_time is not None else now_ms(), None)

    def delete_run(self, run_id: str) -> None:
        self._store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self._store.restore_run(run_id)

    # -- logging ------------------------------------------------------------------------------------
    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        try:
            self._store.log_batch(run_id, [], [Param(key, str(value))], [], single_param=True)
        except MlflowException as exc:
            if exc.error_code == "INVALID_PARAMETER_VALUE":
                raise InvalidParameterValue(exc.message + PARAM_VALIDATION_MSG) from None
            raise
        result = _async_result(self._store, synchronous)
        return value if result is None else result

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: Any,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        model_id: str | None = None,
    ) -> RunOperations | None:
        handle = self._store.handle(run_id)
        handle.log_metric(key, value, timestamp if timestamp is not None else now_ms(), step or 0)
        return _async_result(self._store, synchronous)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> RunOperations | None:
        if not metrics and not params and not tags:
            return None
        # MLflow's client sends a batch in chunks (params and tags 100 at a time, with metrics filling
        # each request up to 1000 entries, then metrics 1000 at a time), each chunk applied on its own.
        for chunk_metrics, chunk_params, chunk_tags in _chunks(list(metrics), list(params), list(tags)):
            self._store.log_batch(run_id, chunk_metrics, chunk_params, chunk_tags)
        return _async_result(self._store, synchronous)

    def set_tag(
        self, run_id: str, key: str, value: Any, synchronous: bool | None = None
    ) -> RunOperations | None:
        self._store.set_tag(run_id, key, value)
        return _async_result(self._store, synchronous)

    def delete_tag(self, run_id: str, key: str) -> None:
        self._store.delete_tag(run_id, key)

    def search_runs(
        self,
        experiment_ids: list[str] | str | int,
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: list[str] | None = None,
        page_token: str | bytes | None = None,
    ) -> PagedList[Run]:
        """MLflow's filter grammar, plus OR, parentheses, and IN / NOT IN for params, tags and string
        attributes. Pages are offsets into the ordered result, as in MLflow."""
        ids = [experiment_ids] if isinstance(experiment_ids, (str, int)) else list(experiment_ids)
        return self._store.search_runs(
            [str(e) for e in ids], filter_string, run_view_type, max_results, order_by, page_token
        )

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return PagedList(self._store.get_metric_history(run_id, key), None)

    def flush(self) -> None:
        """Make every buffered event of this store durable (an eventlog addition)."""
        self._store.flush()
