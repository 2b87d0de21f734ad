"""Validation through the public API: run ids, experiment names, batch limits and duplicate keys."""

from __future__ import annotations

from typing import Any

from . import Ctx, Scenarios

scenario = Scenarios()

TS = 1_700_000_000_000


def _metric(m: Any, *args: Any) -> Any:
    return m.entities.Metric(*args)


def _param(m: Any, key: Any, value: Any) -> Any:
    return m.entities.Param(key, value)


def _tag(m: Any, key: Any, value: Any) -> Any:
    return m.entities.RunTag(key, value)


def _client_run(m: Any, ctx: Ctx) -> tuple[Any, str]:
    experiment_id = ctx.new_experiment()
    client = ctx.client()
    return client, client.create_run(experiment_id, run_name="r").info.run_id


@scenario
def run_id_regex(m: Any, ctx: Ctx) -> Any:
    client = ctx.client()
    ids = [
        "bad id!",
        "-starts-with-dash",
        "_underscore",
        "a" * 257,
        "",
        "has/slash",
        "a",  # valid, missing
        "A-b_c" + "0" * 200,  # valid, missing
    ]
    return [(x[:20], ctx.call(client.get_run, x)) for x in ids]


@scenario()
def longest_valid_run_id(m: Any, ctx: Ctx) -> Any:
    client, rid = _client_run(m, ctx)
    long_id = rid[:2] + "a" * 254
    return [ctx.call(client.get_run, long_id)[:3], ctx.call(client.log_param, long_id, "p", "v")[:3]]


@scenario
def run_id_regex_in_logging_calls(m: Any, ctx: Ctx) -> Any:
    client = ctx.client()
    bad = "bad id!"
    return [
        ctx.call(client.log_param, bad, "p", "v"),
        ctx.call(client.set_tag, bad, "t", "v"),
        ctx.call(client.log_batch, bad, params=[_param(m, "p", "v")]),
        ctx.call(client.log_metric, bad, "m", 1.0, TS),
        ctx.call(client.delete_tag, bad, "t"),
        ctx.call(client.update_run, bad, "FAILED"),
        ctx.call(client.set_terminated, bad),
        ctx.call(m.start_run, run_id=bad),
        ctx.call(m.delete_run, bad),
        ctx.call(m.restore_run, bad),
    ]


@scenario
def experiment_name_limits(m: Any, ctx: Ctx) -> Any:
    client = ctx.client()
    return [
        ctx.call(client.create_experiment, ""),
        ctx.call(client.create_experiment, None),
        ctx.call(client.create_experiment, (ctx.prefix + "n" * 501)[:501]),
        ctx.call(client.create_experiment, (ctx.prefix + "m" * 500)[:500])[0],
        ctx.call(m.set_experiment, (ctx.prefix + "o" * 501)[:501]),
        ctx.call(client.rename_experiment, "0", (ctx.prefix + "p" * 501)[:501]),
    ]


@scenario
def client_log_batch_chunks_past_store_limits(m: Any, ctx: Ctx) -> Any:
    client, rid = _client_run(m, ctx)
    out = [
        ctx.call(client.log_batch, rid, params=[_param(m, f"p{i:03d}", str(i)) for i in range(101)]),
        ctx.call(client.log_batch, rid, tags=[_tag(m, f"t{i:03d}", str(i)) for i in range(101)]),
        ctx.call(
            client.log_batch, rid, metrics=[_metric(m, f"m{i:04d}", float(i), TS, 0) for i in range(1001)]
        ),
        ctx.call(
            client.log_batch,
            rid,
            metrics=[_metric(m, "big", float(i), TS, i) for i in range(1500)],
            params=[_param(m, f"q{i:03d}", "v") for i in range(250)],
            tags=[_tag(m, f"u{i:03d}", "v") for i in range(150)],
        ),
    ]
    run = client.get_run(rid)
    return (
        out,
        len(run.data.params),
        len([t for t in run.data.tags if not t.startswith("mlflow.")]),
        len(run.data.metrics),
        run.data.metrics["big"],
        len(client.get_metric_history(rid, "big")),
    )


