"""The fold and the read side: segment schema, store layout, folding events into tables, snapshots.

``views`` knows the run model's tables but nothing of the fluent API. The compactor and the filter-string
language build on the same fold. Polars is imported only when a fold or a read first needs it, so that
``import eventlog`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from eventlog.views import _layout as layout
from eventlog.views._schema import (
    COLUMNS,
    EXPERIMENT_KINDS,
    KINDS,
    ORDER_KEY,
    RUN_KINDS,
    Kind,
    segment_schema,
)

if TYPE_CHECKING:
    from eventlog.views._compact import DEFAULT_RETENTION_S, CompactionResult, compact_stream, store_streams
    from eventlog.views._fold import ExperimentTables, RunTables, fold_experiments, fold_runs
    from eventlog.views._open import StoreView
    from eventlog.views._open import open_store as open
    from eventlog.views._snapshot import (
        SegmentCache,
        experiment_tables,
        list_run_index,
        partition_tables,
        read_events,
        read_segment_files,
    )
    from eventlog.views._streams import Commit, Stream, catalog_stream, latest_commit, partition_stream

__all__ = [
    "COLUMNS",
    "DEFAULT_RETENTION_S",
    "EXPERIMENT_KINDS",
    "KINDS",
    "ORDER_KEY",
    "RUN_KINDS",
    "Commit",
    "CompactionResult",
    "ExperimentTables",
    "Kind",
    "RunTables",
    "SegmentCache",
    "StoreView",
    "Stream",
    "catalog_stream",
    "compact_stream",
    "experiment_tables",
    "fold_experiments",
    "fold_runs",
    "latest_commit",
    "layout",
    "list_run_index",
    "open",
    "partition_stream",
    "partition_tables",
    "read_events",
    "read_segment_files",
    "segment_schema",
    "store_streams",
]

_LAZY = {
    "StoreView": "eventlog.views._open",
    "DEFAULT_RETENTION_S": "eventlog.views._compact",
    "CompactionResult": "eventlog.views._compact",
    "compact_stream": "eventlog.views._compact",
    "store_streams": "eventlog.views._compact",
    "Commit": "eventlog.views._streams",
    "Stream": "eventlog.views._streams",
    "catalog_stream": "eventlog.views._streams",
    "latest_commit": "eventlog.views._streams",
    "partition_stream": "eventlog.views._streams",
    "ExperimentTables": "eventlog.views._fold",
    "RunTables": "eventlog.views._fold",
    "fold_experiments": "eventlog.views._fold",
    "fold_runs": "eventlog.views._fold",
    "SegmentCache": "eventlog.views._snapshot",
    "experiment_tables": "eventlog.views._snapshot",
    "list_run_index": "eventlog.views._snapshot",
    "partition_tables": "eventlog.views._snapshot",
    "read_events": "eventlog.views._snapshot",
    "read_segment_files": "eventlog.views._snapshot",
}


def __getattr__(name: str) -> Any:
    if name == "open":  # views.open(uri): the analytics entry point
        from eventlog.views._open import open_store

        return open_store
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'views' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
