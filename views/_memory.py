"""In-memory search of a partition small enough to hold: the warm path of search_runs.

The lazy path (``views._search``) scans Parquet files per query, which is what a million-run partition
needs, but a query then pays a scan's fixed costs several times over: at 10,000 runs that is most of
its time. A partition whose tables fit under a row budget is instead read once per snapshot and kept as
a ``MemoryPartition``, cached by the files it came from (immutable, so it never goes stale; a new
segment or commit is a new snapshot and a new entry). A query is then one filter over a frame of the
runs with one column per param, tag or metric the query names — dense columns aligned on ``run_idx``,
built on first use — a sort, and a gather of the page's rows through per-run offsets.

Semantics are the lazy path's: the same bound filter expression (a run without a key compares as null,
which never matches), the same sort expressions and tie-breakers.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from eventlog.storage import Location
from eventlog.views._fold import indexed_tables
from eventlog.views._search import (
    _PREFIX_TABLE,
    INFO_COLUMNS,
    MEMORY_SEARCH_ROWS,
    MetricRow,
    PageRows,
    RunPage,
)
from eventlog.views._search import ATTRIBUTE_COLUMNS as _ATTRIBUTES
from eventlog.views._snapshot import SegmentCache, Snapshot, read_table, snapshot, snapshot_tables
from eventlog.views._streams import Commit, partition_stream
from eventlog.views.filter import (
    Column,
    Filter,
    NumberColumn,
    OrderKey,
    TextColumn,
    Unsupported,
    evaluate_columns,
    filter_expr,
    order_by_exprs,
    sort_rows,
    text_column,
    with_tiebreakers,
)

__all__ = [
    "INFO_COLUMNS",
    "MEMORY_SEARCH_ROWS",
    "MemoryPartition",
    "MetricRow",
    "PageRows",
    "memory_partition",
    "merge_candidates",
    "search_in_memory",
]

_VALUE_TYPE = {"params": pl.String, "tags": pl.String, "metrics": pl.Float64}
_SEARCH_TABLES = ("runs", "params", "tags", "latest_metrics")
_PAGE_TABLES = ("params_by_run", "tags_by_run", "latest_metrics_by_run")
# Partitions up to this many rows keep their page data as Python lists too (see MemoryPartition.page).
_LIST_ROWS = 1_000_000


@dataclass(frozen=True)
class _Lists:
    """A partition's page data as Python lists, so a page is list slicing with no conversion at all.
    Repeated strings (keys, most param and tag values) are shared, not copied per row."""

    runs: list[tuple[Any, ...]]  # by run_idx
    params: tuple[list[int], list[str], list[str]]  # per-run offsets, keys, values (run-major)
    tags: tuple[list[int], list[str], list[str]]
    metrics: tuple[list[int], list[MetricRow]]


def _shared(values: list[Any]) -> list[Any]:
    """``values`` with equal strings made one object (a run-major column repeats its keys per run)."""
    seen: dict[Any, Any] = {}
    return [seen.setdefault(v, v) for v in values]


def _key_ranges(table: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, tuple[int, int]]]:
    """The table in key-major order and each key's (offset, length) in it."""
    if table.height and not table.get_column("key").is_sorted():
        table = table.sort("key", "run_idx")
    runs = table.get_column("key").rle()
    lengths = runs.struct.field("len").to_numpy()
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) if len(lengths) else lengths
    keys = runs.struct.field("value").to_list()
    return table, {key: (int(s), int(n)) for key, s, n in zip(keys, starts, lengths, strict=True)}


def _run_offsets(table: pl.DataFrame, runs: int) -> tuple[pl.DataFrame, np.ndarray]:
    """The table in run-major order and, per run_idx, where its rows start (``runs + 1`` offsets)."""
    if table.height and not table.get_column("run_idx").is_sorted():
        table = table.sort("run_idx", "key")
    run_idx = table.get_column("run_idx").to_numpy()
    return table, np.searchsorted(run_idx, np.arange(runs + 1), side="left")


