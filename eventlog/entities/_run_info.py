"""RunInfo: a run's metadata (ids, user, status, times, lifecycle, artifact location, name)."""

from __future__ import annotations

from eventlog.entities._base import Entity

__all__ = ["RunInfo"]


class _searchable(property):
    """A property that filter strings and order_by may name as a run attribute."""


class RunInfo(Entity):
    """Metadata about a run. ``status`` is the string name (``"RUNNING"``), times are epoch milliseconds."""

    def __init__(
        self,
        run_id: str,
        experiment_id: str,
        user_id: str,
        status: str,
        start_time: int,
        end_time: int | None,
        lifecycle_stage: str,
        artifact_uri: str | None = None,
        run_name: str | None = None,
    ) -> None:
        # Same guards and the same plain Exception as MLflow.
        for name, value in (
            ("experiment_id", experiment_id),
            ("user_id", user_id),
            ("status", status),
            ("start_time", start_time),
        ):
            if value is None:
                raise Exception(f"{name} cannot be None")
        self._run_id = run_id
        self._experiment_id = experiment_id
        self._user_id = user_id
        self._status = status
        self._start_time = start_time
        self._end_time = end_time
        self._lifecycle_stage = lifecycle_stage
        self._artifact_uri = artifact_uri
        self._run_name = run_name

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.__dict__ == other.__dict__

    @_searchable
    def run_id(self) -> str:
        return self._run_id

    @property
    def experiment_id(self) -> str:
        return self._experiment_id

    @_searchable
    def run_name(self) -> str | None:
        return self._run_name

    @_searchable
    def user_id(self) -> str:
        return self._user_id

    @_searchable
    def status(self) -> str:
        """One of the RunStatus names: RUNNING, SCHEDULED, FINISHED, FAILED, KILLED."""
        return self._status

    @_searchable
    def start_time(self) -> int:
        return self._start_time

    @_searchable
    def end_time(self) -> int | None:
        return self._end_time

    @_searchable
    def artifact_uri(self) -> str | None:
        return self._artifact_uri

    @property
    def lifecycle_stage(self) -> str:
        return self._lifecycle_stage

    def _copy_with_overrides(
        self,
        status: str | None = None,
        end_time: int | None = None,
        lifecycle_stage: str | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        """A copy with the given fields replaced; falsy overrides keep the old value, as in MLflow."""
        return RunInfo(
            run_id=self._run_id,
            experiment_id=self._experiment_id,
            user_id=self._user_id,
            status=status or self._status,
            start_time=self._start_time,
            end_time=end_time or self._end_time,
            lifecycle_stage=lifecycle_stage or self._lifecycle_stage,
            artifact_uri=self._artifact_uri,
            run_name=run_name or self._run_name,
        )

    @classmethod
    def get_searchable_attributes(cls) -> list[str]:
        return sorted(name for name, attr in vars(cls).items() if isinstance(attr, _searchable))

    @classmethod
    def get_orderable_attributes(cls) -> list[str]:
        # Every searchable attribute can also be ordered by.
        return cls.get_searchable_attributes()
