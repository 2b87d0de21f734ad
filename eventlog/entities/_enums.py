"""Integer/string enumerations with MLflow's values: ViewType, RunStatus, LifecycleStage.

They are plain classes of constants, not ``enum.Enum``: MLflow code passes and compares the raw ints and
strings (``run.info.status == "FINISHED"``, ``run_view_type=3``), so the constants must be those values.
"""

from __future__ import annotations

from typing import ClassVar

from eventlog.exceptions import MlflowException

__all__ = ["LifecycleStage", "RunStatus", "ViewType"]


class ViewType:
    """Which lifecycle stages a search returns."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3
    _VIEW_TO_STRING: ClassVar[dict[int, str]] = {
        ACTIVE_ONLY: "active_only",
        DELETED_ONLY: "deleted_only",
        ALL: "all",
    }
    _STRING_TO_VIEW: ClassVar[dict[str, int]] = {text: view for view, text in _VIEW_TO_STRING.items()}

    @classmethod
    def from_string(cls, view_str: str) -> int:
        if view_str not in cls._STRING_TO_VIEW:
            # A plain Exception, like MLflow's.
            raise Exception(
                f"Could not get valid view type corresponding to string {view_str}. "
                f"Valid view types are {list(cls._STRING_TO_VIEW)}"
            )
        return cls._STRING_TO_VIEW[view_str]

    @classmethod
    def to_string(cls, view_type: int) -> str:
        if view_type not in cls._VIEW_TO_STRING:
            raise Exception(
                f"Could not get valid view type corresponding to string {view_type}. "
                f"Valid view types are {list(cls._VIEW_TO_STRING)}"
            )
        return cls._VIEW_TO_STRING[view_type]


class RunStatus:
    """Run status numbers (MLflow's proto values); ``RunInfo.status`` holds the string name."""

    RUNNING = 1
    SCHEDULED = 2
    FINISHED = 3
    FAILED = 4
    KILLED = 5
    _STRING_TO_STATUS: ClassVar[dict[str, int]] = {
        "RUNNING": RUNNING,
        "SCHEDULED": SCHEDULED,
        "FINISHED": FINISHED,
        "FAILED": FAILED,
        "KILLED": KILLED,
    }
    _STATUS_TO_STRING: ClassVar[dict[int, str]] = {status: text for text, status in _STRING_TO_STATUS.items()}
    _TERMINATED_STATUSES: ClassVar[frozenset[int]] = frozenset({FINISHED, FAILED, KILLED})

    @staticmethod
    def from_string(status_str: str) -> int:
        if status_str not in RunStatus._STRING_TO_STATUS:
            # A plain Exception, like MLflow's: end_run("BOGUS") surfaces exactly this.
            raise Exception(
                f"Could not get run status corresponding to string {status_str}. Valid run "
                f"status strings: {list(RunStatus._STRING_TO_STATUS)}"
            )
        return RunStatus._STRING_TO_STATUS[status_str]

    @staticmethod
    def to_string(status: int) -> str:
        if status not in RunStatus._STATUS_TO_STRING:
            raise Exception(
                f"Could not get string corresponding to run status {status}. Valid run "
                f"statuses: {list(RunStatus._STATUS_TO_STRING)}"
            )
        return RunStatus._STATUS_TO_STRING[status]

    @staticmethod
    def is_terminated(status: int) -> bool:
        return status in RunStatus._TERMINATED_STATUSES

    @staticmethod
    def all_status() -> list[int]:
        return list(RunStatus._STATUS_TO_STRING)


class LifecycleStage:
    """Lifecycle of runs and experiments: soft delete moves ``active`` to ``deleted``."""

    ACTIVE = "active"
    DELETED = "deleted"
    _VALID_STAGES: ClassVar[frozenset[str]] = frozenset({ACTIVE, DELETED})

    @classmethod
    def view_type_to_stages(cls, view_type: int = ViewType.ALL) -> list[str]:
        stages = []
        if view_type in (ViewType.ACTIVE_ONLY, ViewType.ALL):
            stages.append(cls.ACTIVE)
        if view_type in (ViewType.DELETED_ONLY, ViewType.ALL):
            stages.append(cls.DELETED)
        return stages

    @classmethod
    def is_valid(cls, lifecycle_stage: str) -> bool:
        return lifecycle_stage in cls._VALID_STAGES

    @classmethod
    def matches_view_type(cls, view_type: int, lifecycle_stage: str) -> bool:
        if not cls.is_valid(lifecycle_stage):
            raise MlflowException(f"Invalid lifecycle stage '{lifecycle_stage}'")
        if view_type == ViewType.ALL:
            return True
        if view_type == ViewType.ACTIVE_ONLY:
            return lifecycle_stage == cls.ACTIVE
        if view_type == ViewType.DELETED_ONLY:
            return lifecycle_stage == cls.DELETED
        raise MlflowException(f"Invalid view type '{view_type}'")
