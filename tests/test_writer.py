"""The buffered writer: when buffered events become segments, and that none is lost or written twice.

Every check here reads the store's segment files straight from disk with Polars (never through eventlog,
whose reads flush first), so "durable" means "in a published Parquet segment" (docs/architecture.md,
invariants 1, 2, 6).
"""

from __future__ import annotations

import errno
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from eventlog.storage import Location
from hypothesis import given, settings
from hypothesis import strategies as st

import eventlog
from eventlog import MlflowClient, RunOperations
from eventlog.entities import Metric, Param, RunTag
from eventlog.exceptions import BackgroundFlushError, MlflowException

SEGMENT_NAME = re.compile(r"(?P<writer>[0-9a-z]+)-(?P<n>[0-9]+)\.parquet")

# -- reading the store from disk --------------------------------------------------------------------------


def _parquet_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.parquet") if not p.name.startswith(".tmp-"))


def _disk_events(root: Path) -> pl.DataFrame:
    frames = [pl.read_parquet(p) for p in _parquet_files(root)]
    if not frames:
        return pl.DataFrame({"writer": [], "seq": [], "kind": [], "key": [], "run_id": []})
    return pl.concat(frames, how="diagonal_relaxed")


def _rows(root: Path, kind: str = "metric", key: str | None = None) -> int:
    events = _disk_events(root)
    if events.height == 0:
        return 0
    events = events.filter(pl.col("kind") == kind)
    if key is not None:
        events = events.filter(pl.col("key") == key)
    return events.height


def _poll(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01) -> float:
    """Wait until ``predicate()`` holds; return the seconds it took (fails the test on timeout)."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(interval)
    return time.monotonic() - start


def _assert_unique_ids(root: Path) -> pl.DataFrame:
    events = _disk_events(root)
    duplicates = events.group_by("writer", "seq").len().filter(pl.col("len") > 1)
    assert duplicates.height == 0, f"duplicate event ids on disk: {duplicates}"
    return events


@pytest.fixture
def root(store_uri: str) -> Path:
    return Path(store_uri)


def _use(store_uri: str, monkeypatch: pytest.MonkeyPatch, interval: float, rows: int | None = None) -> None:
    """Writer settings are read when the store is built, so set them before the first call."""
    monkeypatch.setenv("EVENTLOG_FLUSH_INTERVAL", str(interval))
    if rows is not None:
        monkeypatch.setenv("EVENTLOG_FLUSH_ROWS", str(rows))
    eventlog.set_tracking_uri(store_uri)


# -- when buffered events are published ---------------------------------------------------------------------


def test_timer_flushes_without_any_call(store_uri: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use(store_uri, monkeypatch, interval=0.1)
    eventlog.start_run()
    for i in range(25):
        eventlog.log_metric("timed", float(i), step=i)
    took = _poll(lambda: _rows(root, key="timed") == 25)
    assert took < 2.0  # a few intervals, not a full second more
    # the timer keeps running: a second batch is published too
    eventlog.log_metrics({"timed": 99.0, "other": 1.0}, step=100)
    _poll(lambda: _rows(root, key="timed") == 26 and _rows(root, key="other") == 1)


def test_events_stay_buffered_until_a_trigger(
    store_uri: str, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control for the tests below: with a long interval nothing is written on its own."""
    _use(store_uri, monkeypatch, interval=3600)
    eventlog.start_run()
    for i in range(200):
        eventlog.log_metric("quiet", float(i), step=i)
    eventlog.log_param("p", 1)
    eventlog.set_tag("t", "v")
    time.sleep(0.3)
    assert _rows(root, key="quiet") == 0
    assert _rows(root, kind="param") == 0
    eventlog.flush()
    assert _rows(root, key="quiet") == 200
    assert _rows(root, kind="param") == 1


