"""The behaviour every entity shares with MLflow's ``_MlflowObject``: ``dict(obj)`` and ``repr``."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any, TypeVar

__all__ = ["Entity"]

_E = TypeVar("_E", bound="Entity")


class Entity:
    """Base of all entities.

    Iterating yields ``(name, value)`` for the properties defined *on the class itself*, sorted by name,
    so ``dict(entity)`` is a plain snapshot. Inherited properties are deliberately not listed: MLflow
    does the same, which is why ``dict(mlflow.active_run())`` is empty, and scripts may rely on it.
    """

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        for name in self._properties():
            yield name, getattr(self, name)

    @classmethod
    def _properties(cls) -> list[str]:
        return sorted(
            name for name, attr in vars(cls).items() if isinstance(attr, (property, cached_property))
        )

    @classmethod
    def from_dictionary(cls: type[_E], the_dict: dict[str, Any]) -> _E:
        """Build an entity from a dict, ignoring keys that are not properties of the class."""
        names = set(cls._properties())
        return cls(**{key: value for key, value in the_dict.items() if key in names})

    def __repr__(self) -> str:
        return _to_string(self)


def _to_string(value: object) -> str:
    if isinstance(value, Entity):
        fields = ", ".join(f"{name}={_to_string(field)}" for name, field in value)
        return f"<{type(value).__name__}: {fields}>"
    # pprint wraps long containers over several lines exactly like MLflow's repr; imported here because
    # it is only needed when an entity is printed.
    import pprint

    return pprint.pformat(value)
