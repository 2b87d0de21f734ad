"""RunInputs and RunOutputs: dataset/model inputs and model outputs of a run.

eventlog records no datasets or logged models yet, so these are the empty containers MLflow returns for
a run without any; items, when given, only need a ``to_dictionary()`` method.
"""

from __future__ import annotations

from typing import Any

from eventlog.entities._base import Entity

__all__ = ["RunInputs", "RunOutputs"]


class RunInputs(Entity):
    def __init__(
        self, dataset_inputs: list[Any] | None = None, model_inputs: list[Any] | None = None
    ) -> None:
        self._dataset_inputs: list[Any] = dataset_inputs if dataset_inputs is not None else []
        self._model_inputs: list[Any] = model_inputs or []

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.__dict__ == other.__dict__

    @property
    def dataset_inputs(self) -> list[Any]:
        return self._dataset_inputs

    @property
    def model_inputs(self) -> list[Any]:
        return self._model_inputs

    def to_dictionary(self) -> dict[str, Any]:
        # MLflow leaves model inputs as objects here but converts dataset inputs; same key order too.
        return {
            "model_inputs": self._model_inputs,
            "dataset_inputs": [item.to_dictionary() for item in self._dataset_inputs],
        }


class RunOutputs(Entity):
    def __init__(self, model_outputs: list[Any] | None = None) -> None:
        self._model_outputs: list[Any] = model_outputs if model_outputs is not None else []

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.__dict__ == other.__dict__

    @property
    def model_outputs(self) -> list[Any]:
        return self._model_outputs

    def to_dictionary(self) -> dict[str, Any]:
        return {"model_outputs": [item.to_dictionary() for item in self._model_outputs]}
