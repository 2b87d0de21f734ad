"""The segment schema: one Arrow schema for every event, and the closed set of event kinds.

This is the on-disk contract between the writer (``eventlog``) and the fold (``views``), documented in
``docs/format.md``. Every segment holds every column; columns an event kind does not use are null, which
Parquet stores in a few bits.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "COLUMNS",
    "EXPERIMENT_KINDS",
    "KINDS",
    "ORDER_KEY",
    "RUN_KINDS",
    "Kind",
    "segment_schema",
]


class Kind:
    """Event kind names, as stored in the ``kind`` column."""

    EXPERIMENT_CREATED: Final = "experiment_created"
    EXPERIMENT_RENAMED: Final = "experiment_renamed"
    EXPERIMENT_DELETED: Final = "experiment_deleted"
    EXPERIMENT_RESTORED: Final = "experiment_restored"
    EXPERIMENT_TAG_SET: Final = "experiment_tag_set"
    EXPERIMENT_TAG_DELETED: Final = "experiment_tag_deleted"
    RUN_CREATED: Final = "run_created"
    RUN_UPDATED: Final = "run_updated"
    RUN_DELETED: Final = "run_deleted"
    RUN_RESTORED: Final = "run_restored"
    PARAM: Final = "param"
    METRIC: Final = "metric"
    TAG_SET: Final = "tag_set"
    TAG_DELETED: Final = "tag_deleted"
    ARTIFACT: Final = "artifact"


KINDS: Final = (
    Kind.EXPERIMENT_CREATED,
    Kind.EXPERIMENT_RENAMED,
    Kind.EXPERIMENT_DELETED,
    Kind.EXPERIMENT_RESTORED,
    Kind.EXPERIMENT_TAG_SET,
    Kind.EXPERIMENT_TAG_DELETED,
    Kind.RUN_CREATED,
    Kind.RUN_UPDATED,
    Kind.RUN_DELETED,
    Kind.RUN_RESTORED,
    Kind.PARAM,
    Kind.METRIC,
    Kind.TAG_SET,
    Kind.TAG_DELETED,
    Kind.ARTIFACT,
)
EXPERIMENT_KINDS: Final = KINDS[:6]
RUN_KINDS: Final = KINDS[6:]

# Column name -> Arrow type name. Order is the on-disk column order.
COLUMNS: Final = (
    ("writer", "string"),  # id of the writer that recorded the event (unique per process lifetime)
    ("seq", "int64"),  # per-writer sequence number; (writer, seq) is the event id
    ("kind", "string"),  # one of KINDS
    ("timestamp", "int64"),  # ms since epoch: when the event was recorded; for metrics, the metric's time
    ("experiment_id", "string"),
    ("run_id", "string"),
    ("key", "string"),  # param / metric / tag key
    ("value", "float64"),  # metric value
    ("step", "int64"),  # metric step
    ("text", "string"),  # param value, tag value
    ("name", "string"),  # run name or experiment name
    ("status", "string"),  # run status (RUNNING, FINISHED, ...)
    ("start_time", "int64"),
    ("end_time", "int64"),
    ("user_id", "string"),
    ("artifact_uri", "string"),  # run artifact URI, or experiment artifact location
    ("size", "int64"),  # artifact file size in bytes
    ("checksum", "string"),  # artifact checksum, "sha256:<hex>"
)

# Events that are not metrics are applied in this order: time, then writer, then the writer's sequence.
ORDER_KEY: Final = ("timestamp", "writer", "seq")


@functools.cache
def segment_schema() -> pa.Schema:
    """The Arrow schema of a segment (built once: every flush asks for it)."""
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}
    return pa.schema([pa.field(name, types[kind]) for name, kind in COLUMNS])
