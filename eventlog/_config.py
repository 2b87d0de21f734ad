"""Configuration in one place: explicit arguments > ``EVENTLOG_*`` variables > MLflow's variables > defaults.

Everything is read when it is needed (when a store or client is built), never frozen at import.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventlog.storage import Location

__all__ = [
    "WriterSettings",
    "default_tracking_uri",
    "env_storage_options",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "set_tracking_uri",
    "storage_options_from_env",
    "writer_settings",
]

DEFAULT_STORE_DIR = "mlruns"
DEFAULT_FLUSH_INTERVAL_S = 2.0
DEFAULT_FLUSH_ROWS = 100_000

_tracking_uri: str | None = None
_storage_options: dict[str, Any] | None = None


def set_tracking_uri(
    uri: str | os.PathLike[str] | None, storage_options: dict[str, Any] | None = None
) -> None:
    """Set the store for this process (and, through the environment, for its children)."""
    global _tracking_uri, _storage_options
    if uri is None:
        _tracking_uri = None
        _storage_options = None
        os.environ.pop("EVENTLOG_TRACKING_URI", None)
        return
    if isinstance(uri, Path):
        text = uri.absolute().resolve().as_uri()
    else:
        text = os.fspath(uri)
    _tracking_uri = text
    _storage_options = dict(storage_options) if storage_options else None
    os.environ["EVENTLOG_TRACKING_URI"] = text


def default_tracking_uri() -> str:
    return Path(DEFAULT_STORE_DIR).absolute().as_uri()


def get_tracking_uri() -> str:
    if _tracking_uri is not None:
        return _tracking_uri
    for variable in ("EVENTLOG_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        value = os.environ.get(variable)
        if value:
            return value
    return default_tracking_uri()


def is_tracking_uri_set() -> bool:
    return _tracking_uri is not None or bool(
        os.environ.get("EVENTLOG_TRACKING_URI") or os.environ.get("MLFLOW_TRACKING_URI")
    )


def storage_options_from_env() -> dict[str, Any]:
    """Options for fsspec: those given to set_tracking_uri, else the JSON in EVENTLOG_STORAGE_OPTIONS."""
    if _storage_options is not None:
        return dict(_storage_options)
    return env_storage_options()


def env_storage_options() -> dict[str, Any]:
    """The JSON object in EVENTLOG_STORAGE_OPTIONS (empty when unset)."""
    raw = os.environ.get("EVENTLOG_STORAGE_OPTIONS")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"EVENTLOG_STORAGE_OPTIONS must be a JSON object: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError("EVENTLOG_STORAGE_OPTIONS must be a JSON object")
    return value


@dataclass(frozen=True)
class WriterSettings:
    flush_interval: float
    flush_rows: int
    # "end_run" (default): end_run and other run-lifecycle calls are durable when they return. "interval":
    # they are handed to the background flusher like metrics; a SIGKILL loses at most the last interval.
    durability: str = "end_run"
    # Automatic compaction (EVENTLOG_AUTO_COMPACT=0 turns it off) and the tail it starts at.
    auto_compact: bool = True
    auto_compact_segments: int = 256


def _positive(variable: str, default: float, kind: type) -> Any:
    raw = os.environ.get(variable)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{variable}={raw!r} is not a number") from None
    if value <= 0:
        raise ValueError(f"{variable} must be positive, got {raw!r}")
    return value


DURABILITY_CHOICES = ("end_run", "interval")


def writer_settings() -> WriterSettings:
    durability = os.environ.get("EVENTLOG_DURABILITY", "").strip().lower() or "end_run"
    if durability not in DURABILITY_CHOICES:
        raise ValueError(
            f"EVENTLOG_DURABILITY={durability!r}: use 'end_run' (the default: end_run is durable when it "
            "returns) or 'interval' (end_run is flushed with the next background flush)"
        )
    auto = os.environ.get("EVENTLOG_AUTO_COMPACT", "1").strip().lower()
    if auto not in ("0", "1", "false", "true", "no", "yes", "off", "on"):
        raise ValueError(f"EVENTLOG_AUTO_COMPACT={auto!r}: use 1 (the default) or 0")
    return WriterSettings(
        flush_interval=float(_positive("EVENTLOG_FLUSH_INTERVAL", DEFAULT_FLUSH_INTERVAL_S, float)),
        flush_rows=int(_positive("EVENTLOG_FLUSH_ROWS", DEFAULT_FLUSH_ROWS, int)),
        durability=durability,
        auto_compact=auto in ("1", "true", "yes", "on"),
        auto_compact_segments=int(_positive("EVENTLOG_AUTO_COMPACT_SEGMENTS", 256, int)),
    )


# -- search ---------------------------------------------------------------------------------------------
DEFAULT_SEARCH_MEMORY_ROWS = 2_000_000


def search_memory_rows() -> int:
    """``EVENTLOG_SEARCH_MEMORY_ROWS``: a partition whose runs, params, tags and latest metrics hold at
    most this many rows is searched in memory (read once per snapshot, then kept); larger ones are
    scanned from their Parquet files per query. 0 turns the in-memory search off."""
    raw = os.environ.get("EVENTLOG_SEARCH_MEMORY_ROWS")
    if raw is None or raw == "":
        return DEFAULT_SEARCH_MEMORY_ROWS
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"EVENTLOG_SEARCH_MEMORY_ROWS={raw!r} is not a whole number") from None
    if value < 0:
        raise ValueError(f"EVENTLOG_SEARCH_MEMORY_ROWS must be 0 or more, got {raw!r}")
    return value


# -- artifacts ------------------------------------------------------------------------------------------
_artifact_root: str | None = None


def set_default_artifact_root(uri: str | os.PathLike[str] | None) -> None:
    """Set the default artifact root of this process (None: back to the default).

    Read when a store is opened (the first use of a tracking URI in the process), so set it before logging,
    as with ``set_tracking_uri``. Experiments keep the artifact location they were created with
    (``<root>/<experiment_id>``); runs store their artifacts under ``<artifact_location>/<run_id>/artifacts``.
    """
    global _artifact_root
    _artifact_root = None if uri is None else _artifact_uri_text(uri)


def default_artifact_root(location: Location) -> str:
    """Where new experiments put their artifacts: ``set_default_artifact_root`` >
    ``EVENTLOG_ARTIFACT_ROOT`` > ``MLFLOW_DEFAULT_ARTIFACT_ROOT`` (the variable behind ``mlflow server
    --default-artifact-root``) > ``<store>/artifacts``. ``location`` is the tracking store's
    ``storage.Location``. Any fsspec URL may be given; a local path is made absolute.
    """
    if _artifact_root is not None:
        return _artifact_root
    for variable in ("EVENTLOG_ARTIFACT_ROOT", "MLFLOW_DEFAULT_ARTIFACT_ROOT"):
        value = os.environ.get(variable)
        if value:
            return _artifact_uri_text(value)
    return location.child_uri("artifacts")


def _artifact_uri_text(uri: str | os.PathLike[str]) -> str:
    text = os.fspath(uri)
    if isinstance(uri, Path) or "://" not in text:
        # A local path: stored as an absolute file URI, so the location does not depend on the cwd.
        return Path(text).expanduser().absolute().as_uri()
    return text.rstrip("/")


def artifact_storage_options_from_env() -> dict[str, Any]:
    """fsspec options for an artifact root whose scheme differs from the tracking store's: the JSON
    object in ``EVENTLOG_ARTIFACT_STORAGE_OPTIONS`` (empty when unset)."""
    raw = os.environ.get("EVENTLOG_ARTIFACT_STORAGE_OPTIONS")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"EVENTLOG_ARTIFACT_STORAGE_OPTIONS must be a JSON object: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError("EVENTLOG_ARTIFACT_STORAGE_OPTIONS must be a JSON object")
    return value


__all__ += [
    "artifact_storage_options_from_env",
    "default_artifact_root",
    "set_default_artifact_root",
]