@scenario
def fluent_batches_past_store_limits(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    with m.start_run(run_name="r") as run:
        out = [
            ctx.call(m.log_params, {f"p{i:03d}": i for i in range(101)}),
            ctx.call(m.set_tags, {f"t{i:03d}": i for i in range(101)}),
            ctx.call(m.log_metrics, {f"m{i:04d}": float(i) for i in range(1001)}, timestamp=TS),
        ]
    got = m.get_run(run.info.run_id)
    return out, len(got.data.params), len(got.data.metrics)


@scenario
def duplicate_param_keys_in_a_batch(m: Any, ctx: Ctx) -> Any:
    client, rid = _client_run(m, ctx)
    out = [
        ctx.call(client.log_batch, rid, params=[_param(m, "dk", "1"), _param(m, "dk", "2")]),
        ctx.call(client.log_batch, rid, params=[_param(m, "same", "1"), _param(m, "same", "1")]),
        ctx.call(
            client.log_batch,
            rid,
            params=[_param(m, "a", "1"), _param(m, "b", "1"), _param(m, "a", "1"), _param(m, "b", "2")],
        ),
    ]
    return out, client.get_run(rid).data.params


@scenario
def duplicate_tag_and_metric_keys_in_a_batch(m: Any, ctx: Ctx) -> Any:
    client, rid = _client_run(m, ctx)
    out = [
        ctx.call(client.log_batch, rid, tags=[_tag(m, "t", "1"), _tag(m, "t", "2")]),
        ctx.call(client.log_batch, rid, metrics=[_metric(m, "m", 1.0, TS, 0), _metric(m, "m", 2.0, TS, 0)]),
    ]
    run = client.get_run(rid)
    return (
        out,
        run.data.tags.get("t"),
        run.data.metrics,
        [ctx.metric(x) for x in client.get_metric_history(rid, "m")],
    )


@scenario()
def duplicate_param_keys_across_chunks(m: Any, ctx: Ctx) -> Any:
    client, rid = _client_run(m, ctx)
    # The client sends params in chunks of 100: a duplicate in another chunk is not a "duplicate key"
    # error but a second logging of the key (no-op when equal, a change error when not).
    params = [_param(m, f"p{i:03d}", "v") for i in range(100)]
    same = ctx.call(client.log_batch, rid, params=[*params, _param(m, "p000", "v")])
    changed = ctx.call(client.log_batch, rid, params=[*params, _param(m, "p000", "other")])
    return same, changed, len(client.get_run(rid).data.params)


@scenario
def batch_is_all_or_nothing(m: Any, ctx: Ctx) -> Any:
    client, rid = _client_run(m, ctx)
    out = [
        ctx.call(
            client.log_batch,
            rid,
            metrics=[_metric(m, "m", 1.0, TS, 0)],
            params=[_param(m, "p", "v")],
            tags=[_tag(m, "bad*key", "v")],
        ),
        ctx.call(
            client.log_batch,
            rid,
            metrics=[_metric(m, "m", "abc", TS, 0)],
            params=[_param(m, "p", "v")],
            tags=[_tag(m, "t", "v")],
        ),
        ctx.call(
            client.log_batch,
            rid,
            metrics=[_metric(m, "m", 1.0, TS, 0)],
            params=[_param(m, "p", "v"), _param(m, "q" * 251, "v")],
            tags=[_tag(m, "t", "v")],
        ),
    ]
    run = ctx.run(client.get_run(rid))
    return out, run["data"]


@scenario
def batch_validation_order_and_paths(m: Any, ctx: Ctx) -> Any:
    client, rid = _client_run(m, ctx)
    # Several bad items: which one is reported first is part of MLflow's behaviour.
    return [
        ctx.call(
            client.log_batch,
            rid,
            metrics=[_metric(m, "ok", 1.0, TS, 0), _metric(m, "bad*m", 1.0, TS, 0)],
            params=[_param(m, "bad*p", "v")],
            tags=[_tag(m, "bad*t", "v")],
        ),
        ctx.call(
            client.log_batch,
            rid,
            params=[_param(m, "ok", "v"), _param(m, "bad*p", "v")],
            tags=[_tag(m, "bad*t", "v")],
        ),
        ctx.call(client.log_batch, rid, tags=[_tag(m, "ok", "v"), _tag(m, "t" * 251, "v")]),
        ctx.call(client.log_batch, rid, metrics=[_metric(m, "m", 1.0, -1, 0)]),
        ctx.call(client.log_batch, rid, tags=[_tag(m, "t", None)]),
        ctx.call(client.log_batch, rid, metrics=[_metric(m, "m", 1.0, TS, None)]),
        ctx.call(client.log_batch, rid, metrics=[_metric(m, "m", 1.0, None, 0)]),
        ctx.call(client.log_batch, rid, metrics=[_metric(m, None, 1.0, TS, 0)]),
        ctx.call(client.log_batch, rid, params=[_param(m, "p", None)]),
    ]


@scenario
def empty_batch(m: Any, ctx: Ctx) -> Any:
    client, rid = _client_run(m, ctx)
    return [
        ctx.call(client.log_batch, rid),
        ctx.call(client.log_batch, rid, [], [], []),
        ctx.call(client.log_batch, "0123456789abcdef0123456789abcdef"),
        ctx.call(m.log_params, {}),
        ctx.call(m.log_metrics, {}),
        ctx.call(m.set_tags, {}),
        m.active_run() is not None,
    ]


@scenario
def truncate_env_values(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    run = m.start_run(run_name="r")
    out = []
    for i, value in enumerate(("true", "TRUE", "1", "false", "False", "0")):
        ctx.setenv("MLFLOW_TRUNCATE_LONG_VALUES", value)
        out.append((value, ctx.call(m.log_param, f"p{i}", "v" * 6001)[0]))
    m.end_run()
    return out, {k: len(v) for k, v in m.get_run(run.info.run_id).data.params.items()}


@scenario.parametrize
def test_validation(case: Any, differential: Any) -> None:
    differential(case)