class MemoryPartition:
    """One partition snapshot in memory, with what repeated searches need precomputed."""

    def __init__(self, tables: Mapping[str, pl.DataFrame]) -> None:
        runs = tables["runs"]
        if runs.height and not runs.get_column("run_idx").is_sorted():
            runs = runs.sort("run_idx")
        self.runs = runs
        self.size = runs.height
        self.rows = sum(tables[name].height for name in _SEARCH_TABLES)
        # The attribute columns of the wide frame, for every run (zero-copy renames of the runs table).
        self._base = runs.select(
            pl.col("run_idx").cast(pl.Int64),
            "lifecycle_stage",
            *[pl.col(source).alias(name) for name, source in _ATTRIBUTES.items()],
        )
        self._by_key: dict[str, tuple[pl.DataFrame, dict[str, tuple[int, int]]]] = {
            name: _key_ranges(tables[name]) for name in ("params", "tags", "latest_metrics")
        }
        self._by_run: dict[str, tuple[pl.DataFrame, np.ndarray]] = {
            name: _run_offsets(tables[name], self.size) for name in _PAGE_TABLES
        }
        self._dense: dict[str, pl.Series] = {}
        self._arrays: dict[str, Column] = {}
        self._stages: dict[tuple[str, ...], np.ndarray] = {}
        self._lists: _Lists | None = None
        self._pages = 0
        self._lock = threading.Lock()

    # -- numpy columns: the fast path --------------------------------------------------------------
    def _array(self, column: str) -> Column:
        """``column`` as a numpy column over every run (see views.filter._numpy), built on first use."""
        with self._lock:
            found = self._arrays.get(column)
        if found is not None:
            return found
        source = _ATTRIBUTES.get(column, column if column == "lifecycle_stage" else None)
        if source is not None:
            series = self.runs.get_column(source)
            index = np.arange(self.size)
            built = _encode(series, index, self.size)
        else:
            prefix, _, key = column.partition(".")
            table_name = _PREFIX_TABLE.get(prefix)
            if table_name is None:
                raise Unsupported(f"no numpy column for {column!r}")
            table, ranges = self._by_key[table_name]
            start, length = ranges.get(key, (0, 0))
            rows = table.slice(start, length)
            values = rows.get_column("value").cast(_VALUE_TYPE[prefix])
            built = _encode(values, rows.get_column("run_idx").to_numpy(), self.size)
        with self._lock:
            self._arrays[column] = built
        return built

    def _stage_mask(self, stages: Sequence[str]) -> np.ndarray:
        key = tuple(sorted(stages))
        with self._lock:
            found = self._stages.get(key)
        if found is None:
            column = self._array("lifecycle_stage")
            assert isinstance(column, TextColumn)
            found = np.isin(column.codes, [column.lookup[s] for s in key if s in column.lookup])
            with self._lock:
                self._stages[key] = found
        return found

    def _top_rows(
        self, stages: Sequence[str], predicate: Filter, keys: Sequence[OrderKey], limit: int | None
    ) -> np.ndarray:
        mask = self._stage_mask(stages)
        if not predicate.matches_all:
            mask = mask & evaluate_columns(predicate.node, self._array, self.size)
        ordered = sort_rows(np.flatnonzero(mask), keys, self._array)
        return ordered if limit is None else ordered[:limit]

    def _column(self, column: str) -> pl.Series:
        """``column`` ("params.lr", "metrics.loss", ...) for every run, null where a run lacks the key."""
        with self._lock:
            found = self._dense.get(column)
        if found is not None:
            return found
        prefix, _, key = column.partition(".")
        table_name = _PREFIX_TABLE.get(prefix)
        if table_name is None:
            raise ValueError(f"unknown search column {column!r}")
        table, ranges = self._by_key[table_name]
        dense = pl.Series(column, [None] * self.size, dtype=_VALUE_TYPE[prefix])
        if key in ranges:
            start, length = ranges[key]
            rows = table.slice(start, length)
            dense = dense.scatter(rows.get_column("run_idx"), rows.get_column("value"))
        with self._lock:
            self._dense[column] = dense
        return dense

    def top_run_idx(
        self, stages: Sequence[str], predicate: Filter, keys: Sequence[OrderKey], limit: int | None
    ) -> list[int]:
        """run_idx of the first ``limit`` matching runs, in search order."""
        try:
            return self._top_rows(stages, predicate, keys, limit).tolist()
        except Unsupported:
            return self._candidates_polars(stages, predicate, keys, limit).get_column("run_idx").to_list()

    def candidates(
        self, stages: Sequence[str], predicate: Filter, keys: Sequence[OrderKey], limit: int | None
    ) -> pl.DataFrame:
        """The first ``limit`` matching runs in search order: run_idx and the order keys' columns (real
        values, so that candidates of several partitions can be merged)."""
        try:
            rows = self._top_rows(stages, predicate, keys, limit)
        except Unsupported:
            return self._candidates_polars(stages, predicate, keys, limit)
        columns = {"run_idx": pl.Series("run_idx", rows, dtype=pl.Int64)}
        for column in dict.fromkeys(k.column for k in keys):
            columns[column] = _decode(self._array(column), rows, column)
        return pl.DataFrame(columns)

    def _candidates_polars(
        self, stages: Sequence[str], predicate: Filter, keys: Sequence[OrderKey], limit: int | None
    ) -> pl.DataFrame:
        needed = (set() if predicate.matches_all else set(predicate.columns)) | {k.column for k in keys}
        extra = [self._column(c) for c in sorted(needed) if c not in self._base.columns]
        wide = self._base.hstack(extra) if extra else self._base
        condition = pl.col("lifecycle_stage").is_in(list(stages))
        if not predicate.matches_all:
            condition = condition & filter_expr(predicate.node)
        spec = order_by_exprs(keys)
        found = wide.filter(condition).sort(
            spec.by, descending=spec.descending, nulls_last=spec.nulls_last, maintain_order=True
        )
        if limit is not None:
            found = found.head(limit)
        return found.select("run_idx", *dict.fromkeys(k.column for k in keys))

    def page(self, run_idx: Sequence[int]) -> PageRows:
        """These runs (in this order) with their params, tags and latest metrics.

        The first page of a snapshot is gathered with Polars; from the second on, a partition of up to
        _LIST_ROWS rows answers from Python lists built once (a page is then slicing, about ten times
        cheaper than gathering and converting), while a one-off search never pays for building them."""
        with self._lock:
            self._pages += 1
            lists, build = self._lists, self._lists is None and self._pages > 1 and self.rows <= _LIST_ROWS
        if build:
            lists = self._build_lists()
            with self._lock:
                self._lists = lists
        if lists is not None:
            return _page_from_lists(lists, run_idx)
        return self._page_from_frames(run_idx)

    def _build_lists(self) -> _Lists:
        def keyed(name: str) -> tuple[list[int], list[str], list[str]]:
            table, offsets = self._by_run[name]
            keys = _shared(table.get_column("key").to_list())
            return offsets.tolist(), keys, _shared(table.get_column("value").to_list())

        table, offsets = self._by_run["latest_metrics_by_run"]
        metric_columns = [table.get_column(c).to_list() for c in ("key", "value", "timestamp", "step")]
        metric_columns[0] = _shared(metric_columns[0])
        runs = list(zip(*(self.runs.get_column(c).to_list() for c in INFO_COLUMNS), strict=True))
        return _Lists(
            runs=runs,
            params=keyed("params_by_run"),
            tags=keyed("tags_by_run"),
            metrics=(offsets.tolist(), list(zip(*metric_columns, strict=True))),
        )

    def _page_from_frames(self, run_idx: Sequence[int]) -> PageRows:
        wanted = np.asarray(run_idx, dtype=np.int64)
        columns: dict[str, list[list[Any]]] = {}
        counts: dict[str, list[int]] = {}
        for name, (table, offsets) in self._by_run.items():
            starts, ends = offsets[wanted], offsets[wanted + 1]
            lengths = ends - starts
            # Row numbers of every wanted run's block, blocks in page order: each run's start, then +1s.
            rows = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
            rows += np.arange(int(lengths.sum()), dtype=np.int64)
            gathered = table.gather(rows) if len(rows) else table.head(0)
            names = (
                ("key", "value", "timestamp", "step") if name == "latest_metrics_by_run" else ("key", "value")
            )
            columns[name] = [gathered.get_column(c).to_list() for c in names]
            counts[name] = lengths.tolist()
        runs_frame = self.runs.gather(wanted) if len(wanted) else self.runs.head(0)
        runs = list(zip(*(runs_frame.get_column(c).to_list() for c in INFO_COLUMNS), strict=True))

        def split(name: str) -> list[list[tuple[Any, ...]]]:
            rows = list(zip(*columns[name], strict=True))
            out, at = [], 0
            for n in counts[name]:
                out.append(rows[at : at + n])
                at += n
            return out

        return PageRows(
            runs=runs,
            params=[dict(pairs) for pairs in split("params_by_run")],
            tags=[dict(pairs) for pairs in split("tags_by_run")],
            metrics=split("latest_metrics_by_run"),
        )


