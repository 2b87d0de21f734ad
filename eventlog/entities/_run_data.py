"""RunData: a run's latest metrics, params and tags as dicts."""

from __future__ import annotations

from typing import Any

from eventlog.entities._base import Entity
from eventlog.entities._key_value import Param, RunTag
from eventlog.entities._metric import Metric

__all__ = ["RunData"]


class RunData(Entity):
    """Built from lists like MLflow's; exposes ``{key: value}`` dicts.

    ``metrics`` must hold one *latest* Metric per key (the caller picks it: max of step, timestamp,
    value); if a key repeats, the last one in the list wins.
    """

    _metric_rows: list[tuple[str, float, int, int]]  # set by _from_rows only

    def __init__(
        self,
        metrics: list[Metric] | None = None,
        params: list[Param] | None = None,
        tags: list[RunTag] | None = None,
    ) -> None:
        self._metric_objs: list[Metric] = metrics or []
        self._metrics: dict[str, float] = {metric.key: metric.value for metric in self._metric_objs}
        self._params: dict[str, str] = {param.key: param.value for param in params or []}
        self._tags: dict[str, str] = {tag.key: tag.value for tag in tags or []}

    @classmethod
    def _from_rows(
        cls,
        metrics: list[tuple[str, float, int, int]],
        params: dict[str, str],
        tags: dict[str, str],
    ) -> RunData:
        """A RunData from (key, value, timestamp, step) rows and key/value dicts, for pages of search
        results: the Metric objects are made only if something asks for them."""
        data = cls.__new__(cls)
        data._metric_rows = metrics
        data._metrics = {row[0]: row[1] for row in metrics}
        data._params = params
        data._tags = tags
        return data

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes that are not set: the Metric objects of a RunData from _from_rows.
        if name == "_metric_objs":
            objs = [Metric(*row) for row in self.__dict__.get("_metric_rows", ())]
            self._metric_objs = objs
            return objs
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def metrics(self) -> dict[str, float]:
        return self._metrics

    @property
    def params(self) -> dict[str, str]:
        return self._params

    @property
    def tags(self) -> dict[str, str]:
        return self._tags

    def to_dictionary(self) -> dict[str, Any]:
        return {"metrics": self._metrics, "params": self._params, "tags": self._tags}
