"""The format marker at a store's root: what the directory is and which format version it holds."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from eventlog.storage._errors import NotAnEventlogStoreError
from eventlog.storage._location import Location

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "MARKER_FILE", "StoreMarker", "ensure_store", "read_marker"]

MARKER_FILE = "eventlog-store.json"
FORMAT_NAME = "eventlog"
FORMAT_VERSION = 2


@dataclass(frozen=True)
class StoreMarker:
    format: str
    version: int


def _describe_foreign(location: Location) -> str:
    names = location.list_names("")
    dirs = location.list_dirs("")
    if "mlflow.db" in names:
        return "an MLflow SQLite database"
    if "meta.yaml" in names or any(
        location.exists(f"{d}/meta.yaml") for d in dirs if d.isdigit() or d == ".trash"
    ):
        return "an MLflow file store (./mlruns)"
    return "files that are not an eventlog store"


def read_marker(location: Location) -> StoreMarker | None:
    """The marker, or None where the location is empty or absent. Foreign contents raise."""
    try:
        raw = location.read_bytes(MARKER_FILE)
    except (NotADirectoryError, IsADirectoryError):
        raise NotAnEventlogStoreError(
            f"{location.uri} is a file, not a directory; point the tracking URI at a directory."
        ) from None
    except FileNotFoundError:
        if location.is_local and os.path.isfile(location.root):
            raise NotAnEventlogStoreError(
                f"{location.uri} is a file, not a directory; point the tracking URI at a directory."
            ) from None
        if (location.list_names("") or location.list_dirs("")) and not location.exists(MARKER_FILE):
            # (The second look at the marker: another process may have just created the store.)
            raise NotAnEventlogStoreError(
                f"{location.uri} holds {_describe_foreign(location)}; eventlog will not write into it and "
                "has touched nothing. Point the tracking URI at an empty or new directory."
            ) from None
        if not location.exists(MARKER_FILE):
            return None
        raw = location.read_bytes(MARKER_FILE)
    try:
        doc = json.loads(raw)
        marker = StoreMarker(format=str(doc["format"]), version=int(doc["version"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise NotAnEventlogStoreError(
            f"{location.uri}/{MARKER_FILE} is not a valid store marker: {exc}"
        ) from exc
    if marker.format != FORMAT_NAME:
        raise NotAnEventlogStoreError(f"{location.uri} is a {marker.format!r} store, not an eventlog store.")
    if marker.version > FORMAT_VERSION:
        raise NotAnEventlogStoreError(
            f"{location.uri} uses eventlog format version {marker.version}; this eventlog reads versions up "
            f"to {FORMAT_VERSION}. Upgrade eventlog to use this store."
        )
    return marker


def ensure_store(location: Location) -> tuple[StoreMarker, bool]:
    """Check the location is an eventlog store, creating the marker if it is empty.

    Returns the marker and whether this call created it. Many processes may race here; put-if-absent
    makes exactly one of them the creator and the others readers of the same marker.
    """
    marker = read_marker(location)
    if marker is not None:
        return marker, False
    doc = json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION}).encode()
    try:
        location.put_if_absent(MARKER_FILE, doc)
    except FileExistsError:
        found = read_marker(location)
        if found is None:  # unreachable unless the marker is deleted between the two calls
            raise NotAnEventlogStoreError(
                f"{location.uri}: the store marker vanished while opening"
            ) from None
        return found, False
    return StoreMarker(FORMAT_NAME, FORMAT_VERSION), True
