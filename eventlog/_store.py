"""The tracking store: MLflow's store operations on an event log.

Writes become events (buffered by the writer, or published at once where MLflow callers expect the
effect to be visible to other processes: experiments, run termination — unless
EVENTLOG_DURABILITY=interval). Creating a run writes nothing: it goes out with the next flush. Reads
flush this process's buffer, then fold the segments with ``views`` (read your writes).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from eventlog import _config, _validation
from eventlog._autocompact import AutoCompactor
from eventlog._catalog import ExperimentCatalog
from eventlog._config import WriterSettings
from eventlog._events import Event, RunCreated, RunDeleted, RunRestored, RunTagSet, RunUpdated
from eventlog._names import generate_run_name
from eventlog._runs import RunHandle, coerce_step
from eventlog._writer import Writer, now_ms
from eventlog.entities import (
    Experiment,
    LifecycleStage,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
    RunTag,
    ViewType,
)
from eventlog.exceptions import (
    BackgroundFlushError,
    InvalidParameterValue,
    MlflowException,
    ResourceDoesNotExist,
    StoreError,
)
from eventlog.storage import Location, NotAnEventlogStoreError, ensure_store

if TYPE_CHECKING:
    from eventlog.entities import PagedList
    from eventlog.views import RunTables

_log = logging.getLogger(__name__)

__all__ = ["RUN_NAME_TAG", "TrackingStore"]

RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"


class TrackingStore:
    """One store (a root URI) as seen from this process; shared by every client of that URI."""

    def __init__(self, location: Location, settings: WriterSettings) -> None:
        from eventlog.views import SegmentCache

        self.location = location
        self.writer = Writer(location, flush_interval=settings.flush_interval, flush_rows=settings.flush_rows)
        # end_run durable when it returns (the default), or handed to the background flusher ("interval").
        self.durable_lifecycle = settings.durability == "end_run"
        self.auto_compactor = AutoCompactor(
            location, enabled=settings.auto_compact, segments=settings.auto_compact_segments
        )
        if self.auto_compactor.enabled:
            atexit.register(_compact_at_exit, weakref.ref(self))
        self.cache = SegmentCache()
        self.catalog = ExperimentCatalog(
            location, self.writer, self.cache, _config.default_artifact_root(location)
        )
        self._ready = False
        self._ready_lock = threading.Lock()
        self._handles: dict[str, RunHandle] = {}
        self._handles_lock = threading.Lock()
        self._just_loaded: tuple[str, RunTables] | None = None
        # MLFLOW_ENABLE_ASYNC_LOGGING: logging calls return RunOperations (read when the store is built).
        self.async_default = os.environ.get("MLFLOW_ENABLE_ASYNC_LOGGING", "").lower() in ("true", "1")

    # -- plumbing ---------------------------------------------------------------------------------
    def ready(self) -> TrackingStore:
        """Check the location is an eventlog store (creating it if empty) and that Default exists."""
        if self._ready:
            self.raise_background_error()
            return self
        with self._ready_lock:
            if not self._ready:
                try:
                    ensure_store(self.location)
                except NotAnEventlogStoreError as exc:
                    raise MlflowException(str(exc), "INVALID_PARAMETER_VALUE") from exc
                self.catalog.ensure_default()
                self._ready = True
        return self

    def raise_background_error(self) -> None:
        error = self.writer.take_error()
        if error is not None:
            raise BackgroundFlushError.from_cause(error)

    def flush(self) -> None:
        self.raise_background_error()
        try:
            self.writer.flush()
        except MlflowException:
            raise
        except OSError as exc:
            raise StoreError(
                f"Could not write to {self.location.uri}: {exc}. The events are kept in "
                "memory and retried on the next flush."
            ) from exc

    # -- experiments --------------------------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> str:
        self.ready()
        return self.catalog.create(name, artifact_location, tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        experiment_id = _validation.validate_experiment_id(experiment_id)
        self.ready()
        return self.catalog.get(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        self.ready()
        return self.catalog.get_by_name(name)

    def list_experiments(self, view_type: int) -> list[Experiment]:
        self.ready()
        return self.catalog.search(view_type)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.ready()
        self.catalog.rename(_validation.validate_experiment_id(experiment_id), new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        experiment_id = _validation.validate_experiment_id(experiment_id)
        self.ready()
        self.catalog.delete(experiment_id)
        with self._handles_lock:
            for handle in self._handles.values():
                if handle.experiment_id == experiment_id:
                    handle.deleted = True

    def restore_experiment(self, experiment_id: str) -> None:
        experiment_id = _validation.validate_experiment_id(experiment_id)
        self.ready()
        self.catalog.restore(experiment_id)
        with self._handles_lock:
            for handle in self._handles.values():
                if handle.experiment_id == experiment_id:
                    handle.deleted = False

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self.ready()
        self.catalog.set_tag(_validation.validate_experiment_id(experiment_id), key, str(value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.ready()
        self.catalog.delete_tag(_validation.validate_experiment_id(experiment_id), key)

    # -- runs: creation and lifecycle -------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        user_id: str | None,
        start_time: int | None,
        tags: Sequence[RunTag],
        run_name: str | None,
    ) -> Run:
        experiment_id = _validation.validate_experiment_id(experiment_id)
        self.ready()
        experiment = self.catalog.find_recent(experiment_id)
        if experiment is None:
            raise ResourceDoesNotExist(f"No Experiment with id={experiment_id} exists")
        if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
            raise InvalidParameterValue(
                f"The experiment {experiment_id} must be in the 'active' state. "
                f"Current state is {experiment.lifecycle_stage}."
            )
        tag_values = {tag.key: tag.value for tag in tags}
        name_tag = tag_values.get(RUN_NAME_TAG)
        if run_name and name_tag and run_name != name_tag:
            raise InvalidParameterValue(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different "
                f"values (run_name='{run_name}', mlflow.runName='{name_tag}')."
            )
        run_name = run_name or name_tag or generate_run_name()
        tag_values[RUN_NAME_TAG] = run_name
        checked_tags = [
            (key, _validation.validate_tag(key, str(value), path_prefix=f"tags[{i}]"))
            for i, (key, value) in enumerate(tag_values.items())
        ]
        user = user_id if user_id is not None else tag_values.get(USER_TAG, "unknown")
        start = start_time if start_time is not None else now_ms()
        from eventlog.views import layout

        run_id = layout.located_run_id(experiment_id)  # names its partition: no run-index entry
        artifact_uri = f"{experiment.artifact_location.rstrip('/')}/{run_id}/artifacts"

        # Nothing is written here: the run's creation events go out with the next flush — at the latest
        # on the timer, at end_run, or before a read — so a short run costs one durable file. Its id says
        # which partition holds it, so there is no run-index entry to write.
        self._register(run_id, experiment_id, deleted=False, params={})
        events: list[Event] = [RunCreated(experiment_id, run_id, run_name, user, start, artifact_uri)]
        events.extend(RunTagSet(experiment_id, run_id, k, v) for k, v in checked_tags)
        self.writer.append(events)
        info = RunInfo(
            run_id=run_id,
            experiment_id=experiment_id,
            user_id=user,
            status=RunStatus.to_string(RunStatus.RUNNING),
            start_time=start,
            end_time=None,
            lifecycle_stage=LifecycleStage.ACTIVE,
            artifact_uri=artifact_uri,
            run_name=run_name,
        )
        return Run(info, RunData(tags=[RunTag(k, v) for k, v in checked_tags]), RunInputs(), RunOutputs())

    def update_run_info(
        self, run_id: str, status: str | None, end_time: int | None, run_name: str | None
    ) -> None:
        handle = self.handle(run_id)
        handle.check_writable()
        events: list[Event] = [RunUpdated(handle.experiment_id, run_id, status, end_time, run_name or None)]
        if run_name:
            events.append(RunTagSet(handle.experiment_id, run_id, RUN_NAME_TAG, run_name))
        self.writer.append(events)
        if self.durable_lifecycle:
            self.flush()
        else:
            self.raise_background_error()
        self.auto_compactor.after_write(handle.experiment_id)

    def delete_run(self, run_id: str) -> None:
        handle = self.handle(run_id)
        self.writer.append([RunDeleted(handle.experiment_id, run_id)])
        handle.deleted = True
        self.flush()

    def restore_run(self, run_id: str) -> None:
        handle = self.handle(run_id)
        self.writer.append([RunRestored(handle.experiment_id, run_id)])
        handle.deleted = False
        self.flush()

    # -- runs: logging ----------------------------------------------------------------------------
    def handle(self, run_id: str) -> RunHandle:
        """The run's handle, loading what this process needs to know about it on first use."""
        handle = self._handles.get(run_id)
        if handle is not None:
            return handle
        if not isinstance(run_id, str) or not _validation.is_valid_run_id(run_id):
            # MLflow validates run ids only in some calls (get_run, log_batch, update_run, start_run);
            # the others simply find no such run. An id that fails the check never reaches a path.
            raise ResourceDoesNotExist(f"Run with id={run_id} not found")
        self.ready()
        for experiment_id in self._partitions_to_look_in(run_id):
            tables = self._run_tables(experiment_id, run_id)
            if tables.runs.height:
                break
        else:
            raise ResourceDoesNotExist(f"Run with id={run_id} not found")
        deleted = tables.runs.get_column("lifecycle_stage")[0] == LifecycleStage.DELETED
        handle = self._register(run_id, experiment_id, deleted=deleted, params=_params_of(tables))
        # A get_run that just loaded the run answers from these tables (nothing was buffered for it).
        self._just_loaded = (run_id, tables)
        return handle

    def _partitions_to_look_in(self, run_id: str) -> Iterator[str]:
        """The partitions that may hold ``run_id``, most likely first, each once: the one a located run
        id names, then the run index's entry (runs with foreign ids: imported, synced), then every other
        partition — the partitions are the authority, the id and the index are hints."""
        from eventlog.views import layout, list_run_index

        tried: set[str] = set()

        def fresh(candidates: Iterable[str]) -> Iterator[str]:
            for experiment_id in candidates:
                if experiment_id not in tried:
                    tried.add(experiment_id)
                    yield experiment_id

        located = layout.run_location(run_id)
        if located is not None:
            kind, hint = located
            if kind == "id":  # else a CRC of the id, matched among the store's experiments
                yield from fresh([str(hint)])
            else:
                yield from fresh(
                    e.experiment_id
                    for e in self.catalog.search(ViewType.ALL)
                    if layout.experiment_crc(e.experiment_id) == hint
                )
        indexed = list_run_index(self.location, run_id)
        if indexed is not None:
            yield from fresh([indexed])
        yield from fresh(e.experiment_id for e in self.catalog.search(ViewType.ALL))

    def _register(
        self, run_id: str, experiment_id: str, *, deleted: bool, params: dict[str, str] | None
    ) -> RunHandle:
        with self._handles_lock:
            handle = self._handles.get(run_id)
            if handle is None:
                handle = RunHandle(
                    run_id,
                    experiment_id,
                    self.writer,
                    deleted=deleted,
                    params=params,
                    load_params=self._load_params,
                    async_default=self.async_default,
                )
                self._handles[run_id] = handle
            return handle

    def _load_params(self, run_id: str) -> dict[str, str]:
        handle = self._handles[run_id]
        return _params_of(self._run_tables(handle.experiment_id, run_id))

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric],
        params: Sequence[Param],
        tags: Sequence[RunTag],
        *,
        single_param: bool = False,
    ) -> None:
        """MLflow's log_batch: everything validated first (in MLflow's order: metrics, params, tags, then
        duplicate param keys); nothing is written if anything is wrong.

        There is no per-call size limit: MLflow's client splits big batches into store-sized chunks, so a
        caller of the client never meets one, and one call here is never split.
        """
        if not single_param:
            _validation.validate_run_id(run_id)
        handle = self.handle(run_id)
        rows: list[tuple[str, float, int, int]] = []
        for i, m in enumerate(metrics):
            value = _validation.convert_metric_value(m.value)
            _validation.validate_metric(m.key, value, m.timestamp, m.step, path_prefix=f"metrics[{i}]")
            row = (m.key, float(value), int(m.timestamp), coerce_step(m.step))
            _validation.validate_metric_int64(*row, path_prefix=f"metrics[{i}]")
            rows.append(row)
        param_prefix = (lambda i: "") if single_param else (lambda i: f"params[{i}]")
        checked_params = [
            (p.key, _validation.validate_param(p.key, str(p.value), param_prefix(i)))
            for i, p in enumerate(params)
        ]
        checked_tags = [
            (t.key, _validation.validate_tag(t.key, str(t.value), f"tags[{i}]")) for i, t in enumerate(tags)
        ]
        if not single_param:
            _validation.validate_param_keys_unique([Param(k, v) for k, v in checked_params])
        handle.check_writable()
        if checked_params:
            handle.log_params(checked_params, single=single_param)
        if checked_tags:
            handle.set_tags(checked_tags)
        if rows:
            handle.append_metric_rows(rows)

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        handle = self.handle(run_id)
        checked = _validation.validate_tag(key, str(value))
        handle.check_writable()
        handle.set_tags([(key, checked)])

    def delete_tag(self, run_id: str, key: str) -> None:
        handle = self.handle(run_id)
        handle.check_writable()
        run = self.get_run(run_id)
        if key not in run.data.tags:
            raise ResourceDoesNotExist(f"No tag with name: {key} in run with id {run_id}")
        handle.delete_tag(key)

    # -- runs: reading ----------------------------------------------------------------------------
    def _run_tables(
        self, experiment_id: str, run_id: str, *, metric_key: str | None = None, history: bool = False
    ) -> RunTables:
        from eventlog.views import partition_tables

        return partition_tables(
            self.location, experiment_id, [run_id], cache=self.cache, metric_key=metric_key, history=history
        )

    def get_run(self, run_id: str) -> Run:
        _validation.validate_run_id(run_id)
        self._just_loaded = None
        handle = self.handle(run_id)
        loaded, self._just_loaded = self._just_loaded, None
        if loaded is not None and loaded[0] == run_id and not self.writer.has_buffered:
            self.raise_background_error()
            tables = loaded[1]  # read a moment ago by handle(), and nothing is waiting to be written
        else:
            self.flush()
            tables = self._run_tables(handle.experiment_id, run_id)
        runs = runs_from_tables(tables)
        if not runs:
            raise ResourceDoesNotExist(f"Run with id={run_id} not found")
        return runs[0]

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        import polars as pl

        try:
            handle = self.handle(run_id)
        except ResourceDoesNotExist:
            return []  # MLflow's SQL store answers an unknown run with an empty history
        self.flush()
        history = (
            self._run_tables(handle.experiment_id, run_id, metric_key=key, history=True)
            .metric_history.filter(pl.col("key") == key)
            .sort(["timestamp", "step", "value"])
        )
        # Whole columns to Python at once (a row iterator costs a third more on a long history).
        values, timestamps, steps = (history.get_column(c).to_list() for c in ("value", "timestamp", "step"))
        return [
            Metric(key, v, t, s, None, None, None, run_id)
            for v, t, s in zip(values, timestamps, steps, strict=True)
        ]

    def runs_in_experiments(self, experiment_ids: Iterable[str]) -> list[Run]:
        """Every run of the given experiments (no filtering), for the simple listings of this issue."""
        from eventlog.views import partition_tables

        self.flush()
        runs: list[Run] = []
        for experiment_id in experiment_ids:
            tables = partition_tables(self.location, experiment_id, cache=self.cache)
            runs.extend(runs_from_tables(tables))
        return runs

    # -- runs: search -----------------------------------------------------------------------------
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = "",
        run_view_type: int = 1,  # ViewType.ACTIVE_ONLY
        max_results: int | None = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | bytes | None = None,
    ) -> PagedList[Run]:
        """MLflow's ``AbstractStore.search_runs``, the one road of run search (``MlflowClient`` and the
        fluent ``search_runs`` come this way): MLflow's filter grammar plus OR, parentheses and IN /
        NOT IN, pages as offsets into the ordered result. The query runs in ``views.search_runs``, which
        lists each partition once and searches it in memory or lazily."""
        from eventlog import views
        from eventlog._experiment_search import decode_page_token, encode_page_token, validate_max_results
        from eventlog._run_search import runs_of
        from eventlog.entities import PagedList
        from eventlog.views.filter import FilterError

        validate_max_results(max_results)
        ids = [_validation.validate_experiment_id(e) for e in experiment_ids]
        try:
            predicate, order = views.parse_search(filter_string, order_by)
        except FilterError as exc:
            raise MlflowException(str(exc), exc.error_code) from None
        offset = decode_page_token(page_token)
        stages = LifecycleStage.view_type_to_stages(run_view_type)
        self.ready()
        self.flush()
        page = views.search_runs(
            self.location,
            ids,
            predicate,
            order,
            stages=stages,
            max_results=max_results,
            offset=offset,
            cache=self.cache,
            memory_rows=_config.search_memory_rows(),
        )
        token = None if page.next_offset is None else encode_page_token(page.next_offset)
        return PagedList(runs_of(page), token)


