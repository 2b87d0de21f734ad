"""The buffered writer: events into column buffers, column buffers into Parquet segments.

One writer per store per process. Events are appended column by column into ``array`` buffers (typed C
values, no Python object per event), and flushed as one segment per experiment partition:

- on a timer (``flush_interval`` seconds, by a daemon thread),
- when the buffer reaches ``flush_rows`` events (the thread is woken; past 4x the caller flushes itself),
- on ``flush()`` — which the store calls before every read, at ``end_run``, for ``synchronous=True`` —
- and at interpreter exit.

A flush that fails keeps its encoded segments and retries them, under the same names, on the next flush;
a failure of the background thread is raised on the caller's next call. After ``fork`` the child gets a new
writer id and an empty buffer, so it never re-writes what its parent buffered.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
import threading
import time
import uuid
import weakref
from array import array
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from eventlog import views
from eventlog._events import Event
from eventlog.storage import Location
from eventlog.views import Kind, layout

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from eventlog._sink import MetricSink
    from eventlog.views import Column

__all__ = ["Writer", "flush_all_writers", "now_ms"]

_log = logging.getLogger(__name__)

# Columns an Event can fill, in segment order (the writer fills writer, seq, kind, timestamp).
_EVENT_COLUMNS = (
    "experiment_id",
    "run_id",
    "key",
    "text",
    "name",
    "status",
    "start_time",
    "end_time",
    "user_id",
    "artifact_uri",
    "size",
    "checksum",
)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _new_writer_id() -> str:
    # Sortable by start time, unique across machines and processes: ms time then 64 random bits.
    return f"{now_ms():012x}{uuid.uuid4().hex[:16]}"


class _MetricColumns:
    """Metric events: the hot path. Run and key are indexes into the writer's run and key tables.

    Metric events get their sequence numbers when the buffer is swapped out for a flush (one contiguous
    block, in append order): the fold never orders metrics against other kinds, so this keeps a counter
    off the hot path without changing any result.
    """

    __slots__ = ("key", "run", "step", "timestamp", "value")

    def __init__(self) -> None:
        self.run = array("i")
        self.key = array("i")
        self.value = array("d")
        self.timestamp = array("q")
        self.step = array("q")


class _EventColumns:
    """Every other event kind: rarer, so plain per-column lists."""

    __slots__ = ("columns", "kind", "seq", "timestamp")

    def __init__(self) -> None:
        self.seq = array("q")
        self.timestamp = array("q")
        self.kind: list[str] = []
        self.columns: dict[str, list[object]] = {name: [] for name in _EVENT_COLUMNS}


class Writer:
    """Appends events for one store and publishes them as segments."""

    def __init__(self, location: Location, *, flush_interval: float, flush_rows: int) -> None:
        self.location = location
        self.flush_interval = flush_interval
        self.flush_rows = max(1, flush_rows)
        # Run and metric-key tables map the small ints kept in the metric buffer back to strings. They
        # only grow and hold no events, so a forked child keeps them.
        self._runs: list[str] = []
        self._run_experiment: list[str] = []
        self._run_index: dict[str, int] = {}
        self._keys: list[str] = []
        self.key_index: dict[str, int] = {}
        # The fluent hot path's per-run buffers (eventlog._sink), taken into the metric buffer by a flush.
        self._sinks: list[MetricSink] = []
        self._reset_after_fork()
        _WRITERS.add(self)

    def _reset_after_fork(self) -> None:
        self.writer_id = _new_writer_id()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        for sink in self._sinks:
            sink.discard()
        self._seq = 0
        self._segments = 0
        self._last_ts = 0
        self._metrics = _MetricColumns()
        self._events = _EventColumns()
        # (partition segments directory, segment name, bytes): the bucket is chosen at each publish attempt
        self._pending: list[tuple[str, str, bytes]] = []
        self._last_bucket = ""
        # Runs created since the last flush whose ids do not say which partition holds them (imported or
        # synced runs; the runs this process creates get located ids): one run-index file for all of them
        # is written by that flush, just before the segment holding their creation.
        self._new_runs: list[tuple[str, str]] = []
        self._index_files = 0
        self._index_pending: list[tuple[str, bytes]] = []
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._closed = False

    # -- tables -----------------------------------------------------------------------------------
    def run_slot(self, run_id: str, experiment_id: str) -> int:
        with self._lock:
            slot = self._run_index.get(run_id)
            if slot is None:
                slot = len(self._runs)
                self._runs.append(run_id)
                self._run_experiment.append(experiment_id)
                self._run_index[run_id] = slot
            return slot

    def key_slot(self, key: str) -> int:
        """Index of an already validated metric key."""
        with self._lock:
            slot = self.key_index.get(key)
            if slot is None:
                slot = len(self._keys)
                self._keys.append(key)
                self.key_index[key] = slot
            return slot

    def note_new_run(self, run_id: str, experiment_id: str) -> None:
        """Record a run whose id does not name its partition (``views.layout.run_location``): its
        run-index entry goes out with the next flush, in one file with the others of that flush."""
        with self._lock:
            self._new_runs.append((run_id, experiment_id))

    # -- the fluent hot path's sinks ------------------------------------------------------------------
    def add_sink(self, sink: MetricSink) -> None:
        with self._lock:
            self._sinks.append(sink)
        if self._thread is None:
            self._start_thread()

    def remove_sink(self, sink: MetricSink) -> None:
        """Move what the sink holds into the buffer and stop taking from it (its run has ended)."""
        with self._lock:
            self._take_from(sink)
            if sink in self._sinks:
                self._sinks.remove(sink)

    def drain_sinks(self, sinks: Sequence[MetricSink]) -> None:
        """Move what these sinks hold into the buffer now (before a point of their run logged another way,
        so that the buffer keeps the order in which one thread logged them)."""
        with self._lock:
            for sink in sinks:
                self._take_from(sink)

    def sink_full(self, n: int) -> None:
        self._buffer_full(n)

    @property
    def sink_lock(self) -> threading.Lock:
        """The lock under which points are taken from sinks (appends take it only without a GIL)."""
        return self._lock

    def _take_from(self, sink: MetricSink) -> None:
        # caller holds self._lock
        taken = sink.take()
        if taken is None:
            return
        slots, values, timestamps, steps = taken
        m = self._metrics
        m.run.extend(array("i", (sink.run,)) * len(slots))
        m.key.extend(slots)
        m.value.extend(values)
        m.timestamp.extend(timestamps)
        m.step.extend(steps)

    def _invalidate_sinks(self) -> None:
        """Send every sink's next fluent call through the checked path (which raises ``self.error``)."""
        for sink in list(self._sinks):
            sink.keys.clear()

    # -- appending --------------------------------------------------------------------------------
    def append_metric(self, run: int, key: int, value: float, timestamp: int, step: int) -> None:
        """The hot path: five typed appends under a lock."""
        with self._lock:
            m = self._metrics
            m.run.append(run)
            m.key.append(key)
            m.value.append(value)
            m.timestamp.append(timestamp)
            m.step.append(step)
            n = len(m.run)
        if n >= self.flush_rows:
            self._buffer_full(n)
        elif n == 1 and self._thread is None:
            self._start_thread()

    def append_metrics(
        self, run: int, keys: list[int], values: array[float], timestamp: int, step: int
    ) -> None:
        count = len(keys)
        with self._lock:
            m = self._metrics
            m.run.extend(array("i", (run,)) * count)
            m.key.fromlist(keys)
            m.value.extend(values)
            m.timestamp.extend(array("q", (timestamp,)) * count)
            m.step.extend(array("q", (step,)) * count)
            n = len(m.run)
        if n >= self.flush_rows:
            self._buffer_full(n)
        elif self._thread is None:
            self._start_thread()

    def append(self, events: Iterable[Event]) -> None:
        with self._lock:
            for event in events:
                self._append_event(event)
            n = len(self._events.seq) + len(self._metrics.run)
        if n >= self.flush_rows:
            self._buffer_full(n)
        elif self._thread is None:
            self._start_thread()

    def _append_event(self, event: Event) -> None:
        columns = self._events
        columns.seq.append(self._seq)
        self._seq += 1
        # Record times are non-decreasing per writer, so (timestamp, writer, seq) keeps this writer's order.
        ts = now_ms()
        if ts < self._last_ts:
            ts = self._last_ts
        self._last_ts = ts
        columns.timestamp.append(ts)
        columns.kind.append(event.kind)
        for name, values in columns.columns.items():
            values.append(getattr(event, name, None))

    def _stamp_params(self, events: _EventColumns) -> None:
        """Give param events the time their segment is written (caller holds the lock).

        The fold keeps a param's first value in (timestamp, writer, seq) order. Stamping params when they
        are published rather than when they were logged makes "first" mean "first committed": a value
        buffered by one process cannot later displace a value another process already published and
        readers already saw.
        """
        stamp = max(now_ms(), self._last_ts)
        self._last_ts = stamp
        timestamps = events.timestamp
        for i, kind in enumerate(events.kind):
            if kind == Kind.PARAM:
                timestamps[i] = stamp

    def _buffer_full(self, n: int) -> None:
        if n >= 4 * self.flush_rows:
            # The background thread is not keeping up: flush here, so memory stays bounded.
            self.flush()
        else:
            if self._thread is None:
                self._start_thread()
            self._wake.set()

    # -- immediate writes -------------------------------------------------------------------------
    def encode_now(self, events: Sequence[Event]) -> bytes:
        """Give events their ids now and encode them as one segment's bytes (for claims and catalog)."""
        columns = _EventColumns()
        with self._lock:
            saved, self._events = self._events, columns
            try:
                for event in events:
                    self._append_event(event)
            finally:
                self._events = saved
        return views.segment_bytes(_event_table(self.writer_id, columns))

    def write_now(self, events: Sequence[Event], directories: Sequence[str]) -> None:
        """Publish events immediately as one segment in each directory (the same event ids in each)."""
        data = self.encode_now(events)
        for directory in directories:
            with self._flush_lock:
                self._segments += 1
                name = layout.segment_name(self.writer_id, self._segments)
                # A partition's segments go into time buckets (the catalog's stay flat).
                bucketed = directory.startswith(f"{layout.EXPERIMENTS}/")
                rel = f"{directory}/{self._bucket()}/{name}" if bucketed else f"{directory}/{name}"
            self.location.publish(rel, data)

    # -- flushing ---------------------------------------------------------------------------------
    @property
    def has_buffered(self) -> bool:
        return bool(
            len(self._metrics.run)
            or len(self._events.seq)
            or self._pending
            or self._index_pending
            or any(sink.buffered for sink in self._sinks)
        )

    def flush(self) -> None:
        """Publish everything buffered so far. Raises if a segment could not be published; the data is
        kept and retried by the next flush."""
        with self._flush_lock:
            with self._lock:
                for sink in self._sinks:
                    self._take_from(sink)
                metrics, events = self._metrics, self._events
                empty = not len(metrics.run) and not len(events.seq)
                if not empty:
                    self._metrics, self._events = _MetricColumns(), _EventColumns()
                    metric_seq = self._seq
                    self._seq += len(metrics.run)
                    self._stamp_params(events)
                    # The run and key tables only grow: the encoder reads just the entries the buffer
                    # uses, so no copy (a flush must not cost more as the process logs more runs).
                    runs, run_experiment, keys = self._runs, self._run_experiment, self._keys
                new_runs, self._new_runs = self._new_runs, []
            if new_runs:
                # One run-index file for every run this flush creates whose id does not name its partition.
                self._index_files += 1
                entry = json.dumps({"runs": dict(new_runs)}).encode()
                rel = layout.run_index_batch_path(self.writer_id, self._index_files)
                self._index_pending.append((rel, entry))
            if not empty:
                for experiment_id, table in _encode(
                    self.writer_id, metrics, metric_seq, events, runs, run_experiment, keys
                ):
                    self._segments += 1
                    name = layout.segment_name(self.writer_id, self._segments)
                    directory = layout.partition_segments(experiment_id)
                    self._pending.append((directory, name, views.segment_bytes(table)))
            while self._index_pending:
                rel, data = self._index_pending[0]
                try:
                    # Not fsynced: the index only speeds up finding a run's partition; a lookup that
                    # misses (or finds a damaged entry) searches the partitions.
                    self.location.put_if_absent(rel, data, durable=False)
                except FileExistsError:
                    pass  # an earlier attempt landed (the name is this writer's own)
                self._index_pending.pop(0)
            while self._pending:
                directory, name, data = self._pending[0]
                rel = f"{directory}/{self._bucket()}/{name}"
                try:
                    self.location.publish(rel, data)
                except FileExistsError:
                    pass  # only this writer makes this name: an earlier attempt did land
                self._pending.pop(0)

    def _bucket(self) -> str:
        """The bucket of a segment published now: by the publish time (not the time it was logged, so a
        retried segment lands where compaction still looks), never older than this writer's last one."""
        bucket = max(layout.segment_bucket(now_ms()), self._last_bucket)
        self._last_bucket = bucket
        return bucket

    def _start_thread(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run_thread, name=f"eventlog-flush-{self.writer_id[-6:]}", daemon=True
            )
            self._thread.start()

    def _run_thread(self) -> None:
        me = threading.current_thread()
        while not self._closed and self._thread is me:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            if self._closed or self._thread is not me:
                return
            if self.has_buffered:
                try:
                    self.flush()
                except BaseException as exc:
                    self.error = exc
                    self._invalidate_sinks()  # after setting the error: see MetricSink.cache_key
                    _log.warning("eventlog: background flush failed, will retry: %s", exc)

    def take_error(self) -> BaseException | None:
        error, self.error = self.error, None
        return error

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._closed = True
            self._wake.set()


