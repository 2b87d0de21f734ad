"""Run: a RunInfo plus its RunData, inputs and outputs."""

from __future__ import annotations

from typing import Any

from eventlog.entities._base import Entity
from eventlog.entities._run_data import RunData
from eventlog.entities._run_info import RunInfo
from eventlog.entities._run_io import RunInputs, RunOutputs
from eventlog.exceptions import MlflowException

__all__ = ["Run"]


class Run(Entity):
    """A run as returned by get_run/search_runs. Compared by identity, like MLflow's."""

    def __init__(
        self,
        run_info: RunInfo,
        run_data: RunData,
        run_inputs: RunInputs | None = None,
        run_outputs: RunOutputs | None = None,
    ) -> None:
        if run_info is None:
            raise MlflowException("run_info cannot be None")
        self._info = run_info
        self._data = run_data
        self._inputs = run_inputs
        self._outputs = run_outputs

    @property
    def info(self) -> RunInfo:
        return self._info

    @property
    def data(self) -> RunData:
        return self._data

    @property
    def inputs(self) -> RunInputs | None:
        return self._inputs

    @property
    def outputs(self) -> RunOutputs | None:
        return self._outputs

    def to_dictionary(self) -> dict[str, Any]:
        result: dict[str, Any] = {"info": dict(self._info)}
        if self._data is not None:
            result["data"] = self._data.to_dictionary()
        if self._inputs is not None:
            result["inputs"] = self._inputs.to_dictionary()
        if self._outputs is not None:
            result["outputs"] = self._outputs.to_dictionary()
        return result
