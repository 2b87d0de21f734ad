"""Property tests: compaction changes how fast a read is, never what it returns (docs/architecture.md,
invariants 2, 4, 5).

Two levels:

- **The pure fold** (``views._fold``): for random event frames ``a`` and ``b`` in the segment schema with
  unique event ids, folding the reduced state of ``a`` with ``b`` gives the tables that folding ``a + b``
  gives, and folding a frame with its own events repeated changes nothing.
- **The store, through the public API**: random programs of tracking calls from several writers (one
  ``MlflowClient`` per writer, each with its own ``TrackingStore`` and writer id) with compactions at random
  points; the answers of fresh readers (``get_run``, ``get_metric_history``, ``search_experiments``,
  ``get_experiment``, ``get_experiment_by_name``, the CLI's run listing, ``search_runs``, and the raw
  ``views`` tables) are compared between: no compaction at all, a single full compaction, the incremental
  compactions of the program (before and after each one, and with the uncompacted tail at the end), and a
  second compaction in a row (which must report ``up-to-date`` and commit nothing). Crafted segments
  (colliding timestamps, both orders, arrival out of time order) are checked the same way one level down, with
  ``partition_tables``.

Regression tests for deviations this suite found (run-name tag deletes, repeated param conflicts) are
at the end of this file; the generators cover those cases too.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from eventlog.storage import open_location
from eventlog.views import compact_stream, experiment_tables, partition_tables, store_streams
from eventlog.views._fold import (
    EVENT_SCHEMA,
    fold_experiments,
    fold_runs,
    reduce_experiment_events,
    reduce_run_events,
)
from eventlog.views._schema import Kind, segment_schema
from eventlog.views._streams import committed_versions, partition_stream
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from eventlog import MlflowClient
from eventlog._reset import reset_process_state
from eventlog.entities import Metric, Param, RunTag, ViewType
from eventlog.exceptions import MlflowException

NAN = float("nan")
INF = float("inf")

# ---------------------------------------------------------------------------------------------------------
# Comparison helpers (NaN-aware, order-insensitive where the API gives no order)
# ---------------------------------------------------------------------------------------------------------


def _v(value: Any) -> Any:
    """A comparable form of a value: NaN is not equal to itself, so it becomes a marker."""
    if isinstance(value, float) and math.isnan(value):
        return "<NaN>"
    return value


def canon(frame: pl.DataFrame, columns: Iterable[str] | None = None) -> list[tuple[Any, ...]]:
    """The rows of a frame as sorted tuples (NaN and null kept apart, -0.0 == 0.0)."""
    cols = list(columns) if columns is not None else sorted(frame.columns)
    rows = [tuple(_v(x) for x in row) for row in frame.select(cols).iter_rows()]
    return sorted(rows, key=repr)


def run_answer(run: Any) -> dict[str, Any]:
    info = run.info
    return {
        "info": (
            info.run_id,
            info.experiment_id,
            info.run_name,
            info.user_id,
            info.status,
            info.start_time,
            info.end_time,
            info.lifecycle_stage,
            info.artifact_uri,
        ),
        "params": dict(run.data.params),
        "metrics": {k: _v(v) for k, v in run.data.metrics.items()},
        "tags": dict(run.data.tags),
    }


def experiment_answer(e: Any) -> tuple[Any, ...]:
    return (
        e.experiment_id,
        e.name,
        e.artifact_location,
        e.lifecycle_stage,
        tuple(sorted(e.tags.items())),
        e.creation_time,
        e.last_update_time,
    )


def metric_answer(m: Metric) -> tuple[Any, ...]:
    return (m.key, _v(m.value), m.timestamp, m.step)


SEARCHES: list[tuple[str, int, list[str] | None]] = [
    ("", ViewType.ALL, None),
    ("", ViewType.DELETED_ONLY, None),
    ("metrics.m0 > 0", ViewType.ALL, None),
    ("params.p0 = '1'", ViewType.ACTIVE_ONLY, None),
    ("tags.t0 = 'a'", ViewType.ALL, ["attributes.run_name ASC"]),
    ("attributes.status = 'FINISHED'", ViewType.ALL, None),
    ("", ViewType.ALL, ["metrics.m1 DESC", "params.p1 ASC"]),
]


@dataclass
class Known:
    """What a program created: the ids and keys the answers are collected for."""

    experiments: list[str] = field(default_factory=lambda: ["0"])
    runs: list[str] = field(default_factory=list)
    metric_keys: dict[str, set[str]] = field(default_factory=dict)


EXPERIMENT_NAMES = ["exp-a", "exp-b", "exp-c"]


def answers(client: MlflowClient, known: Known, *, search: bool) -> dict[str, Any]:
    """Everything a reader can ask, in comparable form."""
    out: dict[str, Any] = {}
    out["search_experiments"] = [
        experiment_answer(e) for e in client.search_experiments(view_type=ViewType.ALL, max_results=1000)
    ]
    out["search_experiments_active"] = [experiment_answer(e) for e in client.search_experiments()]
    out["get_experiment"] = {e: experiment_answer(client.get_experiment(e)) for e in known.experiments}
    by_name = {n: client.get_experiment_by_name(n) for n in EXPERIMENT_NAMES}
    out["get_experiment_by_name"] = {n: e and experiment_answer(e) for n, e in by_name.items()}
    out["get_run"] = {r: run_answer(client.get_run(r)) for r in known.runs}
    out["history"] = {
        (r, k): [metric_answer(m) for m in client.get_metric_history(r, k)]
        for r in known.runs
        for k in [*sorted(known.metric_keys.get(r, ())), "never-logged"]
    }
    # The listing behind `eventlog runs` reads whole partitions (the committed view tables directly).
    listing = client._store.runs_in_experiments(known.experiments)
    out["listing"] = sorted((run_answer(r) for r in listing), key=repr)
    if search:
        results = {}
        for filter_string, view, order_by in SEARCHES:
            page = client.search_runs(known.experiments, filter_string, view, order_by=order_by)
            results[(filter_string, view, str(order_by))] = [run_answer(r) for r in page]
        pages, token = [], None
        while True:
            page = client.search_runs(known.experiments, "", ViewType.ALL, max_results=2, page_token=token)
            pages.append([r.info.run_id for r in page])
            token = page.token
            if not token:
                break
        results["paged"] = pages
        out["search_runs"] = results
    return out


def view_answers(root: str, experiment_ids: Iterable[str]) -> dict[str, Any]:
    """The raw tables a Parquet user (or search) sees, one level below the API."""
    location = open_location(root)
    out: dict[str, Any] = {}
    for e in experiment_ids:
        t = partition_tables(location, e)
        out[e] = {
            "runs": canon(t.runs),
            "params": canon(t.params),
            "param_conflicts": canon(t.param_conflicts),
            "tags": canon(t.tags),
            "latest_metrics": canon(t.latest_metrics),
            "metric_history": canon(t.metric_history),
            "artifacts": canon(t.artifacts),
        }
    cat = experiment_tables(location)
    out["catalog"] = {"experiments": canon(cat.experiments), "tags": canon(cat.tags)}
    return out


# ---------------------------------------------------------------------------------------------------------
# Store helpers
# ---------------------------------------------------------------------------------------------------------

_VIEW_PARTS = {"commits", "views", "quarantine"}


def mirror_events(src: str, dst: str) -> None:
    """Copy every event file (segments, claims, run index, marker) of ``src`` that ``dst`` lacks, never a
    view, commit record or quarantine copy: ``dst`` is then the same store, uncompacted. Segments are
    immutable and uniquely named, so mirroring before each compaction collects every event ever written,
    even those a retention-0 compaction removes afterwards."""
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = [d for d in dirnames if d not in _VIEW_PARTS]
        rel = os.path.relpath(dirpath, src)
        target = os.path.join(dst, rel)
        os.makedirs(target, exist_ok=True)
        for name in filenames:
            if name.startswith(".tmp-"):
                continue
            if not os.path.exists(os.path.join(target, name)):
                shutil.copy2(os.path.join(dirpath, name), os.path.join(target, name))


def compact_all(
    root: str, *, retention_s: float = 3600.0, experiment_ids: list[str] | None = None
) -> list[Any]:
    location = open_location(root)
    return [
        compact_stream(location, stream, retention_s=retention_s)
        for stream in store_streams(location, experiment_ids)
    ]


def all_versions(root: str) -> dict[str, list[int]]:
    location = open_location(root)
    return {s.name: committed_versions(location, s) for s in store_streams(location)}


class Readers:
    """Fresh readers: each one is a new TrackingStore (new cache, new writer id) on the same store."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._n = itertools.count(1)

    def client(self) -> MlflowClient:
        # A distinct URI spelling of the same directory gives a distinct store in the registry.
        return MlflowClient("file://" + self.root + "/" * next(self._n))