def _encode(
    writer_id: str,
    metrics: _MetricColumns,
    metric_seq: int,
    events: _EventColumns,
    runs: list[str],
    run_experiment: list[str],
    keys: list[str],
) -> list[tuple[str, pa.Table]]:
    """One Arrow table per experiment partition from the swapped-out buffers (views.segment_table)."""
    # The encoder is imported by the first flush, not by ``import eventlog``.
    from eventlog.views import Coded, segment_table, split_by_experiment

    n = len(metrics.run)
    if n and len(events.seq) and n + len(events.seq) <= _ONE_TABLE_ROWS:
        # A short run's flush (its batch and its end): one table, not two concatenated — half the cost of
        # building a segment's eighteen columns, which is most of what such a flush costs besides the fsync.
        return _one_table(writer_id, metrics, metric_seq, events, runs, run_experiment, keys)
    tables = []
    if n:
        run_codes, used_runs = _recode(metrics.run)
        key_codes, used_keys = _recode(metrics.key)
        columns: dict[str, Column] = {
            "writer": writer_id,
            "seq": range(metric_seq, metric_seq + n),
            "kind": Kind.METRIC,
            "timestamp": metrics.timestamp,
            "experiment_id": Coded(run_codes, [run_experiment[i] for i in used_runs]),
            "run_id": Coded(run_codes, [runs[i] for i in used_runs]),
            "key": Coded(key_codes, [keys[i] for i in used_keys]),
            "value": metrics.value,
            "step": metrics.step,
        }
        tables.append(segment_table(n, columns))
    if len(events.seq):
        tables.append(_event_table(writer_id, events))
    # The experiments in order of first event (metrics first, as they come first in the segment).
    seen: dict[str, None] = {}
    if n:
        seen.update(dict.fromkeys(run_experiment[i] for i in used_runs))
    seen.update(dict.fromkeys(str(e) for e in events.columns["experiment_id"]))
    return split_by_experiment(tables, list(seen))