def test_size_triggers_a_flush(store_uri: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use(store_uri, monkeypatch, interval=3600, rows=100)
    eventlog.start_run()
    for i in range(99):
        eventlog.log_metric("sized", float(i), step=i)
    time.sleep(0.3)
    assert _rows(root, key="sized") == 0  # below the threshold: still buffered
    eventlog.log_metric("sized", 99.0, step=99)
    _poll(lambda: _rows(root, key="sized") == 100, timeout=5.0)


def test_size_flush_bounds_the_buffer(store_uri: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Far past the threshold the caller flushes itself, so at most ~4x flush_rows stay in memory."""
    _use(store_uri, monkeypatch, interval=3600, rows=50)
    eventlog.start_run()
    total = 5000
    for i in range(total):
        eventlog.log_metric("bounded", float(i), step=i)
    # no waiting: what is not yet on disk is at most one batch being published plus the open buffer
    assert _rows(root, key="bounded") >= total - 2 * 4 * 50
    eventlog.flush()
    assert _rows(root, key="bounded") == total
    _assert_unique_ids(root)


def test_end_run_flushes(store_uri: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use(store_uri, monkeypatch, interval=3600)
    run = eventlog.start_run()
    for i in range(500):
        eventlog.log_metric("loss", 1.0 / (i + 1), step=i)
    eventlog.log_metrics({"a": 1.0, "b": 2.0}, step=1)
    eventlog.log_params({"lr": 0.1, "depth": 3})
    eventlog.set_tag("phase", "train")
    assert _rows(root, key="loss") == 0
    eventlog.end_run()
    events = _disk_events(root)
    mine = events.filter(pl.col("run_id") == run.info.run_id)
    assert mine.filter((pl.col("kind") == "metric") & (pl.col("key") == "loss")).height == 500
    assert mine.filter(pl.col("kind") == "metric").height == 502
    assert sorted(mine.filter(pl.col("kind") == "param").get_column("key").to_list()) == ["depth", "lr"]
    assert "phase" in mine.filter(pl.col("kind") == "tag_set").get_column("key").to_list()
    assert mine.filter((pl.col("kind") == "run_updated") & (pl.col("status") == "FINISHED")).height == 1


def test_reads_flush_first(store_uri: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use(store_uri, monkeypatch, interval=3600)
    run = eventlog.start_run()
    for i in range(300):
        eventlog.log_metric("m", float(i), step=i)
    assert _rows(root, key="m") == 0
    history = MlflowClient().get_metric_history(run.info.run_id, "m")
    assert [m.step for m in history] == list(range(300))
    assert _rows(root, key="m") == 300


def test_synchronous_calls_are_durable_on_return(
    store_uri: str, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(store_uri, monkeypatch, interval=3600)
    run = eventlog.start_run()
    run_id = run.info.run_id
    client = MlflowClient()

    eventlog.log_metric("buffered", 1.0)
    assert _rows(root, key="buffered") == 0
    eventlog.log_metric("sync", 2.0, synchronous=True)
    assert _rows(root, key="sync") == 1
    assert _rows(root, key="buffered") == 1  # everything before it is durable too

    assert eventlog.log_metrics({"m1": 1.0, "m2": 2.0}, step=3, synchronous=True) is None
    assert _rows(root, key="m1") == 1 and _rows(root, key="m2") == 1

    eventlog.log_param("p_single", 5, synchronous=True)
    assert _rows(root, kind="param", key="p_single") == 1
    eventlog.log_params({"p_a": 1, "p_b": 2}, synchronous=True)
    assert _rows(root, kind="param", key="p_a") == 1 and _rows(root, kind="param", key="p_b") == 1
    eventlog.set_tag("t_single", "x", synchronous=True)
    assert _rows(root, kind="tag_set", key="t_single") == 1
    eventlog.set_tags({"t_a": "1"}, synchronous=True)
    assert _rows(root, kind="tag_set", key="t_a") == 1

    client.log_metric(run_id, "client_sync", 3.0, synchronous=True)
    assert _rows(root, key="client_sync") == 1
    client.log_batch(
        run_id,
        metrics=[Metric("batch_m", 1.0, 1, 0)],
        params=[Param("batch_p", "v")],
        tags=[RunTag("batch_t", "v")],
        synchronous=True,
    )
    assert _rows(root, key="batch_m") == 1
    assert _rows(root, kind="param", key="batch_p") == 1
    assert _rows(root, kind="tag_set", key="batch_t") == 1

    # synchronous=False: buffered, and the returned operation makes it durable
    ops = eventlog.log_metric("async", 4.0, synchronous=False)
    assert isinstance(ops, RunOperations)
    assert _rows(root, key="async") == 0
    ops.wait()
    assert _rows(root, key="async") == 1
    _assert_unique_ids(root)


# -- failing flushes -----------------------------------------------------------------------------------------


class _FlakyPublish:
    """Makes Location.publish of run segments raise OSError for the first ``failures`` attempts."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, failures: int = 1) -> None:
        self.failures = failures
        self.attempts: list[tuple[str, bool]] = []
        self.failed = threading.Event()
        real = Location.publish
        flaky = self

        def publish(location: Location, rel: str, data: bytes) -> None:
            if rel.startswith("experiments/") and flaky.failures > 0:
                flaky.failures -= 1
                flaky.attempts.append((rel, False))
                flaky.failed.set()
                raise OSError(errno.EIO, "injected publish failure")
            real(location, rel, data)
            flaky.attempts.append((rel, True))

        monkeypatch.setattr(Location, "publish", publish)

    @property
    def failed_names(self) -> list[str]:
        return [rel for rel, ok in self.attempts if not ok]

    @property
    def published_names(self) -> list[str]:
        return [rel for rel, ok in self.attempts if ok]


def _client_flush() -> None:
    MlflowClient().flush()


@pytest.mark.parametrize("flush", [eventlog.flush, _client_flush], ids=["eventlog.flush", "client.flush"])
def test_failed_flush_keeps_data_and_retries_same_name(
    store_uri: str, root: Path, monkeypatch: pytest.MonkeyPatch, flush: Callable[[], None]
) -> None:
    _use(store_uri, monkeypatch, interval=3600)
    run = eventlog.start_run()
    for i in range(100):
        eventlog.log_metric("m", float(i), step=i)
    flaky = _FlakyPublish(monkeypatch, failures=3)
    for _ in range(3):
        with pytest.raises((OSError, MlflowException), match="injected publish failure"):
            flush()
        assert _rows(root, key="m") == 0
    for i in range(100, 150):  # logging goes on while the data waits
        eventlog.log_metric("m", float(i), step=i)
    flush()
    assert len(set(flaky.failed_names)) == 1  # every retry used the same segment name
    assert flaky.published_names[0] == flaky.failed_names[0]
    assert (root / flaky.failed_names[0]).is_file()
    history = MlflowClient().get_metric_history(run.info.run_id, "m")
    assert [m.step for m in history] == list(range(150))
    events = _assert_unique_ids(root)
    assert events.filter(pl.col("kind") == "metric").height == 150


def _next_log_metric(i: int) -> None:
    eventlog.log_metric("m", float(i), step=i)


def _next_log_metrics(i: int) -> None:
    eventlog.log_metrics({"m": float(i)}, step=i)


def _next_log_param(i: int) -> None:
    eventlog.log_param(f"p{i}", i)


def _next_set_tag(i: int) -> None:
    eventlog.set_tag(f"t{i}", i)


def _next_get_run(i: int) -> None:
    run = eventlog.active_run()
    assert run is not None
    eventlog.get_run(run.info.run_id)


def _next_client_log_metric(i: int) -> None:
    run = eventlog.active_run()
    assert run is not None
    MlflowClient().log_metric(run.info.run_id, "m", float(i), step=i)


NEXT_CALLS = [
    _next_log_metric,
    _next_log_metrics,
    _next_log_param,
    _next_set_tag,
    _next_get_run,
    _next_client_log_metric,
]


@pytest.mark.parametrize("next_call", NEXT_CALLS, ids=lambda f: f.__name__.removeprefix("_next_"))
def test_background_flush_error_surfaces_on_next_call(
    store_uri: str, root: Path, monkeypatch: pytest.MonkeyPatch, next_call: Callable[[int], None]
) -> None:
    _use(store_uri, monkeypatch, interval=0.05)
    run = eventlog.start_run()
    flaky = _FlakyPublish(monkeypatch, failures=1)
    for i in range(100):
        eventlog.log_metric("m", float(i), step=i)
    assert flaky.failed.wait(5.0), "the background flush never ran"

    error: BackgroundFlushError | None = None
    calls = 100
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        try:
            next_call(calls)
        except BackgroundFlushError as exc:
            error = exc
            break
        calls += 1
        time.sleep(0.005)
    assert error is not None, "the background failure was never raised to the caller"
    assert isinstance(error, MlflowException)
    assert isinstance(error.__cause__, OSError)
    assert "injected publish failure" in str(error)
    next_call(calls + 1)  # reported once; the call after it works
    calls += 2

    history = MlflowClient().get_metric_history(run.info.run_id, "m")
    logged_steps = sorted({m.step for m in history})
    assert [m.step for m in history if m.step < 100] == list(range(100))
    assert len(history) == len(logged_steps)  # nothing twice
    assert flaky.published_names[0] == flaky.failed_names[0]  # retried under the same name
    assert len(flaky.failed_names) == 1
    _assert_unique_ids(root)


# -- naming and ids ------------------------------------------------------------------------------------------


def test_segments_are_named_by_writer_and_counter(
    store_uri: str, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(store_uri, monkeypatch, interval=3600, rows=40)
    client = MlflowClient()
    experiments = [client.create_experiment(f"exp-{i}") for i in range(2)]
    runs = [client.create_run(e).info.run_id for e in experiments for _ in range(2)]
    for step in range(300):
        for run_id in runs:
            client.log_metric(run_id, "m", float(step), step=step)
        if step % 50 == 0:
            client.log_param(runs[0], f"p{step}", step)
            client.set_tag(runs[-1], "step", step)
    eventlog.flush()
    client.set_experiment_tag(experiments[0], "k", "v")
    client.delete_run(runs[1])

    segments = sorted(root.glob("**/segments/**/*.parquet"))
    assert len(segments) > 4
    numbers: dict[str, list[int]] = {}
    for path in segments:
        match = SEGMENT_NAME.fullmatch(path.name)
        assert match, path.name
        frame = pl.read_parquet(path)
        assert frame.height > 0
        assert frame.get_column("writer").unique().to_list() == [match["writer"]]
        numbers.setdefault(match["writer"], []).append(int(match["n"]))
        if path.parent.parent.parent.name == "experiments":
            # a partition's segment only holds its own experiment's events
            assert frame.get_column("experiment_id").unique().to_list() == [path.parent.parent.name]
    assert len(numbers) == 1  # one writer in this process
    (counters,) = numbers.values()
    assert len(counters) == len(set(counters))
    events = _assert_unique_ids(root)
    assert events.filter(pl.col("kind") == "metric").height == 300 * len(runs)


# -- threads -------------------------------------------------------------------------------------------------


def test_threads_logging_to_one_run_lose_nothing(
    store_uri: str, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(store_uri, monkeypatch, interval=0.05, rows=300)
    run_id = eventlog.start_run().info.run_id
    threads, steps = 8, 250  # 8 points per step: 2,000 per thread, 16,000 in all
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            client = MlflowClient()
            barrier.wait(timeout=30)
            client.log_param(run_id, "shared", "same")  # the same value from every thread: a no-op
            for step in range(steps):
                value = t * 1e6 + step
                eventlog.log_metric(f"t{t}.a", value, step=step, run_id=run_id)
                client.log_metric(run_id, f"t{t}.b", value, step=step)
                eventlog.log_metrics({f"t{t}.c{j}": value + j for j in range(6)}, step=step, run_id=run_id)
                if step % 50 == 0:
                    client.log_param(run_id, f"t{t}.p{step}", step)
                    client.set_tag(run_id, f"t{t}.tag", step)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert errors == []
    eventlog.end_run()

    client = MlflowClient()
    for t in range(threads):
        for key in [f"t{t}.a", f"t{t}.b", *(f"t{t}.c{j}" for j in range(6))]:
            history = client.get_metric_history(run_id, key)
            assert sorted(m.step for m in history) == list(range(steps)), key
    data = client.get_run(run_id).data
    expected_params = {"shared": "same"} | {
        f"t{t}.p{s}": str(s) for t in range(threads) for s in range(0, steps, 50)
    }
    assert data.params == expected_params
    assert {data.tags[f"t{t}.tag"] for t in range(threads)} == {"200"}
    events = _assert_unique_ids(root)
    assert events.filter(pl.col("kind") == "metric").height == threads * steps * 8
    assert events.filter(pl.col("kind") == "param").height == len(expected_params)


# -- the segment encoder (views.segment_table): Arrow columns built from buffers, never with pa.array --------
# (which imports pandas). The writer encodes every segment with it; pa.array is the reference here.
_cells = st.one_of(st.none(), st.text(max_size=12))


def _same_values(got: list[object], expected: list[object]) -> bool:
    """Equal values, with nulls at the same places and NaN equal to NaN."""
    return len(got) == len(expected) and all(
        (a is None and b is None) or (a is not None and b is not None and (a == b or (a != a and b != b)))
        for a, b in zip(got, expected, strict=True)
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(_cells, max_size=40))
def test_string_columns_equal_pyarrows_own_conversion(values: list[str | None]) -> None:
    import pyarrow as pa
    from eventlog.views import segment_table

    table = segment_table(len(values), {"text": list(values)})
    table.validate(full=True)
    assert table.column("text").combine_chunks().equals(pa.array(values, pa.string()))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=40),
    st.lists(st.one_of(st.none(), st.floats()), max_size=40),
)
def test_number_columns_equal_pyarrows_own_conversion(
    ints: list[int | None], floats: list[float | None]
) -> None:
    from eventlog.views import segment_table

    for values, column in ((ints, "start_time"), (floats, "value")):
        table = segment_table(len(values), {column: list(values)})
        table.validate(full=True)
        assert _same_values(table.column(column).to_pylist(), list(values))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.text(max_size=8), min_size=1, max_size=6, unique=True),
    st.lists(st.tuples(st.integers(0, 5), st.booleans(), st.floats(), st.integers(-(2**63), 2**63 - 1))),
)
def test_coded_and_buffer_columns_decode_to_their_values(
    dictionary: list[str], rows: list[tuple[int, bool, float, int]]
) -> None:
    """Text as codes into a dictionary (the writer's runs and keys), numbers from array.array and numpy
    buffers, with or without a null mask, constants and ranges: each column holds the values it stands for."""
    from array import array

    import numpy as np
    from eventlog.views import Coded, Numbers, segment_table

    n = len(rows)
    codes = [c % len(dictionary) for c, _, _, _ in rows]
    nulls = np.array([null for _, null, _, _ in rows], dtype=bool)
    floats = [f for _, _, f, _ in rows]
    ints = [i for _, _, _, i in rows]
    small = [i % 1000 for i in ints]
    table = segment_table(
        n,
        {
            "writer": "w0",
            "seq": range(7, 7 + n),
            "run_id": Coded(array("i", codes), dictionary),
            "key": Coded(np.array(codes, dtype=np.int64), dictionary, nulls),
            "value": array("d", floats),
            "timestamp": np.array(ints, dtype=np.int64),
            "step": Numbers(array("q", ints), nulls),
            "start_time": Numbers(np.array(small, dtype=np.int32), nulls),  # converted to int64
        },
    )
    table.validate(full=True)
    masked = [None if null else v for v, null in zip(range(n), nulls, strict=True)]
    assert table.column("writer").to_pylist() == ["w0"] * n
    assert table.column("seq").to_pylist() == list(range(7, 7 + n))
    assert table.column("run_id").to_pylist() == [dictionary[c] for c in codes]
    assert table.column("key").to_pylist() == [None if m is None else dictionary[codes[m]] for m in masked]
    assert _same_values(table.column("value").to_pylist(), list(floats))
    assert table.column("timestamp").to_pylist() == ints
    assert table.column("step").to_pylist() == [None if m is None else ints[m] for m in masked]
    assert table.column("start_time").to_pylist() == [None if m is None else small[m] for m in masked]
    assert table.column("text").null_count == n  # a column left out is null