# ---------------------------------------------------------------------------------------------------------
# 1. The pure fold
# ---------------------------------------------------------------------------------------------------------

RUN_IDS = ["r1", "r2", "r3"]
WRITERS = ["w-a", "w-b", "w-c"]
RUN_KINDS = [
    Kind.RUN_UPDATED,
    Kind.RUN_DELETED,
    Kind.RUN_RESTORED,
    Kind.PARAM,
    Kind.METRIC,
    Kind.METRIC,
    Kind.TAG_SET,
    Kind.TAG_DELETED,
    Kind.EXPERIMENT_DELETED,
    Kind.EXPERIMENT_RESTORED,
    Kind.ARTIFACT,
]
METRIC_VALUES = [0.0, -0.0, 1.0, 2.5, -3.0, NAN, INF, -INF]


def _row(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(EVENT_SCHEMA)
    row.update(values)
    return row


@st.composite
def run_event(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(RUN_KINDS))
    # Few distinct timestamps: collisions across writers are the common case, ordered by (writer, seq).
    row = _row(kind=kind, timestamp=draw(st.integers(0, 5)), experiment_id="1")
    if kind in (Kind.EXPERIMENT_DELETED, Kind.EXPERIMENT_RESTORED):
        return row
    row["run_id"] = draw(st.sampled_from(RUN_IDS))
    if kind == Kind.RUN_UPDATED:
        row["status"] = draw(st.sampled_from([None, "FINISHED", "FAILED", "KILLED", "RUNNING"]))
        row["end_time"] = draw(st.sampled_from([None, 7, 9]))
        row["name"] = draw(st.sampled_from([None, "renamed-1", "renamed-2"]))
    elif kind == Kind.PARAM:
        row["key"] = draw(st.sampled_from(["p0", "p1"]))
        row["text"] = draw(st.sampled_from(["1", "2", "x"]))
    elif kind == Kind.METRIC:
        row["key"] = draw(st.sampled_from(["m0", "m1"]))
        row["value"] = draw(st.sampled_from(METRIC_VALUES))
        row["step"] = draw(st.integers(-1, 3))
    elif kind == Kind.TAG_SET:
        row["key"] = draw(st.sampled_from(["t0", "t1", "mlflow.runName"]))
        row["text"] = draw(st.sampled_from(["a", "b", "tag-name"]))
    elif kind == Kind.TAG_DELETED:
        row["key"] = draw(st.sampled_from(["t0", "t1", "mlflow.runName"]))
    elif kind == Kind.ARTIFACT:
        row["key"] = draw(st.sampled_from(["model.pkl", "plot.png"]))
        row["size"] = draw(st.integers(0, 3))
        row["checksum"] = draw(st.sampled_from(["sha256:aa", "sha256:bb"]))
    return row


@st.composite
def run_event_frames(
    draw: st.DrawFn,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two frames ``a`` and ``b`` of one partition's events. Each run is created once (run ids are claimed
    with put-if-absent), but other events may carry earlier timestamps than the creation (clock skew
    between machines). Rows are shuffled, so ``b`` may hold events that sort before those of ``a``."""
    seqs = dict.fromkeys(WRITERS, 0)

    def stamp(row: dict[str, Any]) -> dict[str, Any]:
        writer = draw(st.sampled_from(WRITERS))
        row.update(writer=writer, seq=seqs[writer])
        seqs[writer] += draw(st.integers(1, 3))  # gaps, as a writer's metrics take seq blocks
        return row

    rows = [
        stamp(
            _row(
                kind=Kind.RUN_CREATED,
                timestamp=draw(st.integers(0, 5)),
                experiment_id="1",
                run_id=run_id,
                name=f"created-{run_id}",
                user_id="u",
                start_time=draw(st.integers(0, 5)),
                artifact_uri=f"file:///a/{run_id}",
            )
        )
        for run_id in RUN_IDS
        if draw(st.booleans())
    ]
    rows += [stamp(draw(run_event())) for _ in range(draw(st.integers(0, 30)))]
    rows = draw(st.permutations(rows))
    cut = draw(st.integers(0, len(rows)))
    frame = pl.DataFrame(rows, schema=EVENT_SCHEMA)
    return frame[:cut], frame[cut:]


@st.composite
def experiment_event_frames(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    seqs = dict.fromkeys(WRITERS, 0)
    rows = []
    for experiment_id in ["0", "1", "2"]:
        if draw(st.booleans()):
            rows.append(
                _row(
                    kind=Kind.EXPERIMENT_CREATED,
                    timestamp=draw(st.integers(0, 5)),
                    experiment_id=experiment_id,
                    name=f"exp-{experiment_id}",
                    artifact_uri=f"file:///a/{experiment_id}",
                )
            )
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(
            st.sampled_from(
                [
                    Kind.EXPERIMENT_RENAMED,
                    Kind.EXPERIMENT_DELETED,
                    Kind.EXPERIMENT_RESTORED,
                    Kind.EXPERIMENT_TAG_SET,
                    Kind.EXPERIMENT_TAG_DELETED,
                ]
            )
        )
        row = _row(
            kind=kind, timestamp=draw(st.integers(0, 5)), experiment_id=draw(st.sampled_from(["0", "1", "2"]))
        )
        if kind == Kind.EXPERIMENT_RENAMED:
            row["name"] = draw(st.sampled_from(["n1", "n2", "n3"]))
        elif kind in (Kind.EXPERIMENT_TAG_SET, Kind.EXPERIMENT_TAG_DELETED):
            row["key"] = draw(st.sampled_from(["k0", "k1"]))
            if kind == Kind.EXPERIMENT_TAG_SET:
                row["text"] = draw(st.sampled_from(["v0", "v1"]))
        rows.append(row)
    for row in rows:
        writer = draw(st.sampled_from(WRITERS))
        row.update(writer=writer, seq=seqs[writer])
        seqs[writer] += 1
    rows = draw(st.permutations(rows))
    cut = draw(st.integers(0, len(rows)))
    frame = pl.DataFrame(rows, schema=EVENT_SCHEMA)
    return frame[:cut], frame[cut:]


RUN_TABLES = ["runs", "params", "param_conflicts", "tags", "latest_metrics", "metric_history", "artifacts"]


def assert_run_tables_equal(x: Any, y: Any, tables: Iterable[str] = RUN_TABLES) -> None:
    for name in tables:
        left, right = getattr(x, name), getattr(y, name)
        assert canon(left) == canon(right), f"table {name} differs:\n{left}\n{right}"


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(run_event_frames())
def test_fold_runs_of_reduced_state_plus_new_events_equals_fold_of_all(
    ab: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """``fold_runs(reduce(a) + b) == fold_runs(a + b)`` for every table the compactor stores (the metric
    history is kept apart from the reduced state by design, so both sides fold without it)."""
    a, b = ab
    reduced = fold_runs(pl.concat([reduce_run_events(a), b]), history=False)
    full = fold_runs(pl.concat([a, b]), history=False)
    assert_run_tables_equal(reduced, full)
    # Reducing is itself stable: reducing the reduced state plus b folds the same again.
    twice = fold_runs(reduce_run_events(pl.concat([reduce_run_events(a), b])), history=False)
    assert_run_tables_equal(twice, full)


@PROPERTY
@given(experiment_event_frames())
def test_fold_experiments_of_reduced_state_plus_new_events_equals_fold_of_all(
    ab: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    a, b = ab
    reduced = fold_experiments(pl.concat([reduce_experiment_events(a), b]))
    full = fold_experiments(pl.concat([a, b]))
    assert canon(reduced.experiments) == canon(full.experiments)
    assert canon(reduced.tags) == canon(full.tags)


@PROPERTY
@given(run_event_frames(), experiment_event_frames(), st.randoms(use_true_random=False))
def test_fold_is_idempotent_under_duplicated_events(
    runs_ab: tuple[pl.DataFrame, pl.DataFrame], experiments_ab: tuple[pl.DataFrame, pl.DataFrame], rnd: Any
) -> None:
    """The same segment folded twice (or an event retried) changes nothing, in any position."""
    events = pl.concat(runs_ab)
    once = fold_runs(events)
    segment = events.sample(fraction=rnd.random(), seed=rnd.randrange(2**32))
    twice = fold_runs(
        pl.concat([events, segment, events]).sample(fraction=1.0, shuffle=True, seed=rnd.randrange(2**32))
    )
    assert_run_tables_equal(once, twice)
    # Duplicates in the reduced state and in the new events at once.
    assert_run_tables_equal(
        fold_runs(pl.concat([reduce_run_events(events), events]), history=False),
        fold_runs(events, history=False),
    )
    experiments = pl.concat(experiments_ab)
    assert canon(fold_experiments(pl.concat([experiments, experiments])).experiments) == canon(
        fold_experiments(experiments).experiments
    )
    assert canon(fold_experiments(pl.concat([experiments, experiments[::-1]])).tags) == canon(
        fold_experiments(experiments).tags
    )


def test_fold_property_generators_can_fail() -> None:
    """Guard against vacuous properties: the comparison sees a one-event difference."""
    a, _ = (
        pl.DataFrame(
            [
                _row(
                    writer="w",
                    seq=0,
                    kind=Kind.RUN_CREATED,
                    timestamp=1,
                    experiment_id="1",
                    run_id="r",
                    name="n",
                ),
                _row(
                    writer="w",
                    seq=1,
                    kind=Kind.METRIC,
                    timestamp=1,
                    experiment_id="1",
                    run_id="r",
                    key="m",
                    value=NAN,
                    step=0,
                ),
            ],
            schema=EVENT_SCHEMA,
        ),
        None,
    )
    with pytest.raises(AssertionError):
        assert_run_tables_equal(fold_runs(a), fold_runs(a[:1]))
    # NaN compares equal to NaN, and not to 0.0 (which ties with NaN in the latest-metric ranking).
    assert canon(fold_runs(a).latest_metrics) == canon(fold_runs(pl.concat([a, a])).latest_metrics)
    zero = a.with_columns(value=pl.when(pl.col("kind") == Kind.METRIC).then(0.0))
    with pytest.raises(AssertionError):
        assert_run_tables_equal(fold_runs(a), fold_runs(zero), ["latest_metrics"])


# ---------------------------------------------------------------------------------------------------------
# 2. Crafted segments in a store: partition_tables with and without compaction
# ---------------------------------------------------------------------------------------------------------


def write_segment(root: str, rel_dir: str, frame: pl.DataFrame, name: str) -> str:
    """Publish a crafted segment the way the writer does (segment schema, zstd)."""
    import pyarrow.parquet as pq

    table = frame.to_arrow().cast(segment_schema())
    path = Path(root, rel_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".tmp-" + name)
    pq.write_table(table, tmp, compression="zstd")
    os.link(tmp, path)
    tmp.unlink()
    return f"{rel_dir}/{name}"


def partition_answer(root: str, experiment_id: str = "1") -> dict[str, Any]:
    location = open_location(root)
    full = partition_tables(location, experiment_id)
    out = {name: canon(getattr(full, name)) for name in RUN_TABLES}
    # The per-run read path (get_run) filters events by run id before folding; it must agree too.
    one = partition_tables(location, experiment_id, ["r1"], history=True)
    out["one-run"] = {
        name: canon(getattr(one, name))
        for name in ("runs", "params", "tags", "latest_metrics", "metric_history")
    }
    out["one-key"] = canon(partition_tables(location, experiment_id, ["r1"], metric_key="m0").metric_history)
    return out


@st.composite
def segment_plans(draw: st.DrawFn) -> tuple[list[pl.DataFrame], list[int], list[float]]:
    """Events cut into segments per writer; segments arrive in a random order (a slow writer's segment
    with old timestamps can arrive after a compaction), with compactions after random arrivals."""
    a, b = draw(run_event_frames())
    events = pl.concat([a, b])
    segments: list[pl.DataFrame] = []
    for writer in WRITERS:
        mine = events.filter(pl.col("writer") == writer).sort("seq")
        if mine.height == 0:
            continue
        cuts = sorted(draw(st.lists(st.integers(1, max(1, mine.height - 1)), max_size=3, unique=True)))
        bounds = [0, *[c for c in cuts if c < mine.height], mine.height]
        segments.extend(mine[lo:hi] for lo, hi in itertools.pairwise(bounds) if hi > lo)
    order = draw(st.permutations(range(len(segments))))
    compact_after = draw(st.lists(st.integers(0, max(0, len(segments) - 1)), max_size=3, unique=True))
    retentions = [draw(st.sampled_from([0.0, 3600.0])) for _ in compact_after]
    arranged = [segments[i] for i in order]
    return arranged, sorted(compact_after), retentions


def _tail_fold(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """Read a view's tail folded for the runs it touches only (whenever it can: docs/format.md, "Views"),
    or always by refolding the whole state: both must answer exactly what no compaction answers."""
    import eventlog.views._snapshot as snapshot_module

    monkeypatch.setattr(snapshot_module, "_INCREMENTAL_SHARE", math.inf if how == "per-run" else -1.0)


@pytest.mark.parametrize("tail_fold", ["per-run", "whole"])
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(plan=segment_plans())
def test_crafted_segments_fold_the_same_with_and_without_compaction(
    plan: tuple[list[pl.DataFrame], list[int], list[float]], monkeypatch: pytest.MonkeyPatch, tail_fold: str
) -> None:
    _tail_fold(monkeypatch, tail_fold)
    segments, compact_after, retentions = plan
    base = tempfile.mkdtemp(prefix="crafted-", dir=os.getcwd())
    try:
        inc, raw = f"{base}/inc", f"{base}/raw"
        rel_dir = "experiments/1/segments"
        pending = dict(zip(compact_after, retentions, strict=True))
        for i, frame in enumerate(segments):
            writer = frame.get_column("writer")[0]
            name = f"{writer}-{i + 1:010d}.parquet"
            write_segment(inc, rel_dir, frame, name)
            write_segment(raw, rel_dir, frame, name)
            if i in pending:
                before = partition_answer(inc)
                result = compact_stream(open_location(inc), partition_stream("1"), retention_s=pending[i])
                assert result.status == "committed"
                assert partition_answer(inc) == before
        expected = partition_answer(raw)
        assert partition_answer(inc) == expected  # committed view(s) + uncompacted tail
        compact_stream(open_location(inc), partition_stream("1"))
        assert partition_answer(inc) == expected
        again = compact_stream(open_location(inc), partition_stream("1"))
        assert again.status == "up-to-date"
        assert partition_answer(inc) == expected
        compact_stream(open_location(raw), partition_stream("1"))  # one full compaction
        assert partition_answer(raw) == expected
    finally:
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------
# 3. Random programs through the public API, several writers, compactions at random points
# ---------------------------------------------------------------------------------------------------------

STATUSES = ["RUNNING", "FINISHED", "FAILED", "KILLED", "SCHEDULED"]
PARAM_VALUES: list[Any] = ["1", 1, "x", 1.0]  # 1 and "1" are the same value after str()
TAG_KEYS = ["t0", "t1", "mlflow.runName"]
i8 = st.integers(0, 7)
writer_ix = st.integers(0, 2)

_OP_STRATEGIES = {
    "create_experiment": st.tuples(st.just("create_experiment"), writer_ix, st.integers(0, 2)),
    "rename_experiment": st.tuples(st.just("rename_experiment"), writer_ix, i8, st.integers(0, 2)),
    "delete_experiment": st.tuples(st.just("delete_experiment"), writer_ix, i8),
    "restore_experiment": st.tuples(st.just("restore_experiment"), writer_ix, i8),
    "set_experiment_tag": st.tuples(
        st.just("set_experiment_tag"),
        writer_ix,
        i8,
        st.sampled_from(["k0", "k1"]),
        st.sampled_from(["v0", "v1"]),
    ),
    "delete_experiment_tag": st.tuples(
        st.just("delete_experiment_tag"), writer_ix, i8, st.sampled_from(["k0", "k1"])
    ),
    "create_run": st.tuples(
        st.just("create_run"),
        writer_ix,
        i8,
        st.sampled_from([None, "run-a", "run-b"]),
        st.sampled_from([None, "run-a", "tagged"]),
        st.sampled_from([None, 10, 20]),
    ),
    "update_run": st.tuples(
        st.just("update_run"),
        writer_ix,
        i8,
        st.sampled_from([None, *STATUSES]),
        st.sampled_from([None, "renamed"]),
    ),
    "set_terminated": st.tuples(
        st.just("set_terminated"), writer_ix, i8, st.sampled_from(STATUSES), st.sampled_from([None, 30, 40])
    ),
    "delete_run": st.tuples(st.just("delete_run"), writer_ix, i8),
    "restore_run": st.tuples(st.just("restore_run"), writer_ix, i8),
    "log_param": st.tuples(
        st.just("log_param"), writer_ix, i8, st.sampled_from(["p0", "p1"]), st.sampled_from(PARAM_VALUES)
    ),
    "log_metric": st.tuples(
        st.just("log_metric"),
        writer_ix,
        i8,
        st.sampled_from(["m0", "m1"]),
        st.sampled_from(METRIC_VALUES),
        st.sampled_from([0, 1, 2, 5]),
        st.sampled_from([0, 1, 2, -1]),
    ),
    "log_batch": st.tuples(
        st.just("log_batch"),
        writer_ix,
        i8,
        st.lists(
            st.tuples(
                st.sampled_from(["m0", "m1"]),
                st.sampled_from(METRIC_VALUES),
                st.sampled_from([0, 3]),
                st.sampled_from([0, 2]),
            ),
            max_size=3,
        ),
        st.lists(
            st.tuples(st.sampled_from(["p0", "p1"]), st.sampled_from(["1", "x"])),
            max_size=2,
            unique_by=lambda p: p[0],
        ),
        st.lists(st.tuples(st.sampled_from(TAG_KEYS), st.sampled_from(["a", "b"])), max_size=2),
    ),
    "set_tag": st.tuples(
        st.just("set_tag"), writer_ix, i8, st.sampled_from(TAG_KEYS), st.sampled_from(["a", "b", "named"])
    ),
    "delete_tag": st.tuples(st.just("delete_tag"), writer_ix, i8, st.sampled_from(TAG_KEYS)),
    "flush": st.tuples(st.just("flush"), writer_ix),
    "compact": st.tuples(st.just("compact"), st.one_of(st.none(), i8), st.sampled_from([3600.0, 0.0])),
    # Two writers that both know a run log one param: both pass their own check
    # (docs/architecture.md, invariant 3).
    "race_param": st.tuples(
        st.just("race_param"),
        writer_ix,
        i8,
        st.sampled_from(["p0", "p1"]),
        st.sampled_from(PARAM_VALUES),
        writer_ix,
        st.sampled_from(PARAM_VALUES),
    ),
}
_OP_WEIGHTS = {
    "compact": 3,
    "log_metric": 3,
    "log_param": 2,
    "set_tag": 2,
    "create_run": 2,
    "log_batch": 2,
    "race_param": 2,
}
# Hypothesis leans towards the first branches of a one_of: the logging calls come first.
_OP_ORDER = [
    "log_metric",
    "compact",
    "log_param",
    "race_param",
    "set_tag",
    "log_batch",
    "create_run",
    "delete_tag",
    "update_run",
    "set_terminated",
    "delete_run",
    "restore_run",
    "flush",
    "delete_experiment",
    "restore_experiment",
    "set_experiment_tag",
    "delete_experiment_tag",
    "rename_experiment",
    "create_experiment",
]
assert sorted(_OP_ORDER) == sorted(_OP_STRATEGIES)
OPS = st.one_of(*[_OP_STRATEGIES[name] for name in _OP_ORDER for _ in range(_OP_WEIGHTS.get(name, 1))])

PROGRAMS = st.lists(OPS, min_size=8, max_size=25)

# Always run too (hypothesis @example): every kind of call, racing params, colliding metric points, the
# run-name tag deleted, an experiment deleted and restored around compactions of one partition and of all.
RICH_PROGRAM = [
    ("create_experiment", 0, 1),
    ("create_run", 0, 1, "r-a", None, 10),
    ("create_run", 2, 2, None, "tagged", None),
    ("log_metric", 0, 1, "m0", 1.0, 5, 1),
    ("log_metric", 1, 1, "m0", NAN, 5, 1),
    ("log_metric", 2, 1, "m0", 1.0, 5, 1),
    ("log_metric", 0, 1, "m1", INF, 0, 2),
    ("race_param", 0, 1, "p0", "1", 1, "x"),
    ("race_param", 2, 1, "p0", "x", 1, 1),
    ("log_param", 0, 2, "p1", 1),
    ("log_param", 1, 2, "p1", "1"),
    ("set_tag", 1, 1, "mlflow.runName", "named"),
    ("compact", 1, 0.0),
    ("delete_tag", 0, 1, "mlflow.runName"),
    ("log_metric", 1, 1, "m0", -INF, 2, 1),
    ("log_metric", 2, 1, "m1", -0.0, 1, 2),
    ("update_run", 2, 2, "FAILED", "renamed"),
    ("set_experiment_tag", 1, 1, "k0", "v0"),
    ("flush", 1),
    ("flush", 2),
    ("compact", None, 3600.0),
    ("delete_experiment", 0, 1),
    ("restore_experiment", 1, 1),
    ("delete_run", 2, 2),
    ("set_terminated", 0, 1, "FINISHED", 40),
    ("log_batch", 1, 1, [("m0", 3.0, 3, 1), ("m0", 3.0, 3, 1)], [("p1", "x")], [("t0", "a")]),
    ("delete_experiment_tag", 2, 1, "k0"),
    ("rename_experiment", 0, 1, 2),
    ("flush", 1),
    ("compact", None, 0.0),
    ("restore_run", 0, 2),
    ("delete_tag", 1, 1, "t0"),
]


class Program:
    """Runs one generated program against a store with three writers (three TrackingStores)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.writers = [MlflowClient(root + "/" * i) for i in range(3)]
        self.known = Known()
        self.errors = 0
        self.compactions: list[tuple[str, str]] = []

    def _experiment(self, i: int) -> str:
        return self.known.experiments[i % len(self.known.experiments)]

    def _run(self, i: int) -> str | None:
        return self.known.runs[i % len(self.known.runs)] if self.known.runs else None

    def apply(self, op: tuple[Any, ...], on_compact: Callable[[list[str] | None, float], None]) -> None:
        kind = op[0]
        if kind == "compact":
            _, which, retention = op
            on_compact(None if which is None else [self._experiment(which)], retention)
            return
        c = self.writers[op[1]]
        args = op[2:]
        try:
            self._call(c, kind, args)
        except MlflowException:
            self.errors += 1  # deleted run or experiment, changed param, duplicate name: all allowed

    def _call(self, c: MlflowClient, kind: str, args: tuple[Any, ...]) -> None:
        known = self.known
        if kind == "create_experiment":
            known.experiments.append(c.create_experiment(EXPERIMENT_NAMES[args[0]]))
        elif kind == "rename_experiment":
            c.rename_experiment(self._experiment(args[0]), EXPERIMENT_NAMES[args[1]])
        elif kind == "delete_experiment":
            c.delete_experiment(self._experiment(args[0]))
        elif kind == "restore_experiment":
            c.restore_experiment(self._experiment(args[0]))
        elif kind == "set_experiment_tag":
            c.set_experiment_tag(self._experiment(args[0]), args[1], args[2])
        elif kind == "delete_experiment_tag":
            c.delete_experiment_tag(self._experiment(args[0]), args[1])
        elif kind == "create_run":
            experiment_ix, run_name, name_tag, start_time = args
            tags = {"mlflow.runName": name_tag} if name_tag else {}
            run = c.create_run(
                self._experiment(experiment_ix), start_time=start_time, tags=tags, run_name=run_name
            )
            # Creating a run writes nothing; the programs expect the run to exist for every writer at
            # once, as a created run did before runs were written with their first flush.
            c.flush()
            known.runs.append(run.info.run_id)
            return
        if kind == "flush":
            c.flush()
            return
        run_id = self._run(args[0])
        if kind == "race_param" and run_id is not None:
            _, key, value, other, other_value = args
            second = self.writers[other]
            c.get_run(run_id)  # both writers resume the run and load its params
            second.get_run(run_id)
            for client, v in ((c, value), (second, other_value)):
                try:
                    client.log_param(run_id, key, v)
                except MlflowException:
                    self.errors += 1
            return
        if run_id is None:
            return
        if kind == "update_run":
            c.update_run(run_id, status=args[1], name=args[2])
        elif kind == "set_terminated":
            c.set_terminated(run_id, status=args[1], end_time=args[2])
        elif kind == "delete_run":
            c.delete_run(run_id)
        elif kind == "restore_run":
            c.restore_run(run_id)
        elif kind == "log_param":
            c.log_param(run_id, args[1], args[2])
        elif kind == "log_metric":
            _, key, value, timestamp, step = args
            known.metric_keys.setdefault(run_id, set()).add(key)
            c.log_metric(run_id, key, value, timestamp=timestamp, step=step)
        elif kind == "log_batch":
            _, metrics, params, tags = args
            known.metric_keys.setdefault(run_id, set()).update(k for k, *_ in metrics)
            c.log_batch(
                run_id,
                metrics=[Metric(k, v, t, s) for k, v, t, s in metrics],
                params=[Param(k, v) for k, v in params],
                tags=[RunTag(k, v) for k, v in tags],
            )
        elif kind == "set_tag":
            c.set_tag(run_id, args[1], args[2])
        elif kind == "delete_tag":
            c.delete_tag(run_id, args[1])

    def flush_all(self) -> None:
        for c in self.writers:
            c.flush()


def _diff(label: str, left: dict[str, Any], right: dict[str, Any]) -> str:
    lines = [label]
    for key in sorted(set(left) | set(right), key=str):
        if left.get(key) != right.get(key):
            lines.append(f"  {key}:\n    {left.get(key)!r}\n    {right.get(key)!r}")
    return "\n".join(lines)


def check_program(ops: list[tuple[Any, ...]], workdir: str, *, search: bool) -> dict[str, int]:
    """Run ``ops`` on a store (incremental compactions where the program says), mirroring every event
    into an uncompacted copy, and compare every answer across the compaction states."""
    inc, raw, full = f"{workdir}/inc", f"{workdir}/raw", f"{workdir}/full"
    program = Program(inc)
    readers = Readers(inc)
    stats = {"compactions": 0, "committed": 0}

    def both_answers(root_readers: Readers) -> tuple[dict[str, Any], dict[str, Any]]:
        return (
            answers(root_readers.client(), program.known, search=search),
            view_answers(root_readers.root, program.known.experiments),
        )

    def on_compact(experiment_ids: list[str] | None, retention: float) -> None:
        mirror_events(inc, raw)
        before = both_answers(readers)
        results = compact_all(inc, retention_s=retention, experiment_ids=experiment_ids)
        stats["compactions"] += 1
        stats["committed"] += sum(r.status == "committed" for r in results)
        after = both_answers(readers)
        assert after[0] == before[0], _diff(
            f"API answers changed by compaction {experiment_ids}", before[0], after[0]
        )
        assert after[1] == before[1], _diff(
            f"view tables changed by compaction {experiment_ids}", before[1], after[1]
        )

    for op in ops:
        program.apply(op, on_compact)
    program.flush_all()
    mirror_events(inc, raw)

    expected = both_answers(Readers(raw))  # no compaction at all
    tail = both_answers(readers)  # the program's incremental views plus the uncompacted tail
    assert tail[0] == expected[0], _diff(
        "API: incremental views + tail vs no compaction", expected[0], tail[0]
    )
    assert tail[1] == expected[1], _diff(
        "views: incremental views + tail vs no compaction", expected[1], tail[1]
    )

    compact_all(inc, retention_s=0.0)
    final = both_answers(readers)
    assert final == expected, _diff("after a last incremental compaction", expected[0], final[0])

    versions = all_versions(inc)
    second = compact_all(inc, retention_s=0.0)
    assert {r.status for r in second} == {"up-to-date"}, [vars(r) for r in second]
    assert all_versions(inc) == versions  # no new commit record
    assert both_answers(readers) == expected

    shutil.copytree(raw, full)
    compact_all(full)  # a single full compaction
    assert both_answers(Readers(full)) == expected
    tables = [t for e, t in expected[1].items() if e != "catalog"]
    stats["rejected_calls"] = program.errors
    stats["runs"] = len(program.known.runs)
    stats["param_conflicts"] = sum(len(t["param_conflicts"]) for t in tables)
    stats["metric_points"] = sum(len(t["metric_history"]) for t in tables)
    return stats


@pytest.mark.parametrize("tail_fold", ["per-run", "whole"])
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
@given(ops=PROGRAMS)
@example(ops=RICH_PROGRAM)
def test_api_answers_do_not_depend_on_compaction(
    ops: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch, tail_fold: str
) -> None:
    _tail_fold(monkeypatch, tail_fold)
    # Buffered events are flushed by the calls that flush (reads, run creation, end of run...) and by
    # the "flush" steps of the program, never by the timer: the program decides what is published when.
    monkeypatch.setenv("EVENTLOG_FLUSH_INTERVAL", "3600")
    workdir = tempfile.mkdtemp(prefix="program-", dir=os.getcwd())
    try:
        stats = check_program(
            [("create_experiment", 0, 0), ("create_run", 1, 1, None, None, None), *ops],
            workdir,
            search=True,
        )
        for name, value in stats.items():  # --hypothesis-show-statistics
            event(f"{name}: {'0' if value == 0 else '1-2' if value <= 2 else '3+'}")
    finally:
        reset_process_state()
        shutil.rmtree(workdir, ignore_errors=True)


SEARCH_PROGRAM = [
    ("create_experiment", 0, 0),
    ("create_experiment", 1, 1),
    ("create_run", 0, 1, "r-one", None, 10),
    ("create_run", 1, 2, None, "r-two", 10),
    ("create_run", 2, 1, None, None, 20),
    ("log_metric", 0, 0, "m0", 1.5, 1, 0),
    ("log_metric", 1, 0, "m0", -1.0, 0, 0),  # more than the latest point in the first history file
    ("log_metric", 2, 0, "m0", NAN, 2, -1),
    ("log_metric", 1, 1, "m0", NAN, 1, 0),
    ("log_metric", 2, 2, "m1", INF, 1, 0),
    ("compact", None, 3600.0),
    ("log_param", 0, 0, "p0", "1"),
    ("log_param", 1, 1, "p0", "x"),
    ("set_tag", 2, 2, "t0", "a"),
    ("set_tag", 0, 1, "t0", "a"),
    ("set_terminated", 1, 1, "FINISHED", 30),
    ("compact", 1, 0.0),
    ("log_metric", 2, 0, "m1", -INF, 2, 1),
    ("delete_run", 0, 2),
    ("flush", 2),
    ("compact", None, 0.0),
    ("log_param", 2, 2, "p1", 1),
    ("delete_experiment", 1, 2),
]


@pytest.mark.parametrize("tail_fold", ["per-run", "whole"])
def test_search_runs_answers_do_not_depend_on_compaction(
    monkeypatch: pytest.MonkeyPatch, tail_fold: str
) -> None:
    """search_runs (filters, orderings, view types, paging) against no / full / incremental compaction."""
    _tail_fold(monkeypatch, tail_fold)
    monkeypatch.setenv("EVENTLOG_FLUSH_INTERVAL", "3600")
    stats = check_program(SEARCH_PROGRAM, os.getcwd(), search=True)
    assert (stats["compactions"], stats["runs"]) == (3, 3)
    assert stats["committed"] >= 5 and stats["metric_points"] >= 6


def test_program_checker_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison is not vacuous: an event the uncompacted copy lacks is noticed."""
    monkeypatch.setenv("EVENTLOG_FLUSH_INTERVAL", "3600")
    program = Program(f"{os.getcwd()}/inc")
    for op in [("create_experiment", 0, 0), ("create_run", 0, 1, None, None, None)]:
        program.apply(op, lambda *_: None)
    program.flush_all()
    mirror_events(program.root, f"{os.getcwd()}/raw")
    program.apply(("log_metric", 1, 0, "m0", 1.0, 1, 1), lambda *_: None)
    program.flush_all()
    ours = answers(Readers(program.root).client(), program.known, search=False)
    theirs = answers(Readers(f"{os.getcwd()}/raw").client(), program.known, search=False)
    assert ours != theirs


# ---------------------------------------------------------------------------------------------------------
# Regressions: deviations this suite found (fixed since); each was a strict xfail first
# ---------------------------------------------------------------------------------------------------------


def test_run_name_tag_delete_survives_compaction(store_uri: str) -> None:
    """Regression (found here as a strict xfail): deleting the mlflow.runName tag changed the run name
    once compacted. fold_runs names a run after the last of run_created / run_updated(name) /
    tag_set(mlflow.runName), ignoring tag deletes, but reduce_run_events kept only the last tag event per
    (run, key): when that was the delete, the tag_set that named the run was dropped and get_run's
    run_name fell back to the creation name after `eventlog compact` (docs/architecture.md, invariant 4)."""
    client = MlflowClient(store_uri)
    experiment_id = client.create_experiment("names")
    run_id = client.create_run(experiment_id, run_name="first").info.run_id
    client.set_tag(run_id, "mlflow.runName", "second")
    client.delete_tag(run_id, "mlflow.runName")
    before = run_answer(client.get_run(run_id))
    assert before["info"][2] == "second"
    compact_all(store_uri)
    assert run_answer(client.get_run(run_id)) == before


def test_fold_runs_of_reduced_state_with_run_name_tag_delete() -> None:
    """Regression, the same deviation at the level of the pure fold: fold_runs(reduce_run_events(a))
    differed from fold_runs(a) when a held tag_set(mlflow.runName) followed by its tag_deleted."""
    a = pl.DataFrame(
        [
            _row(
                writer="w",
                seq=0,
                kind=Kind.RUN_CREATED,
                timestamp=1,
                experiment_id="1",
                run_id="r",
                name="first",
            ),
            _row(
                writer="w",
                seq=1,
                kind=Kind.TAG_SET,
                timestamp=2,
                experiment_id="1",
                run_id="r",
                key="mlflow.runName",
                text="second",
            ),
            _row(
                writer="w",
                seq=2,
                kind=Kind.TAG_DELETED,
                timestamp=3,
                experiment_id="1",
                run_id="r",
                key="mlflow.runName",
            ),
        ],
        schema=EVENT_SCHEMA,
    )
    assert fold_runs(a).runs.get_column("run_name").to_list() == ["second"]
    assert_run_tables_equal(
        fold_runs(reduce_run_events(a), history=False), fold_runs(a, history=False), ["runs"]
    )


def test_param_conflict_rows_survive_compaction(store_uri: str) -> None:
    """Regression (found here as a strict xfail): compaction dropped param conflict rows. fold_runs
    records one param_conflicts row per rejected event (with its writer, seq), but reduce_run_events kept
    only the first event per (run, key, value), so two writers' events carrying the same rejected value
    showed as one conflict row after compaction instead of two."""
    rel_dir = "experiments/1/segments"
    rows = [
        _row(
            writer="w-a", seq=0, kind=Kind.RUN_CREATED, timestamp=1, experiment_id="1", run_id="r1", name="n"
        ),
        _row(
            writer="w-a",
            seq=1,
            kind=Kind.PARAM,
            timestamp=2,
            experiment_id="1",
            run_id="r1",
            key="p",
            text="1",
        ),
        _row(
            writer="w-b",
            seq=0,
            kind=Kind.PARAM,
            timestamp=3,
            experiment_id="1",
            run_id="r1",
            key="p",
            text="2",
        ),
        _row(
            writer="w-c",
            seq=0,
            kind=Kind.PARAM,
            timestamp=3,
            experiment_id="1",
            run_id="r1",
            key="p",
            text="2",
        ),
    ]
    frame = pl.DataFrame(rows, schema=EVENT_SCHEMA)
    write_segment(store_uri, rel_dir, frame, "w-a-0000000001.parquet")
    location = open_location(store_uri)
    before = partition_tables(location, "1").param_conflicts
    assert before.height == 2
    compact_stream(location, partition_stream("1"))
    assert canon(partition_tables(location, "1").param_conflicts) == canon(before)