_ONE_TABLE_ROWS = 256  # a flush of at most this many events is encoded as one table of Python values


def _one_table(
    writer_id: str,
    metrics: _MetricColumns,
    metric_seq: int,
    events: _EventColumns,
    runs: list[str],
    run_experiment: list[str],
    keys: list[str],
) -> list[tuple[str, pa.Table]]:
    """``_encode`` of a small flush: metric rows first, then the other events, as ``_encode`` lays them
    out, built from plain lists in one ``segment_table``."""
    from eventlog.views import segment_table, split_by_experiment

    n, k = len(metrics.run), len(events.seq)
    run_codes = metrics.run.tolist()
    metric_experiments = [run_experiment[c] for c in run_codes]
    none_k: list[object] = [None] * k
    columns: dict[str, Column] = {
        "writer": writer_id,
        "seq": array("q", range(metric_seq, metric_seq + n)) + events.seq,
        "kind": [Kind.METRIC] * n + events.kind,
        "timestamp": metrics.timestamp + events.timestamp,
        "experiment_id": metric_experiments + events.columns["experiment_id"],
        "run_id": [runs[c] for c in run_codes] + events.columns["run_id"],
        "key": [keys[c] for c in metrics.key.tolist()] + events.columns["key"],
        "value": [*metrics.value.tolist(), *none_k],
        "step": [*metrics.step.tolist(), *none_k],
    }
    none_n: list[object] = [None] * n
    for name, values in events.columns.items():
        if name not in columns:
            columns[name] = none_n + values
    seen = dict.fromkeys(metric_experiments)
    seen.update(dict.fromkeys(str(e) for e in events.columns["experiment_id"]))
    return split_by_experiment([segment_table(n + k, columns)], list(seen))


