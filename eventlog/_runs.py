"""A run as the logging path sees it: where its events go, whether it may be written, its params so far.

Metric points are checked here (``checked_point``, ``checked_batch``: MLflow's conversions, rules and
messages) and go either to the writer's shared buffer (the client's calls) or to a ``MetricSink`` (the
fluent calls of an active run: the hot path, ``eventlog._sink``). No I/O and no object kept per point.
Points of one run from one thread keep their order across the two: a shared append first hands the run's
sinks to the writer (``drain_sinks``), so "the first logged" of equal points means what it says.
Params are checked against the run's known params before anything is written (MLflow's immutability);
for a run this process did not create, the known params are read once from the store.
"""

from __future__ import annotations

import contextlib
import numbers
import threading
from array import array
from collections.abc import Callable, Sequence
from typing import Any

from eventlog import _validation
from eventlog._events import ParamLogged, RunTagDeleted, RunTagSet
from eventlog._sink import MetricSink
from eventlog._writer import Writer
from eventlog.exceptions import BackgroundFlushError, InvalidParameterValue

__all__ = ["RunHandle", "coerce_step", "param_conflict_message"]


def coerce_step(step: Any) -> int:
    """Steps are stored as int64. Integral floats and numpy integers convert; anything else is an error."""
    if isinstance(step, bool):
        return int(step)
    try:
        return int(step.__index__())
    except AttributeError:
        pass
    if isinstance(step, float) and step.is_integer():
        return int(step)
    raise InvalidParameterValue(
        f"Invalid value {step!r} for parameter 'step' supplied: eventlog stores metric steps as 64-bit "
        "integers. Pass a whole number."
    )


def param_conflict_message(run_id: str, key: str, old: str, new: str) -> str:
    return (
        f"Changing param values is not allowed. Param with key='{key}' was already logged with "
        f"value='{old}' for run ID='{run_id}'. Attempted logging new value '{new}'."
    )