def test_segment_tables_check_their_columns() -> None:
    import numpy as np
    from eventlog.views import Coded, segment_schema, segment_table

    assert segment_table(0, {}).schema.equals(segment_schema())
    with pytest.raises(ValueError, match="not segment columns"):
        segment_table(1, {"colour": ["red"]})
    with pytest.raises(ValueError, match="has 2 rows, not 3"):
        segment_table(3, {"step": np.arange(2)})
    with pytest.raises(TypeError):
        segment_table(1, {"step": "seven"})
    with pytest.raises(TypeError):
        segment_table(1, {"key": np.arange(1)})
    with pytest.raises(TypeError):
        segment_table(1, {"value": Coded(np.zeros(1, dtype=np.int32), ["x"])})


def test_small_segments_get_snappy_large_ones_zstd() -> None:
    """zstd's set-up costs more than a run's start or end takes to write: below ZSTD_MIN_ROWS, snappy."""
    import io

    import pyarrow.parquet as pq
    from eventlog.views import segment_bytes, segment_table
    from eventlog.views._encode import ZSTD_MIN_ROWS

    for rows, codec in ((1, "SNAPPY"), (ZSTD_MIN_ROWS - 1, "SNAPPY"), (ZSTD_MIN_ROWS, "ZSTD")):
        data = segment_bytes(segment_table(rows, {"writer": "w", "seq": range(rows), "kind": "metric"}))
        metadata = pq.ParquetFile(io.BytesIO(data)).metadata
        assert metadata.num_rows == rows
        assert {metadata.row_group(0).column(i).compression for i in range(metadata.num_columns)} == {codec}