def _page_from_lists(lists: _Lists, run_idx: Sequence[int]) -> PageRows:
    p_off, p_key, p_value = lists.params
    t_off, t_key, t_value = lists.tags
    m_off, m_rows = lists.metrics

    def pairs(offsets: list[int], keys: list[str], values: list[str], i: int) -> dict[str, str]:
        start, end = offsets[i], offsets[i + 1]
        return dict(zip(keys[start:end], values[start:end], strict=True))

    return PageRows(
        runs=[lists.runs[i] for i in run_idx],
        params=[pairs(p_off, p_key, p_value, i) for i in run_idx],
        tags=[pairs(t_off, t_key, t_value, i) for i in run_idx],
        metrics=[m_rows[m_off[i] : m_off[i + 1]] for i in run_idx],
    )


def _encode(values: pl.Series, run_idx: np.ndarray, size: int) -> Column:
    """A dense numpy column of ``size`` runs from the values of the runs at ``run_idx``."""
    present_rows = values.is_not_null().to_numpy()
    if values.dtype == pl.String:
        dictionary = values.drop_nulls().unique().sort().to_list()
        codes = np.full(size, -1, dtype=np.int32)
        if dictionary:
            physical = values.cast(pl.Enum(dictionary)).to_physical().fill_null(-1)
            codes[run_idx] = physical.to_numpy().astype(np.int32)
        return text_column(codes, dictionary)
    is_float = values.dtype.is_float()
    dense = np.zeros(size, dtype=np.float64 if is_float else np.int64)
    dense[run_idx] = values.fill_null(0).to_numpy()
    present = np.zeros(size, dtype=bool)
    present[run_idx] = present_rows
    return NumberColumn(dense, present)


