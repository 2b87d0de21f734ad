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
    from eventlog.views._encode import (
        Coded,
        Column,
        Numbers,
        segment_bytes,
        segment_table,
        split_by_experiment,
    )
    from eventlog.views._fold import ExperimentTables, RunTables, fold_experiments, fold_runs
    from eventlog.views._open import StoreView
    from eventlog.views._open import open_store as open
    from eventlog.views._search import RunPage, parse_search, search_runs
    from eventlog.views._snapshot import (
        SegmentCache,
        experiment_tables,
        list_run_index,
        partition_tables,
        read_events,
        read_segment_files,
        tail_stats,
    )
    from eventlog.views._streams import Commit, Stream, catalog_stream, latest_commit, partition_stream

__all__ = [
    "COLUMNS",
    "DEFAULT_RETENTION_S",
    "EXPERIMENT_KINDS",
    "KINDS",
    "ORDER_KEY",
    "RUN_KINDS",
    "Coded",
    "Column",
    "Commit",
    "CompactionResult",
    "ExperimentTables",
    "Kind",
    "Numbers",
    "RunPage",
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
    "parse_search",
    "partition_stream",
    "partition_tables",
    "read_events",
    "read_segment_files",
    "search_runs",
    "segment_bytes",
    "segment_schema",
    "segment_table",
    "split_by_experiment",
    "store_streams",
    "tail_stats",
]

_LAZY = {
    "StoreView": "eventlog.views._open",
    "Coded": "eventlog.views._encode",
    "Column": "eventlog.views._encode",
    "Numbers": "eventlog.views._encode",
    "segment_bytes": "eventlog.views._encode",
    "segment_table": "eventlog.views._encode",
    "split_by_experiment": "eventlog.views._encode",
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
    "tail_stats": "eventlog.views._snapshot",
    # search_runs: the one entry point of run search (in memory or lazily, chosen inside).
    "RunPage": "eventlog.views._search",
    "parse_search": "eventlog.views._search",
    "search_runs": "eventlog.views._search",
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