def _compact_at_exit(ref: weakref.ref[TrackingStore]) -> None:
    """Registered after the writers' exit flush, so it runs before it (atexit is last in, first out):
    flush here, then let the auto-compactor look at what this process wrote."""
    store = ref()
    if store is None:
        return
    try:
        store.writer.flush()
        store.auto_compactor.at_exit()
    except Exception as exc:  # the writer's own exit flush reports write errors; this is housekeeping
        _log.debug("eventlog: no compaction at exit: %s", exc)


def _params_of(tables: RunTables) -> dict[str, str]:
    return dict(tables.params.select("key", "value").iter_rows())


def runs_from_tables(tables: RunTables) -> list[Run]:
    """Build Run entities from folded tables (one pass per table, grouped by run id)."""
    metrics: dict[str, list[Metric]] = {}
    for run_id, key, value, timestamp, step in tables.latest_metrics.select(
        "run_id", "key", "value", "timestamp", "step"
    ).iter_rows():
        metrics.setdefault(run_id, []).append(Metric(key, value, timestamp, step))
    params: dict[str, list[Param]] = {}
    for run_id, key, value in tables.params.select("run_id", "key", "value").iter_rows():
        params.setdefault(run_id, []).append(Param(key, value))
    tags: dict[str, list[RunTag]] = {}
    for run_id, key, value in tables.tags.select("run_id", "key", "value").iter_rows():
        tags.setdefault(run_id, []).append(RunTag(key, value))
    runs = []
    for row in tables.runs.iter_rows(named=True):
        run_id = row["run_id"]
        info = RunInfo(
            run_id=run_id,
            experiment_id=row["experiment_id"],
            user_id=row["user_id"],
            status=row["status"],
            start_time=row["start_time"],
            end_time=row["end_time"],
            lifecycle_stage=row["lifecycle_stage"],
            artifact_uri=row["artifact_uri"],
            run_name=row["run_name"],
        )
        data = RunData(
            metrics=metrics.get(run_id, []), params=params.get(run_id, []), tags=tags.get(run_id, [])
        )
        runs.append(Run(info, data, RunInputs(), RunOutputs()))
    return runs