def _decode(column: Column, rows: np.ndarray, name: str) -> pl.Series:
    """The real values of ``rows`` (None where absent)."""
    if isinstance(column, TextColumn):
        dictionary = column.dictionary
        return pl.Series(name, [dictionary[c] if c >= 0 else None for c in column.codes[rows].tolist()])
    values = column.values[rows].tolist()
    present = column.present[rows].tolist()
    dtype = pl.Float64 if column.values.dtype.kind == "f" else pl.Int64
    return pl.Series(name, [v if p else None for v, p in zip(values, present, strict=True)], dtype=dtype)


def merge_candidates(frames: Sequence[pl.DataFrame], keys: Sequence[OrderKey]) -> pl.DataFrame:
    """Candidates of several partitions (each with a ``_part`` column) in one search order."""
    if len(frames) == 1:
        return frames[0]
    spec = order_by_exprs(keys)
    merged = pl.concat(frames, how="vertical_relaxed")
    return merged.sort(spec.by, descending=spec.descending, nulls_last=spec.nulls_last, maintain_order=True)


def _view_rows(location: Location, commit: Commit) -> int:
    """Rows of the searched tables of a committed view, from the Parquet footers alone."""
    total = 0
    for name in _SEARCH_TABLES:
        rel = commit.tables[name]
        local = location.local_path(rel)
        if local is not None:
            # A count over a scan reads the footer only (and needs no pyarrow import).
            total += int(pl.scan_parquet(local).select(pl.len()).collect().item())
        else:
            import pyarrow.parquet as pq

            with location.fs.open(location.full_path(rel), "rb") as handle:
                total += pq.read_metadata(handle).num_rows
    return total


