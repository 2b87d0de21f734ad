"""The objects eventlog returns, shaped like ``mlflow.entities`` (constructors, properties, ``dict()``,
``repr`` and equality), so code written against MLflow's entities reads them unchanged.

They hold values only: no I/O, no references to a store.
"""

from eventlog.entities._enums import LifecycleStage, RunStatus, ViewType
from eventlog.entities._experiment import Experiment
from eventlog.entities._file_info import FileInfo
from eventlog.entities._key_value import ExperimentTag, Param, RunTag
from eventlog.entities._metric import Metric
from eventlog.entities._paged_list import PagedList
from eventlog.entities._run import Run
from eventlog.entities._run_data import RunData
from eventlog.entities._run_info import RunInfo
from eventlog.entities._run_io import RunInputs, RunOutputs

__all__ = [
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "LifecycleStage",
    "Metric",
    "PagedList",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunOutputs",
    "RunStatus",
    "RunTag",
    "ViewType",
]
