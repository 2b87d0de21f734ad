"""Experiments: create, names, lifecycle and its cascade to runs, rename, tags, set_experiment, search,
environment resolution and the Default experiment."""

from __future__ import annotations

import time
from typing import Any

from . import Ctx, Scenarios

scenario = Scenarios()


def _duplicate_message(outcome: tuple[Any, ...]) -> tuple[Any, ...]:
    """MLflow's sqlite duplicate-name message ends with the driver's IntegrityError text, which quotes
    the SQL statement and its parameters (creation times): backend detail, not deterministic, so the
    comparison stops at "already exists."."""
    if (
        outcome[0] == "raise"
        and isinstance(outcome[3], str)
        and " Error: (sqlite3.IntegrityError)" in outcome[3]
    ):
        return (*outcome[:3], outcome[3].split(" Error: (sqlite3.IntegrityError)")[0])
    return outcome


def _names(experiments: list[Any], ctx: Ctx) -> list[str]:
    """This scenario's experiments, in the order returned (the store is shared by the whole session)."""
    return [e.name for e in experiments if e.name.startswith(ctx.prefix)]


@scenario
def create_returns_an_id_string(m: Any, ctx: Ctx) -> Any:
    experiment_id = m.create_experiment(ctx.name("a"), tags={"k": "v", "n": "1"})
    ctx.eid(experiment_id)
    second = m.MlflowClient().create_experiment(ctx.name("b"))
    ctx.eid(second)
    return (
        type(experiment_id).__name__,
        experiment_id.isdigit(),
        int(second) > int(experiment_id),
        ctx.experiment(m.get_experiment(experiment_id)),
        ctx.experiment(m.get_experiment_by_name(ctx.name("b"))),
    )


@scenario
def create_with_artifact_location(m: Any, ctx: Ctx) -> Any:
    out = [
        ctx.call(m.create_experiment, ctx.name("runs"), artifact_location="runs:/abc/x"),
        ctx.call(m.create_experiment, ctx.name("local"), artifact_location="/tmp/somewhere/else")[0],
    ]
    experiment = m.get_experiment_by_name(ctx.name("local"))
    ctx.eid(experiment.experiment_id)
    # An explicit artifact location is kept verbatim by both.
    return out, ctx.experiment(experiment), experiment.artifact_location


@scenario
def duplicate_name_already_exists(m: Any, ctx: Ctx) -> Any:
    name = ctx.name("dup")
    ctx.eid(m.create_experiment(name))
    live = _duplicate_message(ctx.call(m.create_experiment, name))
    m.delete_experiment(m.get_experiment_by_name(name).experiment_id)
    deleted = _duplicate_message(ctx.call(m.create_experiment, name))
    other_case = ctx.call(m.create_experiment, name.upper())
    return live, deleted, other_case[0]


@scenario
def get_experiment_missing_and_bad_ids(m: Any, ctx: Ctx) -> Any:
    client = ctx.client()
    return [
        ctx.call(m.get_experiment, "99999999"),
        ctx.call(m.get_experiment, "abc"),
        ctx.call(client.get_experiment, "99999999"),
        ctx.call(client.get_experiment, "1.5"),
        ctx.call(m.get_experiment, 0),
        ctx.call(m.get_experiment, "0"),
    ]


@scenario
def get_experiment_by_name_is_case_sensitive_and_sees_deleted(m: Any, ctx: Ctx) -> Any:
    name = ctx.name("CaseName")
    experiment_id = m.create_experiment(name)
    ctx.eid(experiment_id)
    found = [
        ctx.call(m.get_experiment_by_name, n) for n in (name, name.lower(), name.upper(), ctx.name("nope"))
    ]
    m.delete_experiment(experiment_id)
    return found, ctx.call(m.get_experiment_by_name, name)