def test_a_logging_process_does_not_import_pandas(tmp_path: Path) -> None:
    """Logging params, tags and metrics and reading them back never loads pandas (~35 MB, ~0.15 s)."""
    import subprocess
    import sys

    code = (
        "import sys, eventlog\n"
        f"eventlog.set_tracking_uri({str(tmp_path / 'store')!r})\n"
        "with eventlog.start_run() as run:\n"
        "    eventlog.log_params({'a': 1, 'b': 'x'}); eventlog.set_tag('t', 'v')\n"
        "    for i in range(1000): eventlog.log_metric('m', i / 7, step=i)\n"
        "client = eventlog.MlflowClient()\n"
        "assert len(client.get_metric_history(run.info.run_id, 'm')) == 1000\n"
        "assert client.search_runs(['0'])[0].data.params == {'a': '1', 'b': 'x'}\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


# -- a small flush is encoded as one table ------------------------------------------------------------------
_KINDS = ["param", "tag_set", "run_created", "run_updated", "tag_deleted"]


@st.composite
def _buffers(draw: st.DrawFn) -> tuple[object, object]:
    from eventlog import _writer

    metrics = _writer._MetricColumns()
    values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(0.0))
    for ts in range(draw(st.integers(1, 40))):
        metrics.run.append(draw(st.integers(0, 2)))
        metrics.key.append(draw(st.integers(0, 3)))
        metrics.value.append(draw(values))
        metrics.timestamp.append(1_000 + ts)
        metrics.step.append(draw(st.integers(-5, 5)))
    events = _writer._EventColumns()
    for i in range(draw(st.integers(1, 40))):
        events.seq.append(100 + i)
        events.timestamp.append(2_000 + i)
        events.kind.append(draw(st.sampled_from(_KINDS)))
        for name, column in events.columns.items():
            if name == "experiment_id":
                column.append(draw(st.sampled_from(["1", "2", "3"])))
            elif name in ("start_time", "end_time", "size"):
                column.append(draw(st.one_of(st.none(), st.integers(0, 2**40))))
            else:
                column.append(draw(st.one_of(st.none(), st.text(max_size=5))))
    return metrics, events


@settings(max_examples=200, deadline=None)
@given(_buffers())
def test_a_small_flush_encodes_as_the_two_table_layout_does(buffers: tuple[object, object]) -> None:
    """The one-table encoding of a short run's flush lays out exactly the rows, types and partitions of the
    general path (metric rows, then the other events, split by experiment in order of first event)."""
    from eventlog import _writer

    metrics, events = buffers
    args = ("w" * 28, metrics, 7, events, ["r0", "r1", "r2"], ["1", "2", "3"], ["a", "b", "c", "d"])
    one = _writer._one_table(*args)  # type: ignore[arg-type]
    threshold = _writer._ONE_TABLE_ROWS
    try:
        _writer._ONE_TABLE_ROWS = 0
        general = _writer._encode(*args)  # type: ignore[arg-type]
    finally:
        _writer._ONE_TABLE_ROWS = threshold
    assert [experiment for experiment, _ in one] == [experiment for experiment, _ in general]
    for (_, mine), (_, theirs) in zip(one, general, strict=True):
        assert mine.schema == theirs.schema
        assert repr(mine.to_pydict()) == repr(theirs.to_pydict())  # repr: NaN equals NaN
