"""Reading many segments as one batch (views._snapshot.read_segment_batch), and located run ids.

The batch reader is what compaction and every tail read go through: one Polars scan for thousands of small
segments. It must give exactly what reading each file on its own gives (same events, in file order, and
each file's row count), and when a file of the batch is damaged or gone, report that one file and still
read all the others (docs/architecture.md, invariant 9).
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from eventlog.storage import Location, open_location
from eventlog.views import layout
from eventlog.views._fold import EVENT_SCHEMA
from eventlog.views._snapshot import _one_by_one, read_segment_batch, segment_paths
from hypothesis import given
from hypothesis import strategies as st

import eventlog as mlflow
from eventlog import MlflowClient

_MLFLOW_RUN_ID = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")


def _store_with_segments(uri: str, runs: int = 30) -> tuple[Location, list[str]]:
    client = MlflowClient(uri)
    experiment_id = client.create_experiment("batch")
    for i in range(runs):
        run_id = client.create_run(experiment_id).info.run_id
        client.log_param(run_id, "i", str(i))
        client.log_metric(run_id, "m", float(i), step=i)
        client.set_terminated(run_id)  # one segment per run
    location = open_location(uri)
    rels = sorted(segment_paths(location, layout.partition_segments(experiment_id)))
    assert len(rels) == runs
    return location, rels


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return f"memory://batch-{uuid.uuid4().hex[:8]}"
    # A path with glob characters and a directory named like a hive partition: both must be taken literally.
    return str(tmp_path / "a=b" / "st[o]re*")


def test_a_batch_reads_what_the_files_read_one_by_one_give(store: str) -> None:
    location, rels = _store_with_segments(store)
    batch = read_segment_batch(location, rels)
    slow = _one_by_one(location, rels, {})
    assert batch.failed == {} and slow.failed == {}
    assert batch.events.schema == EVENT_SCHEMA
    assert batch.rows == slow.rows and list(batch.rows) == rels
    assert batch.events.equals(slow.events)
    frames = batch.frames()
    for rel in rels:
        assert frames[rel].equals(_one_by_one(location, [rel], {}).events)


def test_a_damaged_file_is_reported_and_the_others_are_read(store: str) -> None:
    location, rels = _store_with_segments(store)
    damaged = rels[7]
    good = [rel for rel in rels if rel != damaged]
    expected = read_segment_batch(location, good).events
    data = location.read_bytes(damaged)
    location.delete(damaged)
    location.put_if_absent(damaged, data[: len(data) // 2])  # truncated
    batch = read_segment_batch(location, rels)
    assert set(batch.failed) == {damaged}
    assert list(batch.rows) == good
    assert batch.events.equals(expected)


def test_a_file_that_vanished_after_listing_is_neither_read_nor_reported(store: str) -> None:
    location, rels = _store_with_segments(store)
    gone = rels[3]
    location.delete(gone)
    batch = read_segment_batch(location, rels)
    assert batch.failed == {} and gone not in batch.rows
    assert list(batch.rows) == [rel for rel in rels if rel != gone]


def test_segments_of_an_older_schema_get_the_missing_columns_as_nulls(tmp_path: Path) -> None:
    location, rels = _store_with_segments(str(tmp_path / "store"), runs=3)
    older = "experiments/1/segments/old-0000000001.parquet"
    table = pq.read_table(location.full_path(rels[0])).drop_columns(["size", "checksum"])
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    location.put_if_absent(older, sink.getvalue().to_pybytes())
    batch = read_segment_batch(location, [older, *rels])
    assert batch.failed == {}
    assert batch.events.schema == EVENT_SCHEMA
    assert batch.rows[older] == table.num_rows
    assert batch.events.head(table.num_rows).get_column("size").null_count() == table.num_rows


def test_an_empty_batch_is_empty(tmp_path: Path) -> None:
    location, _ = _store_with_segments(str(tmp_path / "store"), runs=1)
    batch = read_segment_batch(location, [])
    assert batch.events.height == 0 and batch.rows == {} and batch.failed == {}
    assert batch.events.schema == EVENT_SCHEMA


# -- located run ids ---------------------------------------------------------------------------------------


@given(st.text(min_size=1, max_size=40))
def test_a_located_run_id_says_where_its_run_lives(experiment_id: str) -> None:
    run_id = layout.located_run_id(experiment_id)
    assert re.fullmatch(r"[0-9a-f]{32}", run_id) and _MLFLOW_RUN_ID.match(run_id)
    assert uuid.UUID(run_id).version == 8 and uuid.UUID(run_id).variant == uuid.RFC_4122
    located = layout.run_location(run_id)
    digits = experiment_id.isascii() and experiment_id.isdigit()
    canonical = digits and str(int(experiment_id)) == experiment_id
    if canonical and int(experiment_id) < 2**24:
        assert located == ("id", int(experiment_id))
    else:
        assert located == ("crc", layout.experiment_crc(experiment_id))
    created = layout.run_created_ms(run_id)
    assert created is not None and abs(created - time.time() * 1000) < 60_000


def test_located_run_ids_are_random_sort_by_creation_and_mlflow_ids_are_not_located() -> None:
    ids = {layout.located_run_id("7") for _ in range(2000)}
    assert len(ids) == 2000
    same_ms = {layout.located_run_id("7", time_ms=1_700_000_000_000) for _ in range(2000)}
    assert len(same_ms) == 2000
    times = [1_700_000_000_000 + step for step in (0, 1, 999, 10**9)]
    made = [layout.located_run_id("7", time_ms=t) for t in times]
    assert sorted(made) == made
    assert [layout.run_created_ms(layout.located_run_id("3", time_ms=t)) for t in times] == times
    assert all(layout.run_location(uuid.uuid4().hex) is None for _ in range(2000))
    assert layout.run_location("not-a-run-id") is None
    assert layout.run_location("g" * 32) is None
    assert layout.run_created_ms(uuid.uuid4().hex) is None


def test_runs_created_through_the_api_get_located_ids(tmp_path: Path) -> None:
    mlflow.set_tracking_uri(str(tmp_path / "store"))
    experiment_id = mlflow.create_experiment("located")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        pass
    assert layout.run_location(run.info.run_id) == ("id", int(experiment_id))
    default = MlflowClient().create_run("0").info.run_id
    assert layout.run_location(default) == ("id", 0)
    assert not Path(tmp_path, "store", "runs").exists()  # no run index for them


@given(st.text(alphabet="ab-0123456789.parquetx", max_size=30))
def test_the_cheap_segment_name_check_agrees_with_the_parser(name: str) -> None:
    assert layout.is_segment_name(name) == (layout.parse_segment_name(name) is not None)
