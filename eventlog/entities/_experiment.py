"""Experiment: a named group of runs with an artifact location, lifecycle stage and tags."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from eventlog.entities._base import Entity
from eventlog.entities._key_value import ExperimentTag

__all__ = ["Experiment"]

_DEFAULT_WORKSPACE = "default"


def _resolve_workspace(workspace: str | None) -> str:
    # MLflow's order: the store's value, then env MLFLOW_WORKSPACE, then "default"; blanks do not count.
    for candidate in (workspace, os.environ.get("MLFLOW_WORKSPACE")):
        if candidate is not None and candidate.strip():
            return candidate.strip()
    return _DEFAULT_WORKSPACE


class Experiment(Entity):
    """An experiment. Compared by identity, like MLflow's."""

    DEFAULT_EXPERIMENT_NAME = "Default"

    def __init__(
        self,
        experiment_id: str,
        name: str,
        artifact_location: str,
        lifecycle_stage: str,
        tags: Iterable[ExperimentTag] | Mapping[str, str] | None = None,
        creation_time: int | None = None,
        last_update_time: int | None = None,
        workspace: str | None = None,
        trace_location: Any = None,
        effective_trace_archival_retention: str | None = None,
    ) -> None:
        self._experiment_id = experiment_id
        self._name = name
        self._artifact_location = artifact_location
        self._lifecycle_stage = lifecycle_stage
        # MLflow takes a list of ExperimentTag; a {key: value} mapping is accepted too for convenience.
        if isinstance(tags, Mapping):
            self._tags: dict[str, str] = dict(tags)
        else:
            self._tags = {tag.key: tag.value for tag in tags or []}
        self._creation_time = creation_time
        self._last_update_time = last_update_time
        self._workspace = _resolve_workspace(workspace)
        # Tracing fields of MLflow 3.x: kept only so dict(experiment) has MLflow's keys; eventlog
        # stores no traces, so they stay None unless a caller sets them.
        self._trace_location = trace_location
        self._effective_trace_archival_retention = effective_trace_archival_retention

    @property
    def experiment_id(self) -> str:
        return self._experiment_id

    @property
    def name(self) -> str:
        return self._name

    @property
    def artifact_location(self) -> str:
        return self._artifact_location

    @property
    def lifecycle_stage(self) -> str:
        """``"active"`` or ``"deleted"``."""
        return self._lifecycle_stage

    @property
    def tags(self) -> dict[str, str]:
        return self._tags

    @property
    def creation_time(self) -> int | None:
        return self._creation_time

    @property
    def last_update_time(self) -> int | None:
        return self._last_update_time

    @property
    def workspace(self) -> str:
        return self._workspace

    @property
    def trace_location(self) -> Any:
        return self._trace_location

    @trace_location.setter
    def trace_location(self, trace_location: Any) -> None:
        self._trace_location = trace_location

    @property
    def effective_trace_archival_retention(self) -> str | None:
        return self._effective_trace_archival_retention

    @effective_trace_archival_retention.setter
    def effective_trace_archival_retention(self, value: str | None) -> None:
        self._effective_trace_archival_retention = value
