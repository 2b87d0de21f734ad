"""FileInfo: one entry of an artifact listing."""

from __future__ import annotations

from eventlog.entities._base import Entity

__all__ = ["FileInfo"]


class FileInfo(Entity):
    """A file or directory under a run's artifact root; ``file_size`` is None for directories."""

    def __init__(self, path: str, is_dir: bool, file_size: int | None) -> None:
        self._path = path
        self._is_dir = is_dir
        self._bytes = file_size  # MLflow's attribute name, kept for code that reads it

    @property
    def path(self) -> str:
        """Path relative to the artifact root, with '/' separators."""
        return self._path

    @property
    def is_dir(self) -> bool:
        return self._is_dir

    @property
    def file_size(self) -> int | None:
        return self._bytes

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.__dict__ == other.__dict__
