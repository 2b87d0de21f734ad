"""Metrics: the latest-value rule, history, special values, conversion, validation."""

from __future__ import annotations

import math
from typing import Any

from . import Ctx, Scenarios

scenario = Scenarios()

TS = 1_700_000_000_000  # an explicit, deterministic timestamp


def _metric(m: Any) -> Any:
    return m.entities.Metric


def _run(m: Any, ctx: Ctx) -> str:
    ctx.new_experiment()
    return m.start_run(run_name="r").info.run_id


@scenario
def latest_is_max_of_step_timestamp_value(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    # Higher step with an older timestamp wins.
    m.log_metric("a", 5.0, step=0, timestamp=TS + 2000)
    m.log_metric("a", 2.0, step=1, timestamp=TS + 1000)
    # Same step: the later timestamp wins, even with a smaller value.
    m.log_metric("b", 9.0, step=3, timestamp=TS)
    m.log_metric("b", 1.0, step=3, timestamp=TS + 1)
    # Same step and timestamp: the larger value wins, whatever the order.
    m.log_metric("c", 7.0, step=2, timestamp=TS)
    m.log_metric("c", 3.0, step=2, timestamp=TS)
    m.log_metric("d", 3.0, step=2, timestamp=TS)
    m.log_metric("d", 7.0, step=2, timestamp=TS)
    # A lower step logged last does not win.
    m.log_metric("e", 1.0, step=10, timestamp=TS)
    m.log_metric("e", 100.0, step=9, timestamp=TS + 10)
    m.end_run()
    return ctx.run(m.get_run(rid))["data"]["metrics"]


@scenario
def history_order_from_client(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    for value, step, ts in [
        (1.0, 5, TS + 3),
        (2.0, 1, TS + 3),
        (0.5, 1, TS + 3),
        (4.0, 0, TS + 9),
        (3.0, 7, TS),
    ]:
        m.log_metric("h", value, step=step, timestamp=ts)
    m.end_run()
    return ctx.history(rid, "h"), ctx.history(rid, "missing")


@scenario
def nan_and_infinities(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    m.log_metric("nan", math.nan, step=0, timestamp=TS)
    m.log_metric("pinf", math.inf, step=0, timestamp=TS)
    m.log_metric("ninf", -math.inf, step=0, timestamp=TS)
    m.log_metrics({"b_nan": float("nan"), "b_inf": float("inf")}, step=1, timestamp=TS)
    m.log_metric("mixed", 1.0, step=0, timestamp=TS)
    m.log_metric("mixed", math.nan, step=1, timestamp=TS)
    m.end_run()
    run = ctx.run(m.get_run(rid))
    return run["data"]["metrics"], [ctx.history(rid, k) for k in ("nan", "pinf", "ninf", "mixed")]


@scenario
def nan_counts_as_zero_for_latest(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    # (step, timestamp, value) with NaN compared as 0 (MLflow's sqlite latest_metrics rule).
    m.log_metric("x", math.nan, step=0, timestamp=TS)
    m.log_metric("x", -1.0, step=0, timestamp=TS)
    m.log_metric("y", math.nan, step=0, timestamp=TS)
    m.log_metric("y", 1.0, step=0, timestamp=TS)
    m.end_run()
    return ctx.run(m.get_run(rid))["data"]["metrics"]


@scenario
def bool_and_numeric_strings_are_converted(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    out = [
        ctx.call(m.log_metric, "t", True, timestamp=TS),
        ctx.call(m.log_metric, "f", False, timestamp=TS),
        ctx.call(m.log_metric, "s", "3.5", timestamp=TS),
        ctx.call(m.log_metric, "i", 7, timestamp=TS),
        ctx.call(m.log_metric, "e", "1e3", timestamp=TS),
        ctx.call(m.log_metric, "sn", "nan", timestamp=TS),
        ctx.call(m.log_metrics, {"mt": True, "ms": "-2"}, timestamp=TS),
    ]
    m.end_run()
    return out, ctx.run(m.get_run(rid))["data"]["metrics"], ctx.history(rid, "t")


@scenario
def numpy_values_are_converted(m: Any, ctx: Ctx) -> Any:
    import numpy as np

    rid = _run(m, ctx)
    out = [
        ctx.call(m.log_metric, "f64", np.float64(1.5), timestamp=TS),
        ctx.call(m.log_metric, "i64", np.int64(3), timestamp=TS),
        ctx.call(m.log_metric, "arr", np.array(2.5), timestamp=TS),
        ctx.call(m.log_metric, "f32", np.float32(0.25), timestamp=TS),
    ]
    # Not compared: a numpy integer *step* (MLflow's sqlite store saves np.int64 as an 8-byte blob).
    m.end_run()
    return out, ctx.run(m.get_run(rid))["data"]["metrics"]


@scenario
def none_and_abc_are_rejected(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    client = ctx.client()
    out = [
        ctx.call(m.log_metric, "n", None, timestamp=TS),
        ctx.call(m.log_metric, "a", "abc", timestamp=TS),
        ctx.call(client.log_metric, rid, "n", None, TS),
        ctx.call(client.log_metric, rid, "a", "abc", TS),
        ctx.call(m.log_metric, "l", [1.0], timestamp=TS),
        ctx.call(m.log_metric, "d", {"a": 1}, timestamp=TS),
    ]
    m.end_run()
    return out, ctx.run(m.get_run(rid))["data"]["metrics"]


@scenario
def log_metrics_errors_name_the_batch_path(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    out = [
        ctx.call(m.log_metrics, {"ok": 1.0, "a": "abc"}, timestamp=TS),
        ctx.call(m.log_metrics, {"ok": 1.0, "n": None}, timestamp=TS),
        ctx.call(m.log_metrics, {"bad*key": 1.0}, timestamp=TS),
        ctx.call(m.log_metrics, {"ok": 1.0, "": 1.0}, timestamp=TS),
        ctx.call(m.log_metrics, {"k" * 251: 1.0}, timestamp=TS),
    ]
    m.end_run()
    return out, ctx.run(m.get_run(rid))["data"]["metrics"]


@scenario
def batch_metric_values_rejected(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    client = ctx.client()
    Metric = _metric(m)
    out = [
        ctx.call(client.log_batch, rid, metrics=[Metric("ok", 1.0, TS, 0), Metric("a", "abc", TS, 0)]),
        ctx.call(client.log_batch, rid, metrics=[Metric("ok", 1.0, TS, 0), Metric("n", None, TS, 0)]),
        ctx.call(client.log_batch, rid, metrics=[Metric("neg", 1.0, -5, 0)]),
        ctx.call(client.log_batch, rid, metrics=[Metric("bad*k", 1.0, TS, 0)]),
        ctx.call(client.log_batch, rid, metrics=[Metric("k" * 251, 1.0, TS, 0)]),
        ctx.call(client.log_batch, rid, metrics=[Metric("b", True, TS, 0)]),
        ctx.call(client.log_batch, rid, metrics=[Metric("s", "2.5", TS, 0)]),
    ]
    m.end_run()
    return out, ctx.run(m.get_run(rid))["data"]["metrics"]


@scenario
def negative_step(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    m.log_metric("m", 1.0, step=-5, timestamp=TS)
    m.log_metric("m", 2.0, step=-10, timestamp=TS + 1)
    m.log_metrics({"n": 3.0}, step=-1, timestamp=TS)
    m.log_metric("b", 1.0, step=True, timestamp=TS)
    m.log_metric("big", 1.0, step=2**62, timestamp=TS)
    m.end_run()
    return (
        ctx.run(m.get_run(rid))["data"]["metrics"],
        [ctx.history(rid, k) for k in ("m", "n", "b", "big")],
    )


@scenario
def identical_metric_twice_is_one_history_entry(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    client = ctx.client()
    m.log_metric("dup", 1.0, step=1, timestamp=TS)
    m.log_metric("dup", 1.0, step=1, timestamp=TS)
    client.log_metric(rid, "dup", 1.0, TS, 1)
    client.log_batch(rid, metrics=[_metric(m)("dup", 1.0, TS, 1), _metric(m)("dup", 1.0, TS, 1)])
    m.log_metric("nan_dup", math.nan, step=1, timestamp=TS)
    m.log_metric("nan_dup", math.nan, step=1, timestamp=TS)
    m.end_run()
    return ctx.history(rid, "dup"), ctx.history(rid, "nan_dup")


@scenario
def log_metrics_many_keys(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    m.log_metrics({f"k{i:04d}": i / 7 for i in range(1200)}, step=3, timestamp=TS)
    m.log_metrics({"a": 1.0, "b": 2.0})
    m.end_run()
    metrics = ctx.run(m.get_run(rid))["data"]["metrics"]
    hist = ctx.history(rid, "k0007")
    b = m.MlflowClient().get_metric_history(rid, "b")
    return len(metrics), metrics["k1199"], hist, [(x.step, x.timestamp > 0) for x in b]


@scenario
def client_log_metric_timestamp_before_step(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    client = ctx.client()
    client.log_metric(rid, "m", 1.0, TS, 3)
    client.log_metric(rid, "m", 2.0, TS + 5)
    client.log_metric(rid, "m", 3.0, step=7, timestamp=TS - 5)
    client.log_metric(rid, "zero_ts", 4.0, 0, 1)
    m.end_run()
    hist = ctx.history(rid, "m")
    return hist, ctx.history(rid, "zero_ts"), ctx.run(m.get_run(rid))["data"]["metrics"]


@scenario
def fluent_default_step_and_timestamp(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    m.log_metric("a", 1.0)
    m.log_metric("z", 1.0, timestamp=0)  # fluent: timestamp 0 means "now"
    m.log_metric("s", 1.0, step=None)
    m.end_run()
    return [[(x.step, x.timestamp > TS) for x in m.MlflowClient().get_metric_history(rid, k)] for k in "azs"]


@scenario
def negative_and_bad_timestamps(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    client = ctx.client()
    out = [
        ctx.call(m.log_metric, "negts", 1.0, timestamp=-5),
        ctx.call(client.log_metric, rid, "negts", 1.0, -1),
        ctx.call(client.log_metric, rid, "strts", 1.0, "x"),
    ]
    m.end_run()
    return out, ctx.run(m.get_run(rid))["data"]["metrics"]


@scenario
def bad_metric_keys(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    keys = ["bad*key", "..", "/x", "a//b", "", "k" * 251, "k" * 250, "ok:key/x.y-z w", None]
    out = [(repr(k), ctx.call(m.log_metric, k, 1.0, timestamp=TS)) for k in keys]
    m.end_run()
    return out, sorted(m.get_run(rid).data.metrics)


@scenario()
def non_numeric_step(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    out = [
        ctx.call(ctx.client().log_metric, rid, "s", 1.0, TS, "x"),
        ctx.call(m.log_metric, "s", 1.0, step="x", timestamp=TS),
        ctx.call(m.log_metric, "s", 1.0, step=[1], timestamp=TS),
    ]
    m.end_run()
    return out, ctx.run(m.get_run(rid))["data"]["metrics"]


@scenario
def fractional_step(m: Any, ctx: Ctx) -> Any:
    """MLflow stores step=1.5; eventlog deliberately requires whole-number steps (documented choice).

    Integral floats (2.0) are accepted by both and stored as the integer step.
    """
    rid = _run(m, ctx)
    whole = ctx.call(m.log_metric, "w", 1.0, step=2.0, timestamp=TS)
    fractional = ctx.call(m.log_metric, "f", 1.0, step=1.5, timestamp=TS)
    if ctx.is_eventlog:
        assert fractional[:3] == ("raise", "MlflowException", "INVALID_PARAMETER_VALUE"), fractional
        assert "whole number" in fractional[3], fractional
        fractional = ("normalised: fractional step",)
    else:
        assert fractional == ("ok", None)
        assert [x.step for x in m.MlflowClient().get_metric_history(rid, "f")] == [1.5]
        fractional = ("normalised: fractional step",)
    m.end_run()
    return whole, fractional, ctx.history(rid, "w")


@scenario
def metrics_of_a_deleted_run(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    m.end_run()
    client = ctx.client()
    client.delete_run(rid)
    return [
        ctx.call(client.log_metric, rid, "m", 1.0, TS),
        ctx.call(m.log_metric, "m", 1.0, timestamp=TS, run_id=rid),
        ctx.call(m.log_metrics, {"m": 1.0}, timestamp=TS, run_id=rid),
        ctx.call(client.log_batch, rid, metrics=[_metric(m)("m", 1.0, TS, 0)]),
    ]


@scenario
def log_metric_with_run_id_of_another_run(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    other = ctx.client().create_run(m.active_run().info.experiment_id, run_name="o").info.run_id
    m.log_metric("m", 1.0, timestamp=TS, run_id=other)
    m.log_metrics({"n": 2.0}, timestamp=TS, run_id=other)
    m.end_run()
    return ctx.run(m.get_run(rid))["data"]["metrics"], ctx.run(m.get_run(other))["data"]["metrics"]


@scenario()
def metric_history_of_missing_run(m: Any, ctx: Ctx) -> Any:
    client = ctx.client()
    return [
        ctx.call(client.get_metric_history, "0123456789abcdef0123456789abcdef", "m"),
        ctx.call(client.get_metric_history, "bad id!", "m"),
    ]


@scenario
def large_and_tiny_values(m: Any, ctx: Ctx) -> Any:
    rid = _run(m, ctx)
    m.log_metrics({"big": 1e308, "tiny": 5e-324, "negzero": -0.0, "int_big": 2**53 + 1}, timestamp=TS)
    m.end_run()
    return ctx.run(m.get_run(rid))["data"]["metrics"]


@scenario
def equal_points_resolve_to_the_first_logged_across_fluent_and_client(m: Any, ctx: Ctx) -> Any:
    # eventlog: fluent calls of the active run and client calls go to different buffers (eventlog._sink);
    # which equal point (NaN ranks as 0) came first must still be the order of the calls.
    rid = _run(m, ctx)
    client = ctx.client()
    Metric = _metric(m)
    m.log_metric("fluent_first", math.nan, step=0, timestamp=TS)
    client.log_metric(rid, "fluent_first", 0.0, TS, 0)
    client.log_metric(rid, "client_first", 0.0, TS, 0)
    m.log_metric("client_first", math.nan, step=0, timestamp=TS)
    m.log_metrics({"batch_first": math.nan}, step=0, timestamp=TS)
    client.log_batch(rid, metrics=[Metric("batch_first", 0.0, TS, 0)])
    client.log_batch(rid, metrics=[Metric("batch_second", math.nan, TS, 0)])
    m.log_metrics({"batch_second": 0.0}, step=0, timestamp=TS)
    m.end_run()
    return ctx.run(m.get_run(rid))["data"]["metrics"]


@scenario
def steps_and_timestamps_past_int64(m: Any, ctx: Ctx) -> Any:
    # Both refuse them (eventlog: INVALID_PARAMETER_VALUE naming the parameter; MLflow's sqlite store: its
    # driver's "int too large"), so only the family is compared, and that nothing else was lost.
    rid = _run(m, ctx)
    client = ctx.client()
    m.log_metric("m", 1.0, step=1, timestamp=TS)
    m.log_metric("m", 1.5, step=2)  # the key's fast path in eventlog
    out = [
        ctx.call(m.log_metric, "m", 2.0, step=2**63)[:2],
        ctx.call(m.log_metric, "m", 2.0, step=2, timestamp=2**63)[:2],
        ctx.call(client.log_metric, rid, "m", 2.0, TS, -(2**63) - 1)[:2],
    ]
    m.log_metric("m", 3.0, step=2**63 - 1, timestamp=TS)
    m.end_run()
    history = sorted((x.value, x.step) for x in client.get_metric_history(rid, "m"))
    return out, ctx.run(m.get_run(rid))["data"]["metrics"], history


@scenario.parametrize
def test_metrics(case: Any, differential: Any) -> None:
    differential(case)
