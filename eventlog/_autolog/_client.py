"""The client autologging logs through: queued run data, truncated as MLflow's autologging client does.

Params, tags and metrics are queued per run and written by :meth:`AutologgingClient.flush` as log-batch
calls (100 params/tags and up to 1000 entries per batch). Param values longer than 6000 characters, tag
values longer than 8000 and keys longer than 250 are truncated with ``...`` (and a warning), so an
estimator with a huge parameter never breaks training. A run can be created and terminated through the
queue too (``create_run`` returns a placeholder usable as a run id until the flush). Failures of single
operations are collected, the other operations still run, and one ``MlflowException`` reports them all.
"""

from __future__ import annotations

import time
from typing import Any

from eventlog._autolog._warnings import logger

__all__ = ["AutologgingClient", "PendingRunId", "truncate_dict"]

MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000
MAX_ENTITY_KEY_LENGTH = 250
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_ENTITIES_PER_BATCH = 1000


def now_ms() -> int:
    return int(time.time() * 1000)


def _truncate(value: Any, max_length: int) -> str:
    text = str(value)
    return text[: max_length - 3] + "..." if len(text) > max_length else text


def truncate_dict(
    values: dict[Any, Any], max_key_length: int | None = None, max_value_length: int | None = None
) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for key, value in values.items():
        new_key = key
        if max_key_length is not None and len(str(key)) > max_key_length:
            new_key = _truncate(key, max_key_length)
            logger.warning("Truncated the key `%s`", new_key)
        new_value = value
        if max_value_length is not None and len(str(value)) > max_value_length:
            new_value = _truncate(value, max_value_length)
            logger.warning("Truncated the value of the key `%s`. Truncated value: `%s`", new_key, new_value)
        out[new_key] = new_value
    return out


class PendingRunId:
    """Stands for the id of a run the queue will create at the next flush."""


class _Pending:
    def __init__(self, run_id: str | PendingRunId) -> None:
        self.run_id = run_id
        self.create: tuple[str, int | None, dict[str, str]] | None = None
        self.terminate: tuple[str | None, int | None] | None = None
        self.params: list[tuple[str, str]] = []
        self.tags: list[tuple[str, str]] = []
        self.metrics: list[tuple[str, float, int, int]] = []


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class AutologgingClient:
    def __init__(self) -> None:
        self._pending: dict[str | PendingRunId, _Pending] = {}

    def _ops(self, run_id: str | PendingRunId) -> _Pending:
        if run_id not in self._pending:
            self._pending[run_id] = _Pending(run_id)
        return self._pending[run_id]

    def create_run(
        self, experiment_id: str, start_time: int | None = None, tags: dict[str, Any] | None = None
    ) -> PendingRunId:
        run_id = PendingRunId()
        clean = truncate_dict(tags or {}, MAX_ENTITY_KEY_LENGTH, MAX_TAG_VAL_LENGTH)
        self._ops(run_id).create = (experiment_id, start_time, {k: str(v) for k, v in clean.items()})
        return run_id

    def set_terminated(
        self, run_id: str | PendingRunId, status: str | None = None, end_time: int | None = None
    ) -> None:
        self._ops(run_id).terminate = (status, end_time)

    def log_params(self, run_id: str | PendingRunId, params: dict[str, Any]) -> None:
        clean = truncate_dict(params, MAX_ENTITY_KEY_LENGTH, MAX_PARAM_VAL_LENGTH)
        self._ops(run_id).params.extend((str(k), str(v)) for k, v in clean.items())

    def set_tags(self, run_id: str | PendingRunId, tags: dict[str, Any]) -> None:
        clean = truncate_dict(tags, MAX_ENTITY_KEY_LENGTH, MAX_TAG_VAL_LENGTH)
        self._ops(run_id).tags.extend((str(k), str(v)) for k, v in clean.items())

    def log_metrics(
        self, run_id: str | PendingRunId, metrics: dict[str, Any], step: int | None = None
    ) -> None:
        clean = truncate_dict(metrics, MAX_ENTITY_KEY_LENGTH)
        timestamp = now_ms()
        self._ops(run_id).metrics.extend((str(k), v, timestamp, step or 0) for k, v in clean.items())

    def flush(self) -> None:
        """Write everything queued; raise one MlflowException naming every failed operation."""
        from eventlog import MlflowClient
        from eventlog.entities import Metric, Param, RunTag
        from eventlog.exceptions import MlflowException

        pending = list(self._pending.values())
        self._pending = {}
        if not pending:
            return
        client = MlflowClient()
        failures: list[Exception] = []

        def attempt(fn: Any, *args: Any, **kwargs: Any) -> None:
            try:
                fn(*args, **kwargs)
            except Exception as exc:
                failures.append(exc)

        for ops in pending:
            if ops.create is not None:
                experiment_id, start_time, tags = ops.create
                room = MAX_ENTITIES_PER_BATCH - len(tags)
                tags = {**tags, **dict(ops.tags[:room])}
                ops.tags = ops.tags[room:]
                try:
                    run = client.create_run(experiment_id, start_time=start_time, tags=tags)
                except Exception as exc:
                    failures.append(exc)
                    continue
                ops.run_id = run.info.run_id
            run_id = ops.run_id
            assert isinstance(run_id, str)
            params = _chunks(ops.params, MAX_PARAMS_TAGS_PER_BATCH)
            tags_batches = _chunks(ops.tags, MAX_PARAMS_TAGS_PER_BATCH)
            metrics = ops.metrics
            for i in range(max(len(params), len(tags_batches))):
                p = params[i] if i < len(params) else []
                t = tags_batches[i] if i < len(tags_batches) else []
                size = max(min(MAX_ENTITIES_PER_BATCH - len(p) - len(t), MAX_METRICS_PER_BATCH), 0)
                batch, metrics = metrics[:size], metrics[size:]
                attempt(
                    client.log_batch,
                    run_id,
                    metrics=[Metric(k, v, ts, s) for k, v, ts, s in batch],
                    params=[Param(k, v) for k, v in p],
                    tags=[RunTag(k, v) for k, v in t],
                )
            for batch in _chunks(metrics, MAX_METRICS_PER_BATCH):
                attempt(client.log_batch, run_id, metrics=[Metric(k, v, ts, s) for k, v, ts, s in batch])
            if ops.terminate is not None:
                status, end_time = ops.terminate
                attempt(client.set_terminated, run_id, status=status, end_time=end_time)
        if failures:
            raise MlflowException(
                f"The following failures occurred while performing one or more logging operations: {failures}"
            )
