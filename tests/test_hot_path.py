"""The fluent log_metric hot path (eventlog._sink): what it skips per call must still hold on every call.

The fast path pays validation once per key, the run lookup once per run and no lock at all; these tests pin
what that must not change: a bad key is rejected every time, a point's own ``timestamp=`` and ``step=`` are
kept exactly, clock timestamps are milliseconds that do not go backwards, a flush failure or a deleted run
is noticed on the next call, nothing is lost or misaligned while other threads take the buffer, and the
order of one thread's points holds across the fluent and client calls.
"""

from __future__ import annotations

import math
import threading
import time
from array import array
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eventlog
from eventlog import MlflowClient, RunOperations
from eventlog._sink import MetricSink
from eventlog.entities import Metric
from eventlog.exceptions import InvalidParameterValue, MlflowException

INT64_MAX = 2**63 - 1
TS = 1_700_000_000_000


def _history(run_id: str, key: str) -> list[tuple[float, int, int]]:
    """(value, timestamp, step) of every point of ``key``, in the store's history order."""
    return [(m.value, m.timestamp, m.step) for m in MlflowClient().get_metric_history(run_id, key)]


def _sink() -> MetricSink:
    run = eventlog.active_run()
    assert run is not None
    return run._sink


@pytest.fixture(autouse=True)
def _store(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLOG_FLUSH_INTERVAL", "3600")  # flushes only when a test asks
    eventlog.set_tracking_uri(store_uri)


# -- validation once per key ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["bad*key", "", "k" * 251, "/abs", "a//b"])
def test_a_bad_key_is_rejected_every_time(bad: str) -> None:
    run_id = eventlog.start_run().info.run_id
    for step in range(3):
        eventlog.log_metric("good", 1.0, step=step)
        with pytest.raises(MlflowException) as raised:
            eventlog.log_metric(bad, 1.0, step=step)
        assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
        with pytest.raises(MlflowException):
            eventlog.log_metrics({"good": 2.0, bad: 1.0}, step=step)
    assert bad not in _sink().keys
    assert "good" in _sink().keys  # the good key did take the fast path
    eventlog.end_run()
    assert set(eventlog.get_run(run_id).data.metrics) == {"good"}
    assert [step for _, _, step in _history(run_id, "good")] == [0, 1, 2]


def test_the_fast_path_takes_only_what_it_checked() -> None:
    """A cached key with a value, step or timestamp the fast path does not take goes through the checks."""
    eventlog.start_run()
    eventlog.log_metric("m", 1.0, step=1)
    assert "m" in _sink().keys
    with pytest.raises(MlflowException, match="Please specify value as a valid double"):
        eventlog.log_metric("m", "abc", step=2)
    with pytest.raises(MlflowException, match=r"parameter 'step' supplied"):
        eventlog.log_metric("m", 1.0, step="x")
    with pytest.raises(MlflowException, match="Timestamp must be a nonnegative long"):
        eventlog.log_metric("m", 1.0, step=3, timestamp=-5)
    with pytest.raises(MlflowException, match="Missing value for required parameter 'value'"):
        eventlog.log_metric("m", None, step=4)


# -- timestamps and steps ---------------------------------------------------------------------------------


def test_clock_timestamps_are_milliseconds_that_never_go_back() -> None:
    run_id = eventlog.start_run().info.run_id
    before = time.time_ns() // 1_000_000
    for i in range(5_000):
        eventlog.log_metric("clock", 0.5, step=i)
    after = time.time_ns() // 1_000_000
    eventlog.log_metric("later", 0.5)
    history = sorted(_history(run_id, "clock"), key=lambda point: point[2])
    stamps = [timestamp for _, timestamp, _ in history]
    assert [step for _, _, step in history] == list(range(5_000))
    assert before <= stamps[0] and stamps[-1] <= after
    assert stamps == sorted(stamps)
    assert _history(run_id, "later")[0][1] >= stamps[-1]


_points = st.lists(
    st.tuples(
        st.sampled_from(["a", "b"]),
        st.one_of(st.floats(allow_nan=False), st.integers(-(2**53), 2**53), st.sampled_from([math.inf])),
        st.one_of(
            st.none(),
            st.integers(-(2**63), INT64_MAX),
            st.sampled_from([False, True, 3.0, np.int64(7)]),
        ),
        st.one_of(st.none(), st.just(0), st.integers(1, INT64_MAX)),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(points=_points)
def test_each_point_keeps_its_own_step_and_timestamp(points: list[tuple[str, Any, Any, Any]]) -> None:
    """Fast and checked calls mixed at random: every point lands with the value, step and timestamp the
    call gave (None and 0 meaning "now" for the timestamp, None and False meaning step 0)."""
    run_id = eventlog.start_run().info.run_id
    expected: dict[str, list[tuple[float, Any, int]]] = {"a": [], "b": []}
    before = time.time_ns() // 1_000_000
    try:
        for key, value, step, timestamp in points:
            eventlog.log_metric(key, value, step=step, timestamp=timestamp)
            expected[key].append((float(value), timestamp or None, int(step or 0)))
    finally:
        eventlog.end_run()
    after = time.time_ns() // 1_000_000
    for key, points_of_key in expected.items():
        got = _history(run_id, key)
        for value, timestamp, step in points_of_key:
            if timestamp is None:
                assert any(v == value and s == step and before <= t <= after for v, t, s in got), (
                    value,
                    step,
                )
            else:
                assert (value, timestamp, step) in got
        assert {(v, s) for v, _, s in got} == {(v, s) for v, _, s in points_of_key}


@pytest.mark.parametrize("how", ["fast", "timestamp", "log_metrics", "client", "log_batch"])
def test_steps_and_timestamps_past_int64_are_rejected_and_nothing_is_lost(how: str) -> None:
    run_id = eventlog.start_run().info.run_id
    client = MlflowClient()
    eventlog.log_metric("m", 1.0, step=1)
    calls = {
        "fast": [
            lambda: eventlog.log_metric("m", 2.0, step=2**63),
            lambda: eventlog.log_metric("m", 2.0, step=-(2**63) - 1),
        ],
        "timestamp": [lambda: eventlog.log_metric("m", 2.0, step=2, timestamp=2**63)],
        "log_metrics": [
            lambda: eventlog.log_metrics({"m": 2.0, "n": 3.0}, step=2**64),
            lambda: eventlog.log_metrics({"m": 2.0}, timestamp=2**63),
        ],
        "client": [
            lambda: client.log_metric(run_id, "m", 2.0, TS, 2**63),
            lambda: client.log_metric(run_id, "m", 2.0, 2**63, 2),
        ],
        "log_batch": [
            lambda: client.log_batch(run_id, metrics=[Metric("m", 2.0, TS, 5), Metric("n", 3.0, TS, 2**63)]),
            lambda: client.log_batch(run_id, metrics=[Metric("n", 3.0, 2**63, 1)]),
        ],
    }[how]
    for call in calls:
        with pytest.raises(
            InvalidParameterValue, match=r"for parameter '(metrics\[[01]\]\.)?(step|timestamp)'"
        ):
            call()
    eventlog.log_metric("m", 4.0, step=INT64_MAX)
    eventlog.log_metric("m", 5.0, step=-(2**63), timestamp=INT64_MAX)
    eventlog.end_run()  # the flush a misaligned buffer would fail
    assert sorted((v, s) for v, _, s in _history(run_id, "m")) == [
        (1.0, 1),
        (4.0, INT64_MAX),
        (5.0, -(2**63)),
    ]
    assert _history(run_id, "n") == []


# -- what the next call must notice -------------------------------------------------------------------------


def test_a_deleted_run_is_noticed_on_the_next_call() -> None:
    run_id = eventlog.start_run().info.run_id
    client = MlflowClient()
    eventlog.log_metric("m", 1.0, step=0)
    client.delete_run(run_id)
    for step in (1, 2):
        with pytest.raises(MlflowException, match="must be in the 'active' state"):
            eventlog.log_metric("m", 1.0, step=step)
    client.restore_run(run_id)
    eventlog.log_metric("m", 1.0, step=3)
    eventlog.log_metric("m", 1.0, step=4)
    eventlog.end_run()
    assert [s for _, _, s in _history(run_id, "m")] == [0, 3, 4]


def test_async_logging_returns_operations_on_every_call(
    monkeypatch: pytest.MonkeyPatch, store_uri: str
) -> None:
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "true")
    eventlog.set_tracking_uri(store_uri + "-async")  # a new store: the variable is read when it is built
    run_id = eventlog.start_run().info.run_id
    results = [eventlog.log_metric("m", float(i), step=i) for i in range(3)]
    assert all(isinstance(r, RunOperations) for r in results)
    for r in results:
        assert r is not None
        r.wait()
    eventlog.end_run()
    assert len(_history(run_id, "m")) == 3


def test_synchronous_fast_key_is_durable_on_return(store_uri: str) -> None:
    run_id = eventlog.start_run().info.run_id
    eventlog.log_metric("m", 1.0, step=0)
    eventlog.log_metric("m", 2.0, step=1, synchronous=True)
    assert len(MlflowClient(store_uri).get_metric_history(run_id, "m")) == 2


# -- runs, threads and order ---------------------------------------------------------------------------------


def test_nested_runs_get_their_own_points_and_ended_runs_leave_the_writer() -> None:
    outer = eventlog.start_run().info.run_id
    writer = _sink().handle.writer
    eventlog.log_metric("m", 1.0, step=0)
    inner = eventlog.start_run(nested=True).info.run_id
    eventlog.log_metric("m", 2.0, step=0)
    assert len(writer._sinks) == 2
    eventlog.end_run()
    eventlog.log_metric("m", 3.0, step=1)
    eventlog.end_run()
    assert writer._sinks == []
    assert [(v, s) for v, _, s in _history(outer, "m")] == [(1.0, 0), (3.0, 1)]
    assert [(v, s) for v, _, s in _history(inner, "m")] == [(2.0, 0)]


def test_threads_each_with_a_run_lose_nothing_while_the_writer_takes(
    store_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four threads log through their own sinks while the flush thread takes from them every few ms and
    at a small buffer size: every point arrives once, with its own value (rows stay aligned)."""
    monkeypatch.setenv("EVENTLOG_FLUSH_INTERVAL", "0.002")
    monkeypatch.setenv("EVENTLOG_FLUSH_ROWS", "700")
    eventlog.set_tracking_uri(store_uri + "-threads")
    threads, points = 4, 20_000
    run_ids: dict[int, str] = {}
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            with eventlog.start_run() as run:
                run_ids[t] = run.info.run_id
                for i in range(points):
                    eventlog.log_metric(f"k{i % 3}", i * 10.0 + t, step=i)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert errors == []
    for t, run_id in run_ids.items():
        for k in range(3):
            history = _history(run_id, f"k{k}")
            assert sorted(s for _, _, s in history) == list(range(k, points, 3))
            assert all(v == s * 10.0 + t for v, _, s in history)


def test_sink_take_keeps_rows_whole_while_another_thread_appends() -> None:
    """The prefix protocol on its own: one thread appends, another takes, and every row arrives once and
    whole, in order."""
    eventlog.start_run()
    sink = _sink()
    total = 200_000
    taken: list[tuple[array[int], array[float], array[int], array[int]]] = []
    done = threading.Event()

    def append() -> None:
        for i in range(total):
            sink.step.append(i)
            sink.key.append(i % 5)
            sink.value.append(float(i))
            sink.timestamp.append(i * 1_000_000)
        done.set()

    appender = threading.Thread(target=append)
    appender.start()
    deadline = time.monotonic() + 60
    while (not done.is_set() or sink.buffered) and time.monotonic() < deadline:
        got = sink.take()
        if got is not None:
            taken.append(got)
    appender.join()
    assert sink.buffered == 0, "rows were left that take() does not return"
    assert len(taken) > 1  # the two threads did interleave
    keys, values, stamps, steps = (array(kind) for kind in "idqq")
    for k, v, ts, s in taken:
        keys.extend(k)
        values.extend(v)
        stamps.extend(ts)
        steps.extend(s)
    assert list(steps) == list(range(total))
    assert list(keys) == [i % 5 for i in range(total)]
    assert list(values) == [float(i) for i in range(total)]
    assert list(stamps) == list(range(total))  # ns readings come back as ms


def test_one_threads_points_keep_their_order_across_fluent_and_client_calls() -> None:
    """Equal points (same step and timestamp, NaN ranking as 0) resolve to the first logged: which one
    was first must not depend on which buffer each call went to."""
    run_id = eventlog.start_run().info.run_id
    client = MlflowClient()
    eventlog.log_metric("fluent_first", math.nan, step=0, timestamp=TS)
    client.log_metric(run_id, "fluent_first", 0.0, TS, 0)
    client.log_metric(run_id, "client_first", 0.0, TS, 0)
    eventlog.log_metric("client_first", math.nan, step=0, timestamp=TS)
    eventlog.log_metrics({"batch_first": math.nan}, step=0, timestamp=TS)
    client.log_batch(run_id, metrics=[Metric("batch_first", 0.0, TS, 0)])
    eventlog.end_run()
    metrics = eventlog.get_run(run_id).data.metrics
    assert math.isnan(metrics["fluent_first"])
    assert metrics["client_first"] == 0.0
    assert math.isnan(metrics["batch_first"])