@scenario
def delete_experiment_deletes_runs_and_restore_restores_all(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment()
    with m.start_run(run_name="a") as a:
        pass
    with m.start_run(run_name="b") as b:
        pass
    m.delete_run(b.info.run_id)
    m.delete_experiment(experiment_id)
    deleted = [
        ctx.experiment(m.get_experiment(experiment_id)),
        [m.get_run(r.info.run_id).info.lifecycle_stage for r in (a, b)],
    ]
    again = ctx.call(m.delete_experiment, experiment_id)
    m.restore_experiment(experiment_id)
    restored = [
        ctx.experiment(m.get_experiment(experiment_id)),
        [m.get_run(r.info.run_id).info.lifecycle_stage for r in (a, b)],
    ]
    restore_again = ctx.call(m.restore_experiment, experiment_id)
    return deleted, again, restored, restore_again


@scenario
def delete_and_restore_missing_or_bad_experiment(m: Any, ctx: Ctx) -> Any:
    client = ctx.client()
    return [
        ctx.call(m.delete_experiment, "99999999"),
        ctx.call(m.restore_experiment, "99999999"),
        ctx.call(client.delete_experiment, "abc"),
        ctx.call(client.restore_experiment, "abc"),
    ]


@scenario
def last_update_time_changes_on_delete(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment(activate=False)
    before = m.get_experiment(experiment_id)
    time.sleep(0.005)
    m.delete_experiment(experiment_id)
    after = m.get_experiment(experiment_id)
    return (
        before.creation_time == before.last_update_time,
        after.last_update_time > before.last_update_time,
        after.creation_time == before.creation_time,
    )


@scenario
def last_update_time_of_other_changes(m: Any, ctx: Ctx) -> Any:
    client = ctx.client()
    experiment_id = ctx.new_experiment(activate=False)
    out = []
    previous = m.get_experiment(experiment_id).last_update_time
    steps = [
        ("rename", lambda: client.rename_experiment(experiment_id, ctx.name("renamed"))),
        ("set_tag", lambda: client.set_experiment_tag(experiment_id, "k", "v")),
        ("delete_tag", lambda: client.delete_experiment_tag(experiment_id, "k")),
        ("create_run", lambda: client.create_run(experiment_id, run_name="r")),
        ("delete", lambda: client.delete_experiment(experiment_id)),
        ("restore", lambda: client.restore_experiment(experiment_id)),
    ]
    for label, step in steps:
        time.sleep(0.005)
        step()
        current = m.get_experiment(experiment_id).last_update_time
        out.append((label, current > previous))
        previous = current
    return out


@scenario
def rename_experiment(m: Any, ctx: Ctx) -> Any:
    client = ctx.client()
    experiment_id = ctx.new_experiment("old", activate=False)
    other = ctx.new_experiment("other", activate=False)
    out = [
        ctx.call(client.rename_experiment, experiment_id, ctx.name("new")),
        ctx.experiment(m.get_experiment(experiment_id)),
        ctx.call(m.get_experiment_by_name, ctx.name("old")),
        ctx.call(client.rename_experiment, experiment_id, ""),
        ctx.call(client.rename_experiment, "99999999", ctx.name("x")),
        ctx.call(client.rename_experiment, experiment_id, ctx.name("new")),
    ]
    # The old name is free again.
    reused = ctx.call(m.create_experiment, ctx.name("old"))
    out.append(reused[0])
    client.delete_experiment(other)
    out.append(ctx.call(client.rename_experiment, other, ctx.name("renamed-deleted")))
    out.append(ctx.experiment(m.get_experiment(other)))
    return out


@scenario
def rename_to_an_existing_name(m: Any, ctx: Ctx) -> Any:
    client = ctx.client()
    a = ctx.new_experiment("a", activate=False)
    ctx.new_experiment("b", activate=False)
    out = ctx.call(client.rename_experiment, a, ctx.name("b"))
    # The message is the sqlite driver's IntegrityError text (statement, parameters): only kind and code.
    return out[:3], ctx.experiment(m.get_experiment(a))


@scenario
def experiment_tags(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment()
    client = ctx.client()
    out = [
        ctx.call(m.set_experiment_tag, "a", "1"),
        ctx.call(m.set_experiment_tags, {"b": 2, "c": None}),
        ctx.call(client.set_experiment_tag, experiment_id, "a", "overwritten"),
        ctx.call(m.delete_experiment_tag, "b"),
        ctx.call(client.delete_experiment_tag, experiment_id, "c"),
        ctx.call(m.set_experiment_tag, "long", "v" * 20000),
        ctx.call(m.set_experiment_tag, "toolong", "v" * 20001),
        ctx.call(m.set_experiment_tag, "k" * 251, "v"),
        ctx.call(m.set_experiment_tag, "bad*key", "v"),
        ctx.call(m.set_experiment_tag, "", "v"),
        ctx.call(client.set_experiment_tag, "99999999", "a", "v"),
    ]
    tags = m.get_experiment(experiment_id).tags
    return out, {k: (len(v), v[:3]) for k, v in tags.items()}


@scenario
def delete_missing_experiment_tag(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment()
    client = ctx.client()
    return [
        ctx.call(m.delete_experiment_tag, "nope"),
        ctx.call(client.delete_experiment_tag, experiment_id, "nope"),
        ctx.call(client.delete_experiment_tag, "99999999", "nope"),
    ]


@scenario
def experiment_tags_on_a_deleted_experiment(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment(activate=False)
    client = ctx.client()
    client.set_experiment_tag(experiment_id, "keep", "k")
    client.delete_experiment(experiment_id)
    return [
        ctx.call(client.set_experiment_tag, experiment_id, "t", "v"),
        ctx.call(client.delete_experiment_tag, experiment_id, "keep"),
        m.get_experiment(experiment_id).tags,
    ]


@scenario
def set_experiment_by_name_creates(m: Any, ctx: Ctx) -> Any:
    name = ctx.name("made-by-set")
    experiment = m.set_experiment(name)
    ctx.eid(experiment.experiment_id)
    again = m.set_experiment(name)
    env = __import__("os").environ.get("MLFLOW_EXPERIMENT_ID") == experiment.experiment_id
    with m.start_run(run_name="r") as run:
        pass
    return (
        ctx.experiment(experiment),
        again.experiment_id == experiment.experiment_id,
        env,
        ctx.eid(run.info.experiment_id),
    )


@scenario
def set_experiment_errors(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment("zeta", activate=False)
    m.delete_experiment(experiment_id)
    return [
        ctx.call(m.set_experiment, experiment_id="99999999"),
        ctx.call(m.set_experiment, experiment_id="abc"),
        ctx.call(m.set_experiment, ctx.name("zeta")),
        ctx.call(m.set_experiment, experiment_id=experiment_id),
        ctx.call(m.set_experiment),
        ctx.call(m.set_experiment, ctx.name("x"), experiment_id="0"),
        ctx.call(m.set_experiment, ""),
    ]


@scenario
def set_experiment_by_id_then_runs_go_there(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment(activate=False)
    experiment = m.set_experiment(experiment_id=experiment_id)
    m.log_param("p", "v")
    run = m.active_run()
    m.end_run()
    return ctx.experiment(experiment), ctx.eid(run.info.experiment_id)


@scenario
def experiment_name_env_resolution(m: Any, ctx: Ctx) -> Any:
    name = ctx.name("from-env")
    ctx.setenv("MLFLOW_EXPERIMENT_NAME", name)
    with m.start_run(run_name="r") as run:
        pass
    experiment = m.get_experiment_by_name(name)
    created = experiment is not None
    ctx.eid(experiment.experiment_id)
    with m.start_run(run_name="again") as second:
        pass
    return (
        created,
        ctx.eid(run.info.experiment_id),
        ctx.eid(second.info.experiment_id),
        ctx.experiment(experiment),
    )


@scenario
def experiment_id_env_resolution(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment(activate=False)
    ctx.setenv("MLFLOW_EXPERIMENT_ID", experiment_id)
    with m.start_run(run_name="r") as run:
        pass
    ok = ctx.eid(run.info.experiment_id)
    ctx.setenv("MLFLOW_EXPERIMENT_ID", "99999999")
    missing = ctx.call(m.start_run, run_name="x")
    m.end_run()
    return ok, missing


@scenario
def experiment_name_and_id_env_mismatch(m: Any, ctx: Ctx) -> Any:
    a = ctx.new_experiment("a", activate=False)
    ctx.new_experiment("b", activate=False)
    ctx.setenv("MLFLOW_EXPERIMENT_NAME", ctx.name("b"))
    ctx.setenv("MLFLOW_EXPERIMENT_ID", a)
    out = ctx.call(m.start_run, run_name="x")
    m.end_run()
    return out


@scenario
def active_experiment_wins_over_env(m: Any, ctx: Ctx) -> Any:
    active = ctx.new_experiment("active")
    ctx.setenv("MLFLOW_EXPERIMENT_NAME", ctx.name("env"))
    with m.start_run(run_name="r") as run:
        pass
    return ctx.eid(run.info.experiment_id) == ctx.eid(active), m.get_experiment_by_name(ctx.name("env"))


@scenario
def default_experiment(m: Any, ctx: Ctx) -> Any:
    default = m.get_experiment("0")
    by_name = m.get_experiment_by_name("Default")
    return (
        default.experiment_id,
        default.name,
        default.lifecycle_stage,
        by_name.experiment_id,
        default.artifact_location != "",
    )


@scenario
def runs_default_to_experiment_zero(m: Any, ctx: Ctx) -> Any:
    with m.start_run(run_name="r") as run:
        pass
    return run.info.experiment_id, m.get_run(run.info.run_id).info.experiment_id


@scenario
def experiment_names(m: Any, ctx: Ctx) -> Any:
    return [
        ctx.call(m.create_experiment, ""),
        ctx.call(m.create_experiment, None),
        ctx.call(m.create_experiment, ctx.name("n" * 501)[:501]),
        ctx.call(m.create_experiment, 123)[0],
        ctx.call(m.create_experiment, ctx.name("with spaces/and:odd*chars ü"))[0],
    ]


@scenario
def experiment_name_exactly_500(m: Any, ctx: Ctx) -> Any:
    name = (ctx.prefix + "x" * 500)[:500]
    out = ctx.call(m.create_experiment, name)
    return out[0], m.get_experiment_by_name(name).name == name


@scenario
def search_experiments_view_types_and_default_order(m: Any, ctx: Ctx) -> Any:
    client = ctx.client()
    ids = {}
    for suffix in ("first", "zeta", "Alpha", "gone"):
        ids[suffix] = ctx.new_experiment(suffix, activate=False)
        time.sleep(0.005)  # distinct creation times: the default order is creation_time DESC
    client.delete_experiment(ids["gone"])
    from_fluent = m.search_experiments()
    return (
        _names(from_fluent, ctx),
        _names(m.search_experiments(view_type=m.entities.ViewType.ACTIVE_ONLY), ctx),
        _names(m.search_experiments(view_type=m.entities.ViewType.DELETED_ONLY), ctx),
        _names(m.search_experiments(view_type=m.entities.ViewType.ALL), ctx),
        _names(client.search_experiments(view_type=m.entities.ViewType.ALL), ctx),
        "Default" in [e.name for e in from_fluent],
        [ctx.experiment(e) for e in from_fluent if e.name.startswith(ctx.prefix)],
    )


@scenario
def search_experiments_creation_time_ties_break_on_id(m: Any, ctx: Ctx) -> Any:
    for suffix in ("c", "b", "a"):
        ctx.new_experiment(suffix, activate=False)
    found = m.search_experiments(filter_string=f"name LIKE '{ctx.prefix}%'")
    times = [e.creation_time for e in found]
    ids = [int(e.experiment_id) for e in found]
    # Whatever the clock did, the order is creation_time DESC, then experiment_id ASC.
    pairs = list(zip(times, ids, strict=True))
    return pairs == sorted(pairs, key=lambda t: (-t[0], t[1])), len(found)


@scenario
def search_experiments_filters(m: Any, ctx: Ctx) -> Any:
    client = ctx.client()
    a = ctx.new_experiment("alpha", activate=False)
    ctx.new_experiment("Beta", activate=False)
    c = ctx.new_experiment("gamma", activate=False)
    client.set_experiment_tag(a, "team", "ml")
    client.set_experiment_tag(c, "team", "ML")
    p = ctx.prefix
    filters = [
        f"name = '{p}alpha'",
        f"name LIKE '{p}%a'",
        f"name ILIKE '{p}b%'",
        f"name != '{p}alpha' AND name LIKE '{p}%'",
        f"tags.team = 'ml' AND name LIKE '{p}%'",
        f"tags.team ILIKE 'ml' AND name LIKE '{p}%'",
        f"tags.team IS NULL AND name LIKE '{p}%'",
        f"tags.team IS NOT NULL AND name LIKE '{p}%'",
        f"name LIKE '{p}%' AND creation_time > 0",
        f"experiment_id = '{a}'",
    ]
    out = [
        (ctx.text(f.replace(p, "<p>")), _names(m.search_experiments(filter_string=f), ctx)) for f in filters
    ]
    # Not compared: OR, parentheses and IN, which eventlog accepts on purpose (README, "Searching runs").
    errors = [
        ctx.call(m.search_experiments, filter_string="foo.bar = 'a'"),
        ctx.call(m.search_experiments, filter_string="creation_time = 'x'"),
    ]
    return out, errors


@scenario
def search_experiments_order_and_paging(m: Any, ctx: Ctx) -> Any:
    client = ctx.client()
    for suffix in ("b", "c", "a", "d"):
        ctx.new_experiment(suffix, activate=False)
    p = ctx.prefix
    flt = f"name LIKE '{p}%'"
    by_name = _names(m.search_experiments(filter_string=flt, order_by=["name DESC"]), ctx)
    by_id = _names(m.search_experiments(filter_string=flt, order_by=["experiment_id ASC"]), ctx)
    first = client.search_experiments(filter_string=flt, max_results=3, order_by=["name"])
    second = client.search_experiments(
        filter_string=flt, max_results=3, order_by=["name"], page_token=first.token
    )
    errors = [
        ctx.call(client.search_experiments, max_results=0),
        ctx.call(client.search_experiments, max_results=50001),
        ctx.call(client.search_experiments, order_by=["bogus"]),
        ctx.call(client.search_experiments, order_by=["name DESCENDING"]),
    ]
    return by_name, by_id, _names(first, ctx), first.token, _names(second, ctx), second.token, errors


@scenario
def create_with_bad_tags(m: Any, ctx: Ctx) -> Any:
    return [
        ctx.call(m.create_experiment, ctx.name("a"), tags={"bad*key": "v"}),
        ctx.call(m.create_experiment, ctx.name("b"), tags={"k": "v" * 20001}),
        ctx.call(m.create_experiment, ctx.name("c"), tags={"k" * 251: "v"}),
        m.get_experiment_by_name(ctx.name("a")),
    ]


@scenario
def get_experiment_by_empty_or_odd_name(m: Any, ctx: Ctx) -> Any:
    return [
        ctx.call(m.get_experiment_by_name, ""),
        ctx.call(m.get_experiment_by_name, "default"),
        ctx.call(m.get_experiment_by_name, "Default ")[0],
    ]


@scenario
def delete_and_restore_default_experiment(m: Any, ctx: Ctx) -> Any:
    client = ctx.client()
    try:
        deleted = ctx.call(client.delete_experiment, "0")
        state = m.get_experiment("0").lifecycle_stage
        start = ctx.call(m.start_run, run_name="r")
        m.end_run()
    finally:
        if m.get_experiment("0").lifecycle_stage == "deleted":
            client.restore_experiment("0")
    return deleted, state, start, m.get_experiment("0").lifecycle_stage


@scenario()
def search_experiments_bad_page_tokens(m: Any, ctx: Ctx) -> Any:
    import base64

    client = ctx.client()
    # Not compared: JSON that is not an object (MLflow: INTERNAL_ERROR with AttributeError text) and a
    # negative offset (MLflow's sqlite treats it as 0): MLflow accidents that eventlog rejects cleanly.
    tokens = ["abc", "!!", base64.b64encode(b"not json").decode()]
    return [(t, ctx.call(client.search_experiments, page_token=t)) for t in tokens]


@scenario.parametrize
def test_experiments(case: Any, differential: Any) -> None:
    differential(case)
