"""Metric: one logged value of a metric key at a (timestamp, step)."""

from __future__ import annotations

from typing import Any

from eventlog.entities._base import Entity
from eventlog.exceptions import INVALID_PARAMETER_VALUE, MlflowException

__all__ = ["Metric"]


class Metric(Entity):
    """A metric value. Equal when every field is equal; hashable, so histories can be de-duplicated."""

    def __init__(
        self,
        key: str,
        value: float,
        timestamp: int,
        step: int,
        model_id: str | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        run_id: str | None = None,
    ) -> None:
        if (dataset_name is None) != (dataset_digest is None):
            raise MlflowException(
                "Both dataset_name and dataset_digest must be provided if one is provided",
                INVALID_PARAMETER_VALUE,
            )
        self._key = key
        self._value = value
        self._timestamp = timestamp
        self._step = step
        self._model_id = model_id
        self._dataset_name = dataset_name
        self._dataset_digest = dataset_digest
        self._run_id = run_id

    @property
    def key(self) -> str:
        return self._key

    @property
    def value(self) -> float:
        return self._value

    @property
    def timestamp(self) -> int:
        """Milliseconds since the Unix epoch."""
        return self._timestamp

    @property
    def step(self) -> int:
        return self._step

    @property
    def model_id(self) -> str | None:
        return self._model_id

    @property
    def dataset_name(self) -> str | None:
        return self._dataset_name

    @property
    def dataset_digest(self) -> str | None:
        return self._dataset_digest

    @property
    def run_id(self) -> str | None:
        return self._run_id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, self.__class__) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash(
            (
                self._key,
                self._value,
                self._timestamp,
                self._step,
                self._model_id,
                self._dataset_name,
                self._dataset_digest,
                self._run_id,
            )
        )

    def to_dictionary(self) -> dict[str, Any]:
        return {
            "key": self._key,
            "value": self._value,
            "timestamp": self._timestamp,
            "step": self._step,
            "model_id": self._model_id,
            "dataset_name": self._dataset_name,
            "dataset_digest": self._dataset_digest,
            "run_id": self._run_id,
        }

    @classmethod
    def from_dictionary(cls, metric_dict: dict[str, Any]) -> Metric:
        missing = [key for key in ("key", "value", "timestamp", "step") if key not in metric_dict]
        if missing:
            raise MlflowException(
                f"Missing required keys {missing} in metric dictionary", INVALID_PARAMETER_VALUE
            )
        return cls(**metric_dict)
