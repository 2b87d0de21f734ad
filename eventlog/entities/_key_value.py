"""Param, RunTag and ExperimentTag: string key/value pairs with MLflow's equality rules."""

from __future__ import annotations

import sys

from eventlog.entities._base import Entity

__all__ = ["ExperimentTag", "Param", "RunTag"]


class Param(Entity):
    """A run parameter. Equal and hashed by key only (a run holds one value per key)."""

    def __init__(self, key: str, value: str) -> None:
        # MLflow accepts a pyspark.ml Param object as the key; only look if pyspark is already loaded.
        if "pyspark.ml" in sys.modules:
            import pyspark.ml.param

            if isinstance(key, pyspark.ml.param.Param):
                key, value = key.name, str(value)
        self._key = key
        self._value = value

    @property
    def key(self) -> str:
        return self._key

    @property
    def value(self) -> str:
        return self._value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, self.__class__) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)


class _Tag(Entity):
    """A string tag. Equality compares every field; defining ``__eq__`` alone leaves it unhashable, as
    MLflow's tags are."""

    def __init__(self, key: str, value: str) -> None:
        self._key = key
        self._value = value

    @property
    def key(self) -> str:
        return self._key

    @property
    def value(self) -> str:
        return self._value

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.__dict__ == other.__dict__


class RunTag(_Tag):
    """A tag on a run (upserted by set_tag)."""

    # Properties are listed per class (see Entity), so the subclasses restate them.
    key = _Tag.key
    value = _Tag.value


class ExperimentTag(_Tag):
    """A tag on an experiment."""

    key = _Tag.key
    value = _Tag.value
