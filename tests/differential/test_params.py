"""Params: immutability, keys, long values, return values, resumed runs."""

from __future__ import annotations

from typing import Any

from . import Ctx, Scenarios

scenario = Scenarios()

BAD_KEYS = ["bad*key", "..", "../x", "/x", "a//b", "", "a/", "./a", "k" * 251, "tab\tkey"]
GOOD_KEYS = ["ok key:/.-_", "k" * 250, "a/b", "ünï", "x.y", "trailing\n", "..a", "a..b"]


def _param_entity(m: Any) -> Any:
    return m.entities.Param


@scenario
def same_value_again_is_a_noop(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    run = m.start_run(run_name="r")
    returned = []
    for value in (1, "1", 1, "1"):
        result = m.log_param("p", value)
        returned.append((repr(result), type(result).__name__))
    m.log_params({"p": 1, "q": 2.5})
    m.log_params({"p": "1", "q": "2.5"})
    ctx.client().log_batch(run.info.run_id, params=[_param_entity(m)("p", "1")])
    m.end_run()
    return returned, ctx.run(m.get_run(run.info.run_id))


@scenario
def changed_value_log_param(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    run = m.start_run(run_name="r")
    first = ctx.call(m.log_param, "p", "a")
    changed = ctx.call(m.log_param, "p", "b")
    m.end_run()
    return first, changed, m.get_run(run.info.run_id).data.params


@scenario
def changed_value_log_params_is_all_or_nothing(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    run = m.start_run(run_name="r")
    m.log_params({"p": "a", "x": "1"})
    changed = ctx.call(m.log_params, {"q": "new", "p": "b", "x": "2"})
    m.end_run()
    return changed, m.get_run(run.info.run_id).data.params


@scenario
def changed_value_client_log_batch(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    client = ctx.client()
    run = client.create_run(ctx.new_experiment("other", activate=False), run_name="r")
    Param = _param_entity(m)
    rid = run.info.run_id
    first = ctx.call(client.log_batch, rid, params=[Param("p", "a")])
    changed = ctx.call(client.log_batch, rid, params=[Param("p", "b"), Param("fresh", "f")])
    single = ctx.call(client.log_param, rid, "p", "c")
    same = ctx.call(client.log_param, rid, "p", "a")
    return first, changed, single, same, client.get_run(rid).data.params


@scenario
def none_key_log_params(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    run = m.start_run(run_name="r")
    out = ctx.call(m.log_params, {None: "v"})
    m.end_run()
    return out, m.get_run(run.info.run_id).data.params


@scenario
def none_key_log_param_and_log_batch(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment()
    client = ctx.client()
    rid = client.create_run(experiment_id, run_name="r").info.run_id
    out = [
        ctx.call(client.log_param, rid, None, "v"),
        ctx.call(client.log_batch, rid, params=[_param_entity(m)(None, "v")]),
    ]
    return out, client.get_run(rid).data.params


@scenario
def bad_keys_log_param(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    run = m.start_run(run_name="r")
    out = [(repr(k), ctx.call(m.log_param, k, "v")) for k in BAD_KEYS + GOOD_KEYS]
    m.end_run()
    return out, sorted(m.get_run(run.info.run_id).data.params)


@scenario
def bad_keys_log_params(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    run = m.start_run(run_name="r")
    out = [(repr(k), ctx.call(m.log_params, {"good": "v", k: "v"})) for k in BAD_KEYS]
    m.end_run()
    return out, m.get_run(run.info.run_id).data.params


@scenario
def bad_keys_client_log_batch(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment()
    client = ctx.client()
    rid = client.create_run(experiment_id, run_name="r").info.run_id
    Param = _param_entity(m)
    out = [
        (repr(k), ctx.call(client.log_batch, rid, params=[Param("good", "v"), Param(k, "v")]))
        for k in BAD_KEYS
    ]
    return out, client.get_run(rid).data.params


@scenario
def long_values_truncated_by_default(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    run = m.start_run(run_name="r")
    rid = run.info.run_id
    value = "v" * 6001
    returned = m.log_param("single", value)
    m.log_params({"many": "w" * 7000})
    ctx.client().log_batch(rid, params=[_param_entity(m)("batch", "x" * 6500)])
    m.log_param("exact", "e" * 6000)
    # The truncated value is what is stored: logging the long value again is a no-op, not a change.
    again = ctx.call(m.log_param, "single", value)
    m.end_run()
    params = m.get_run(rid).data.params
    return len(returned), again[0], {k: (len(v), v[:3]) for k, v in params.items()}


@scenario
def long_values_rejected_when_truncation_off(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    ctx.setenv("MLFLOW_TRUNCATE_LONG_VALUES", "false")
    run = m.start_run(run_name="r")
    rid = run.info.run_id
    out = [
        ctx.call(m.log_param, "single", "v" * 6001),
        ctx.call(m.log_params, {"many": "w" * 6001}),
        ctx.call(ctx.client().log_batch, rid, params=[_param_entity(m)("batch", "x" * 6001)]),
        ctx.call(m.log_param, "exact", "e" * 6000),
    ]
    m.end_run()
    return out, {k: len(v) for k, v in m.get_run(rid).data.params.items()}


@scenario
def log_param_return_value(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    run = m.start_run(run_name="r")
    values: list[Any] = [0.1, True, None, [1, 2], {"a": 1}, (1, "x"), 10**20, 1e-7, "s", ""]
    out = []
    for i, value in enumerate(values):
        result = m.log_param(f"p{i}", value)
        out.append((type(result).__name__, result is value))
    client_result = ctx.client().log_param(run.info.run_id, "c", 3)
    out.append((type(client_result).__name__, client_result))
    m.end_run()
    return out, m.get_run(run.info.run_id).data.params


@scenario
def resumed_run_keeps_params_immutable(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    with m.start_run(run_name="r") as run:
        m.log_param("p", "a")
        m.log_params({"q": "b"})
    rid = run.info.run_id
    with m.start_run(run_id=rid):
        out = [
            ctx.call(m.log_param, "p", "a"),
            ctx.call(m.log_param, "p", "z"),
            ctx.call(m.log_params, {"q": "z"}),
            ctx.call(m.log_params, {"q": "b", "r": "c"}),
        ]
    return out, m.get_run(rid).data.params


@scenario
def resumed_in_another_process_keeps_params_immutable(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment()
    with m.start_run(run_name="r") as run:
        m.log_param("p", "a")
    rid = run.info.run_id
    ctx.new_process()
    m.set_experiment(experiment_id=experiment_id)
    with m.start_run(run_id=rid):
        out = [ctx.call(m.log_param, "p", "a"), ctx.call(m.log_param, "p", "z")]
    ctx.new_process()
    client = ctx.client()
    out.append(ctx.call(client.log_batch, rid, params=[_param_entity(m)("p", "y")]))
    return out, client.get_run(rid).data.params


@scenario
def params_of_a_deleted_run(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment()
    client = ctx.client()
    rid = client.create_run(experiment_id, run_name="r").info.run_id
    client.delete_run(rid)
    return [
        ctx.call(client.log_param, rid, "p", "a"),
        ctx.call(client.log_batch, rid, params=[_param_entity(m)("p", "a")]),
        ctx.call(m.log_params, {"p": "a"}, run_id=rid),
    ]


@scenario
def params_of_a_missing_run(m: Any, ctx: Ctx) -> Any:
    client = ctx.client()
    rid = "0123456789abcdef0123456789abcdef"
    return [
        ctx.call(client.log_param, rid, "p", "a"),
        ctx.call(client.log_batch, rid, params=[_param_entity(m)("p", "a")]),
    ]


@scenario
def param_values_are_str(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    with m.start_run(run_name="r") as run:
        m.log_params({"f": 0.1, "b": False, "n": None, "l": [1, "a"], "i": 3, "big": 1e20, "neg": -0.0})
        m.log_param("d", {"k": (1, 2)})
    return m.get_run(run.info.run_id).data.params


@scenario
def many_params_in_log_params(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    with m.start_run(run_name="r") as run:
        m.log_params({f"p{i:03d}": i for i in range(250)})
    params = m.get_run(run.info.run_id).data.params
    return len(params), params["p000"], params["p249"]


@scenario
def unicode_values(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    with m.start_run(run_name="r") as run:
        m.log_param("emoji", "🚀" * 6001)
        m.log_param("text", "naïve — ünïcode")
        m.set_tag("tag", "ü" * 8001)
    got = m.get_run(run.info.run_id).data
    return len(got.params["emoji"]), got.params["text"], len(got.tags["tag"])


@scenario.parametrize
def test_params(case: Any, differential: Any) -> None:
    differential(case)