class RunHandle:
    """Per-process state of one run in one store."""

    __slots__ = (
        "_deleted",
        "_load_params",
        "_params",
        "_params_lock",
        "async_default",
        "experiment_id",
        "run_id",
        "sinks",
        "slot",
        "writer",
    )

    def __init__(
        self,
        run_id: str,
        experiment_id: str,
        writer: Writer,
        *,
        deleted: bool,
        params: dict[str, str] | None,
        load_params: Callable[[str], dict[str, str]],
        async_default: bool = False,
    ) -> None:
        self.run_id = run_id
        self.experiment_id = experiment_id
        self.writer = writer
        self.slot = writer.run_slot(run_id, experiment_id)
        self._deleted = deleted
        self._params = params
        self._load_params = load_params
        self._params_lock = threading.Lock()
        self.async_default = async_default
        # The fluent hot path's buffers of this run, one per ActiveRun of it (eventlog._sink).
        self.sinks: list[MetricSink] = []

    @property
    def deleted(self) -> bool:
        return self._deleted

    @deleted.setter
    def deleted(self, deleted: bool) -> None:
        self._deleted = deleted
        for sink in list(self.sinks):
            sink.keys.clear()  # the next fluent call takes the checked path, which sees the state

    # -- sinks --------------------------------------------------------------------------------------
    def open_sink(self) -> MetricSink:
        """A buffer for the fluent calls of one ActiveRun of this run (closed by ``close_sink``)."""
        sink = MetricSink(self)
        self.sinks.append(sink)
        self.writer.add_sink(sink)
        return sink

    def close_sink(self, sink: MetricSink) -> None:
        """Hand the sink's points to the writer's buffer and forget the sink (its run has ended)."""
        self.writer.remove_sink(sink)
        with contextlib.suppress(ValueError):
            self.sinks.remove(sink)

    # -- guards -----------------------------------------------------------------------------------
    def check_writable(self) -> None:
        error = self.writer.error
        if error is not None:
            self.writer.take_error()
            raise BackgroundFlushError.from_cause(error)
        if self._deleted:
            raise InvalidParameterValue(
                f"The run {self.run_id} must be in the 'active' state. Current state is deleted."
            )

    # -- metrics ----------------------------------------------------------------------------------
    def log_metric(self, key: str, value: Any, timestamp: int, step: Any) -> None:
        """One point through the writer's shared buffer (the client's path; the fluent one uses a sink)."""
        slot, value, timestamp, step = self.checked_point(key, value, timestamp, step)
        if self.sinks:
            self.writer.drain_sinks(self.sinks)
        self.writer.append_metric(self.slot, slot, value, timestamp, step)

    def checked_point(self, key: str, value: Any, timestamp: Any, step: Any) -> tuple[int, float, int, int]:
        """One point as the client path checks it: (key slot, value, timestamp, step), ready to append."""
        writer = self.writer
        if writer.error is not None or self._deleted:
            self.check_writable()
        slot = writer.key_index.get(key)
        if slot is None:
            slot = self._new_metric_key(key)
        if type(value) is not float or type(timestamp) is not int or timestamp < 0 or type(step) is not int:
            value, timestamp = self._checked(key, value, timestamp, step)
            step = coerce_step(step)
        _validation.validate_metric_int64(key, value, timestamp, step)
        return slot, value, timestamp, step

    def log_metrics(self, metrics: dict[str, Any], timestamp: int, step: Any) -> None:
        keys, values, timestamp, step = self.checked_batch(metrics, timestamp, step)
        if self.sinks:
            self.writer.drain_sinks(self.sinks)
        self.writer.append_metrics(self.slot, keys, values, timestamp, step)

    def checked_batch(
        self, metrics: dict[str, Any], timestamp: Any, step: Any
    ) -> tuple[list[int], array[float], int, int]:
        """A log_metrics call as MLflow checks it: (key slots, values, timestamp, step), ready to append."""
        writer = self.writer
        if writer.error is not None or self._deleted:
            self.check_writable()
        if type(step) is not int:
            if not isinstance(step, numbers.Number):
                first_key = next(iter(metrics), "")
                _validation.validate_metric(first_key, 0.0, timestamp, step, "metrics[0]")
            step = coerce_step(step)
        index = writer.key_index
        try:
            keys = [index[key] for key in metrics]
        except (KeyError, TypeError):
            keys = [
                index[key] if key in index else self._new_metric_key(key, f"metrics[{i}]")
                for i, key in enumerate(metrics)
            ]
        values: array[float] | None = None
        if type(timestamp) is int and timestamp >= 0:
            try:
                # array("d") takes floats, ints, bools and anything with __float__ (numpy scalars), as
                # MLflow's float() conversion does; strings and None fall through to the checked path.
                values = array("d", metrics.values())
            except TypeError:
                values = None
        if values is None:
            # MLflow sends log_metrics as one batch, so its messages name the batch path: metrics[i].value
            checked = [
                self._checked(key, value, timestamp, step, f"metrics[{i}]")
                for i, (key, value) in enumerate(metrics.items())
            ]
            values = array("d", [value for value, _ in checked])
            timestamp = int(timestamp)
        if metrics:
            first_key, first_value = next(iter(metrics)), values[0]
            _validation.validate_metric_int64(first_key, first_value, timestamp, step, "metrics[0]")
        return keys, values, timestamp, step

    def append_metric_rows(self, rows: Sequence[tuple[str, float, int, int]]) -> None:
        """Already validated (key, value, timestamp, step) rows, e.g. from log_batch."""
        if self.sinks:
            self.writer.drain_sinks(self.sinks)
        for key, value, timestamp, step in rows:
            slot = self.writer.key_index.get(key)
            if slot is None:
                slot = self.writer.key_slot(key)
            self.writer.append_metric(self.slot, slot, value, timestamp, step)

    def _new_metric_key(self, key: str, path_prefix: str = "") -> int:
        # The whole metric check on a valid value, so the key's characters and its length are both checked.
        _validation.validate_metric(key, 0.0, 0, 0, path_prefix)
        return self.writer.key_slot(key)

    def _checked(
        self, key: str, value: Any, timestamp: Any, step: Any, path_prefix: str = ""
    ) -> tuple[float, int]:
        """The slow path: convert like MLflow's client, validate like its store, with its messages."""
        converted = _validation.convert_metric_value(value)
        _validation.validate_metric(key, converted, timestamp, step, path_prefix)
        return float(converted), int(timestamp)

    # -- params -----------------------------------------------------------------------------------
    def known_params(self) -> dict[str, str]:
        if self._params is None:
            self._params = dict(self._load_params(self.run_id))
        return self._params

    def log_params(self, params: Sequence[tuple[str, str]], *, single: bool) -> None:
        """Log already validated params: all or nothing, and nothing if any would change a value."""
        with self._params_lock:
            known = self.known_params()
            conflicts = [(k, known[k], v) for k, v in params if k in known and known[k] != v]
            if conflicts:
                if single:
                    key, old, new = conflicts[0]
                    raise InvalidParameterValue(param_conflict_message(self.run_id, key, old, new))
                listed = [{"key": k, "old_value": old, "new_value": new} for k, old, new in conflicts]
                raise InvalidParameterValue(
                    f"Changing param values is not allowed. Params were already logged='{listed}' "
                    f"for run ID='{self.run_id}'."
                )
            fresh = [(k, v) for k, v in params if k not in known]
            for key, value in fresh:
                known[key] = value
        if fresh:
            self.writer.append(ParamLogged(self.experiment_id, self.run_id, k, v) for k, v in fresh)

    # -- tags -------------------------------------------------------------------------------------
    def set_tags(self, tags: Sequence[tuple[str, str]]) -> None:
        self.writer.append(RunTagSet(self.experiment_id, self.run_id, k, v) for k, v in tags)

    def delete_tag(self, key: str) -> None:
        self.writer.append([RunTagDeleted(self.experiment_id, self.run_id, key)])
