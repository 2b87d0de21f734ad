"""Artifact path rules: which artifact paths and file names a run's root accepts, with MLflow's errors."""

from __future__ import annotations

import os
import posixpath
import re

from eventlog import storage
from eventlog.exceptions import InvalidParameterValue

__all__ = [
    "OUTSIDE",
    "artifact_dir",
    "check_image_key",
    "check_inside",
    "check_table_file",
    "file_name",
    "join",
    "relative",
    "split_artifact_file",
]

OUTSIDE = "Invalid path: resolved path is outside the artifact directory"
_TABLE_FORBIDDEN = ('"', "'", ",", ":", "[", "]", "{", "}")
_IMAGE_KEY = re.compile(r"^[a-zA-Z0-9_\-./ ]+$")


def _bad_path(name: str) -> InvalidParameterValue:
    resolved = posixpath.normpath(name)
    return InvalidParameterValue(
        f"Invalid artifact path: '{name}'. Names may be treated as files in certain cases, and must not "
        f"resolve to other names when treated as such. This name would resolve to {resolved!r}"
    )


def artifact_dir(artifact_path: str | os.PathLike[str] | None) -> str:
    """An ``artifact_path`` argument as a clean relative directory ("" for the root), or an error.

    MLflow's rule: the path must be its own normal form, so no ``..`` or ``.`` segments, no ``//``, no
    leading ``/``.
    """
    if artifact_path is None:
        return ""
    text = os.fspath(artifact_path)
    if text == "":
        return ""
    norm = posixpath.normpath(text)
    if norm != text or norm == "." or norm.startswith("..") or norm.startswith("/") or "\x00" in text:
        raise _bad_path(text)
    return norm


def file_name(name: str) -> str:
    """``name`` if a logged file may have it (names of uploads in progress are reserved)."""
    if name.startswith(storage.TEMP_PREFIX):
        raise InvalidParameterValue(
            f"Invalid artifact file name: '{name}'. Artifact names starting with '{storage.TEMP_PREFIX}' "
            "are reserved."
        )
    return name


def split_artifact_file(artifact_file: str | os.PathLike[str]) -> tuple[str, str]:
    """(directory, file name) of an ``artifact_file`` argument, as MLflow splits it: normalised first
    (``a/../b.txt`` is ``b.txt``), then the directory must pass the ``artifact_path`` rule."""
    text = os.fspath(artifact_file)
    directory, name = posixpath.split(posixpath.normpath(text))
    directory = artifact_dir(directory or None)
    if name in ("", ".", "..") or "\x00" in name:
        raise InvalidParameterValue(
            f"Invalid artifact file: '{text}'. It must name a file under the run's artifact root, "
            "e.g. 'dir/file.txt'."
        )
    return directory, file_name(name)


def relative(path: str | os.PathLike[str] | None) -> str:
    """A path to read (list, download) made relative to the root: normalised, never leaving the root."""
    text = "" if path is None else os.fspath(path)
    norm = posixpath.normpath(text) if text else "."
    if norm.startswith("/") or norm == ".." or norm.startswith("../") or "\x00" in text:
        raise InvalidParameterValue(OUTSIDE)
    return "" if norm == "." else norm


def join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def check_inside(location: storage.Location, rel: str) -> None:
    """On local disk, a symlink inside the root must not lead out of it."""
    if not location.is_local:
        return
    base = os.path.realpath(location.root)
    target = os.path.realpath(location.full_path(rel))
    if target != base and not target.startswith(base.rstrip(os.sep) + os.sep):
        raise InvalidParameterValue(OUTSIDE)


def check_table_file(artifact_file: str) -> None:
    """A table's ``artifact_file`` may not hold the characters MLflow forbids there."""
    for char in _TABLE_FORBIDDEN:
        if char in artifact_file:
            raise ValueError(f"The artifact_file contains forbidden character: {char}")


def check_image_key(key: str) -> None:
    """An image series' ``key`` (part of its files' names) uses MLflow's characters only."""
    if not _IMAGE_KEY.match(key):
        raise ValueError(
            "The `key` parameter may only contain alphanumerics, underscores (_), dashes (-), periods (.), "
            f"spaces ( ), and slashes (/).The provided key `{key}` contains invalid characters."
        )