def memory_partition(
    location: Location,
    experiment_id: str,
    cache: SegmentCache,
    max_rows: int = MEMORY_SEARCH_ROWS,
    *,
    snap: Snapshot | None = None,
) -> MemoryPartition | None:
    """The partition's current snapshot in memory, or None when it is too large to hold (search it
    lazily then). Built once per snapshot and kept in ``cache``. ``snap`` is the partition's snapshot
    when the caller has taken it already (else it is taken here)."""
    if snap is None:
        snap = snapshot(location, partition_stream(experiment_id))
    version = snap.commit.version if snap.commit is not None else None
    # The budget is part of the key: a partition cached under one budget says nothing about another.
    key = ("search", location.root, experiment_id, version, snap.tail, max_rows)

    def build() -> MemoryPartition | None:
        if snap.commit is not None and _view_rows(location, snap.commit) > max_rows:
            return None  # too large even before its tail: scanned lazily, never folded whole here
        if snap.commit is not None and not snap.tail:
            needed = _SEARCH_TABLES + _PAGE_TABLES
            files = {
                name: snap.commit.tables.get(name, snap.commit.tables[name.removesuffix("_by_run")])
                for name in needed
            }
            # Read directly, not through the cache's row budget: the partition holds these frames itself.
            return MemoryPartition({name: read_table(location, rel) for name, rel in files.items()})
        folded = snapshot_tables(location, snap, cache=cache, history=False)
        partition = MemoryPartition(indexed_tables(folded))
        return partition if partition.rows <= max_rows else None

    return cache.fold(key, build, lambda found: found.rows if found is not None else 0)


def search_in_memory(
    parts: Sequence[MemoryPartition],
    stages: Collection[str],
    predicate: Filter,
    order: Sequence[OrderKey],
    offset: int,
    max_results: int | None,
) -> RunPage:
    """One page of search_runs over partitions held in memory (see ``views._search.search_runs``)."""
    if not parts:
        return RunPage([], [], [], [], in_memory=True)
    wanted_stages = list(stages)
    keys = with_tiebreakers(order, "runs")
    # One more than the page tells whether another page follows.
    wanted = None if max_results is None else max_results + 1
    limit = None if wanted is None else offset + wanted
    if len(parts) == 1:
        found = [(0, i) for i in parts[0].top_run_idx(wanted_stages, predicate, keys, limit)[offset:limit]]
    else:
        candidates = merge_candidates(
            [
                p.candidates(wanted_stages, predicate, keys, limit).with_columns(_part=pl.lit(i, pl.Int32))
                for i, p in enumerate(parts)
            ],
            keys,
        )
        found = candidates.slice(offset, wanted).select("_part", "run_idx").rows()
    page = found if max_results is None else found[:max_results]
    next_offset = None
    if max_results is not None and len(found) > max_results:
        next_offset = offset + max_results
    if len(parts) == 1:
        rows = parts[0].page([run_idx for _, run_idx in page])
        return RunPage(rows.runs, rows.params, rows.tags, rows.metrics, next_offset, in_memory=True)
    by_part: dict[int, list[int]] = {}
    for part, run_idx in page:
        by_part.setdefault(part, []).append(run_idx)
    at: dict[tuple[int, int], tuple[PageRows, int]] = {}
    for part, indexes in by_part.items():
        rows = parts[part].page(indexes)
        for n, run_idx in enumerate(indexes):
            at[(part, run_idx)] = (rows, n)
    ordered = [at[item] for item in page]
    return RunPage(
        runs=[rows.runs[n] for rows, n in ordered],
        params=[rows.params[n] for rows, n in ordered],
        tags=[rows.tags[n] for rows, n in ordered],
        metrics=[rows.metrics[n] for rows, n in ordered],
        next_offset=next_offset,
        in_memory=True,
    )