def _recode(codes: array[int]) -> tuple[np.ndarray, list[int]]:
    """Codes into the writer's whole run (or key) table as codes into the entries this buffer uses, and
    those entries: a segment's dictionary holds its own runs, not every run the process has seen."""
    import numpy as np

    if len(codes) <= 64:
        # A few events (a run's batch): a dict in order of first use costs less than numpy's set-up.
        order: dict[int, int] = {}
        small = array("i", [order.setdefault(c, len(order)) for c in codes])
        return np.frombuffer(small, dtype=np.int32), list(order)
    used, first, inverse = np.unique(
        np.frombuffer(codes, dtype=np.int32), return_index=True, return_inverse=True
    )
    # Entries in order of first use: the codes follow, and so does the order of experiments in a flush.
    by_first = np.argsort(first, kind="stable")
    rank = np.empty_like(by_first)
    rank[by_first] = np.arange(len(by_first))
    return rank[inverse].astype(np.int32, copy=False), used[by_first].tolist()


def _event_table(writer_id: str, events: _EventColumns) -> pa.Table:
    from eventlog.views import segment_table

    columns: dict[str, Column] = {
        "writer": writer_id,
        "seq": events.seq,
        "kind": events.kind,
        "timestamp": events.timestamp,
        **events.columns,
    }
    return segment_table(len(events.seq), columns)


# -- process-wide hooks: every live writer is flushed at exit and reset in a forked child --------------
_WRITERS: weakref.WeakSet[Writer] = weakref.WeakSet()


def flush_all_writers() -> None:
    for writer in list(_WRITERS):
        writer.flush()


def _flush_at_exit() -> None:
    for writer in list(_WRITERS):
        try:
            writer.close()
        except BaseException as exc:
            _log.error(
                "eventlog: could not flush buffered events to %s at exit: %s", writer.location.uri, exc
            )


class _ForkToken:
    """A weak-referenceable key for multiprocessing's after-fork registry."""


_FORK_TOKEN = _ForkToken()


def _register_exit_finalizer(_: object) -> None:
    sys.modules["multiprocessing.util"].Finalize(None, _flush_at_exit, exitpriority=100)


def _after_fork_in_child() -> None:
    for writer in list(_WRITERS):
        writer._reset_after_fork()
    # A multiprocessing child leaves through os._exit, which skips atexit; its finalizers do run. The
    # child's bootstrap clears the finalizers inherited from the parent and then calls the after-fork
    # hooks, so the finalizer is registered from such a hook.
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None:
        mp_util.register_after_fork(_FORK_TOKEN, _register_exit_finalizer)


atexit.register(_flush_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
