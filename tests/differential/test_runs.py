"""Run lifecycle: start/end, status, nesting, resuming, auto-start, delete/restore, client run calls."""

from __future__ import annotations

from typing import Any

from . import Ctx, Scenarios

scenario = Scenarios()

MISSING = "0123456789abcdef0123456789abcdef"


@scenario
def context_manager_finishes(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    with m.start_run(run_name="r") as run:
        inside = ctx.run(m.get_run(run.info.run_id))
        active = m.active_run().info.run_id == run.info.run_id
    return inside, active, ctx.run(m.get_run(run.info.run_id)), m.active_run()


@scenario
def exception_inside_with_fails_and_propagates(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    holder: list[Any] = []

    def body() -> None:
        with m.start_run(run_name="r") as run:
            holder.append(run)
            raise ValueError("boom")

    raised = ctx.call(body)
    return raised, ctx.run(m.get_run(holder[0].info.run_id)), m.active_run()


@scenario
def end_run_with_status(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    out = []
    for status in ("KILLED", "FAILED", "FINISHED", "SCHEDULED", "RUNNING"):
        run = m.start_run(run_name=status.lower())
        m.end_run(status)
        out.append(ctx.run(m.get_run(run.info.run_id))["info"])
    return out


@scenario
def end_run_with_bogus_status(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    run = m.start_run(run_name="r")
    bogus = ctx.call(m.end_run, "BOGUS")
    lower = m.start_run(run_name="l")
    lowercase = ctx.call(m.end_run, "finished")
    return (
        bogus,
        m.active_run(),
        ctx.run(m.get_run(run.info.run_id)),
        lowercase,
        ctx.run(m.get_run(lower.info.run_id)),
    )


@scenario
def end_run_without_active_run_is_a_noop(m: Any, ctx: Ctx) -> Any:
    return ctx.call(m.end_run), ctx.call(m.end_run, "KILLED"), m.active_run()


@scenario
def nested_runs(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    parent = m.start_run(run_name="parent")
    child = m.start_run(run_name="child", nested=True)
    top = m.active_run().info.run_id == child.info.run_id
    m.end_run()
    back = m.active_run().info.run_id == parent.info.run_id
    child2 = m.start_run(run_name="child2", parent_run_id=parent.info.run_id, nested=True)
    m.end_run()
    m.end_run()
    client = ctx.client()
    return (
        top,
        back,
        m.active_run(),
        [ctx.run(m.get_run(r.info.run_id)) for r in (parent, child, child2)],
        ctx.call(m.get_parent_run, child.info.run_id),
        ctx.call(m.get_parent_run, parent.info.run_id),
        ctx.call(client.get_parent_run, child2.info.run_id),
    )


@scenario
def start_run_while_active_without_nested(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    first = m.start_run(run_name="first")
    m.start_run(run_name="nested", nested=True)
    out = [
        ctx.call(m.start_run, run_name="second"),
        ctx.call(m.start_run, run_name="third", parent_run_id=first.info.run_id),
        ctx.call(m.start_run, run_id=first.info.run_id),
    ]
    m.end_run()
    m.end_run()
    return out, m.active_run()


@scenario
def parent_run_id_mismatch(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    with m.start_run(run_name="other") as other:
        pass
    m.start_run(run_name="current")
    mismatch = ctx.call(m.start_run, run_name="child", nested=True, parent_run_id=other.info.run_id)
    m.end_run()
    # No active run: parent_run_id alone makes a nested run under that parent.
    with m.start_run(run_name="adopted", parent_run_id=other.info.run_id) as adopted:
        pass
    bad = ctx.call(m.start_run, run_name="x", parent_run_id="bad id!")
    missing = ctx.call(m.start_run, run_name="y", parent_run_id=MISSING)
    m.end_run()
    return mismatch, ctx.run(m.get_run(adopted.info.run_id)), bad, missing


@scenario
def deleted_parent_run(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    with m.start_run(run_name="parent") as parent:
        pass
    m.delete_run(parent.info.run_id)
    out = ctx.call(m.start_run, run_name="child", parent_run_id=parent.info.run_id)
    m.end_run()
    return out


@scenario
def resume_a_finished_run(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    with m.start_run(run_name="r") as run:
        m.log_param("p", "1")
    rid = run.info.run_id
    first = m.get_run(rid)
    resumed = m.start_run(run_id=rid)
    during = m.get_run(rid)
    same_object = (
        resumed.info.run_id == rid,
        resumed.info.status,
        resumed.info.end_time == first.info.end_time,
    )
    m.end_run()
    after = m.get_run(rid)
    return (
        ctx.run(first),
        same_object,
        ctx.run(during),
        during.info.end_time == first.info.end_time,
        during.info.start_time == first.info.start_time,
        ctx.run(after),
        after.info.end_time >= first.info.end_time,
    )


@scenario
def resume_with_new_name_and_tags(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    with m.start_run(run_name="old") as run:
        pass
    with m.start_run(run_id=run.info.run_id, run_name="new", tags={"t": 1, "u": "x"}, nested=True):
        pass
    return ctx.run(m.get_run(run.info.run_id))


@scenario
def resume_a_killed_run_by_env(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    run = m.start_run(run_name="r")
    m.end_run("KILLED")
    ctx.setenv("MLFLOW_RUN_ID", run.info.run_id)
    resumed = m.start_run()
    env_after = "MLFLOW_RUN_ID" in __import__("os").environ
    same = resumed.info.run_id == run.info.run_id
    m.end_run()
    return env_after, same, ctx.run(m.get_run(run.info.run_id))


@scenario
def resume_in_another_experiment_than_active(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment("a")
    with m.start_run(run_name="r") as run:
        pass
    ctx.new_experiment("b")
    out = ctx.call(m.start_run, run_id=run.info.run_id)
    m.end_run()
    return out


@scenario
def auto_start_by_log_param(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    returned = m.log_param("p", "v")
    run = m.active_run()
    got = ctx.run(m.get_run(run.info.run_id))
    m.end_run()
    return returned, got, ctx.run(m.last_active_run())


@scenario
def auto_start_by_log_metric(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    m.log_metric("m", 1.0, step=2, timestamp=1000)
    run = m.active_run()
    got = ctx.run(m.get_run(run.info.run_id))
    m.end_run()
    return got


@scenario
def auto_start_by_set_tag_and_others(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    out = []
    for call in (
        lambda: m.set_tag("t", "v"),
        lambda: m.set_tags({"t": "v"}),
        lambda: m.log_params({"p": "v"}),
        lambda: m.log_metrics({"m": 1.0}, timestamp=1000),
    ):
        call()
        run = m.active_run()
        out.append(ctx.run(m.get_run(run.info.run_id))["data"])
        m.end_run()
    # delete_tag also auto-starts (and then fails: the new run has no such tag).
    deleted = ctx.call(m.delete_tag, "nope")
    started = m.active_run() is not None
    m.end_run()
    return out, deleted, started


@scenario
def auto_start_uses_default_experiment(m: Any, ctx: Ctx) -> Any:
    m.log_param("p", "v")
    run = m.active_run()
    experiment_id = run.info.experiment_id
    m.end_run()
    return experiment_id


@scenario
def delete_and_restore_run(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    with m.start_run(run_name="r") as run:
        pass
    rid = run.info.run_id
    client = ctx.client()
    out = [ctx.call(m.delete_run, rid), ctx.run(m.get_run(rid))["info"]]
    out += [
        ctx.call(client.log_param, rid, "p", "v"),
        ctx.call(client.set_tag, rid, "t", "v"),
        ctx.call(client.log_metric, rid, "m", 1.0),
        ctx.call(client.update_run, rid, "FAILED"),
        ctx.call(client.set_terminated, rid),
        ctx.call(m.delete_run, rid),
    ]
    out += [ctx.call(m.restore_run, rid), ctx.run(m.get_run(rid))["info"]]
    out += [ctx.call(client.log_param, rid, "p", "v"), ctx.call(m.restore_run, rid)]
    out += [ctx.call(m.delete_run, MISSING), ctx.call(m.restore_run, MISSING)]
    return out, ctx.run(m.get_run(rid))


@scenario
def logging_to_the_active_run_after_it_was_deleted(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    run = m.start_run(run_name="r")
    m.delete_run(run.info.run_id)
    out = [
        ctx.call(m.log_param, "p", "v"),
        ctx.call(m.log_params, {"p": "v"}),
        ctx.call(m.set_tag, "t", "v"),
        ctx.call(m.set_tags, {"t": "v"}),
        ctx.call(m.log_metric, "m", 1.0),
        ctx.call(m.log_metrics, {"m": 1.0}),
        ctx.call(m.end_run),
    ]
    return out, m.active_run(), ctx.run(m.get_run(run.info.run_id))


@scenario
def start_run_with_deleted_run_id(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    with m.start_run(run_name="r") as run:
        pass
    m.delete_run(run.info.run_id)
    out = ctx.call(m.start_run, run_id=run.info.run_id)
    return out, m.active_run()


@scenario
def start_run_with_missing_or_malformed_run_id(m: Any, ctx: Ctx) -> Any:
    return [
        ctx.call(m.start_run, run_id=MISSING),
        ctx.call(m.start_run, run_id="bad id!"),
        m.active_run(),
    ]


@scenario
def get_run_missing_and_malformed(m: Any, ctx: Ctx) -> Any:
    client = ctx.client()
    return [
        ctx.call(m.get_run, MISSING),
        ctx.call(m.get_run, "bad id!"),
        ctx.call(m.get_run, "-leadingdash"),
        ctx.call(m.get_run, "a" * 257),
        ctx.call(client.get_run, MISSING),
        ctx.call(client.get_run, "bad id!"),
    ]


@scenario
def active_run_and_last_active_run(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    before = (m.active_run(), m.last_active_run())
    run = m.start_run(run_name="r")
    m.log_param("p", "v")
    during_active = m.active_run() is run
    during_last = m.last_active_run() is run
    m.end_run()
    after = (m.active_run(), ctx.run(m.last_active_run()))
    with m.start_run(run_name="outer"):
        with m.start_run(run_name="inner", nested=True):
            pass
        inner_last = m.last_active_run().info.run_name
    return before, during_active, during_last, after, inner_last, m.last_active_run().info.run_name


@scenario
def client_create_run_name_vs_tag(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment()
    client = ctx.client()
    conflict = ctx.call(client.create_run, experiment_id, tags={"mlflow.runName": "b"}, run_name="a")
    same = ctx.call(client.create_run, experiment_id, tags={"mlflow.runName": "a"}, run_name="a")
    tag_only = ctx.call(client.create_run, experiment_id, tags={"mlflow.runName": "t"})
    explicit = ctx.call(client.create_run, experiment_id, start_time=1234, run_name="s")
    return (
        conflict,
        same,
        tag_only,
        explicit,
        client.create_run(experiment_id, start_time=1234).info.start_time,
    )


@scenario
def client_create_run_in_missing_or_deleted_experiment(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment(activate=False)
    client = ctx.client()
    client.delete_experiment(experiment_id)
    return [
        ctx.call(client.create_run, experiment_id, run_name="r"),
        ctx.call(m.start_run, experiment_id=experiment_id, run_name="r"),
        ctx.call(client.create_run, "99999999", run_name="r"),
        ctx.call(m.start_run, experiment_id="99999999", run_name="r"),
        ctx.call(client.create_run, "abc", run_name="r"),
    ]


@scenario
def client_update_run(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment()
    client = ctx.client()
    rid = client.create_run(experiment_id, run_name="r").info.run_id
    client.set_terminated(rid, end_time=5000)
    out = [
        ctx.call(client.update_run, rid, "FAILED"),
        ctx.call(client.update_run, rid, name="renamed"),
        ctx.call(client.update_run, rid),
        ctx.call(client.update_run, rid, "BOGUS"),
        ctx.call(client.update_run, rid, "KILLED", "both"),
        ctx.call(client.update_run, MISSING, "KILLED"),
    ]
    run = client.get_run(rid)
    return out, ctx.run(run), run.info.end_time


@scenario
def client_update_run_empty_name(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment()
    client = ctx.client()
    rid = client.create_run(experiment_id, run_name="r").info.run_id
    out = ctx.call(client.update_run, rid, name="")
    return out, ctx.run(client.get_run(rid))


@scenario
def client_set_terminated(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment()
    client = ctx.client()
    a = client.create_run(experiment_id, run_name="a").info.run_id
    b = client.create_run(experiment_id, run_name="b").info.run_id
    c = client.create_run(experiment_id, run_name="c").info.run_id
    out = [
        ctx.call(client.set_terminated, a),
        ctx.call(client.set_terminated, b, "KILLED", 42),
        ctx.call(client.set_terminated, c, "BOGUS"),
        ctx.call(client.set_terminated, MISSING),
    ]
    runs = [client.get_run(r) for r in (a, b, c)]
    return out, [ctx.run(r)["info"] for r in runs], runs[1].info.end_time


@scenario
def start_run_experiment_id_types(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment(activate=False)
    out = [ctx.call(m.start_run, experiment_id=1.5), m.active_run()]
    with m.start_run(experiment_id=int(experiment_id), run_name="int") as run:
        pass
    out.append(ctx.run(m.get_run(run.info.run_id))["info"]["experiment_id"])
    out.append(ctx.call(m.start_run, experiment_id=[experiment_id]))
    m.end_run()
    return out


@scenario
def run_info_of_a_fresh_run(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    run = m.start_run(run_name="fresh")
    returned = ctx.run(run)
    got = m.get_run(run.info.run_id)
    m.end_run()
    return returned, ctx.run(got), len(run.info.run_id), run.info.run_id == got.info.run_id


@scenario
def delete_active_runs_experiment_then_end(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment()
    run = m.start_run(run_name="r")
    m.delete_experiment(experiment_id)
    ended = ctx.call(m.end_run)
    return ended, m.active_run(), ctx.run(m.get_run(run.info.run_id))


@scenario
def end_run_inside_with_then_exit(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    with m.start_run(run_name="r") as run:
        m.end_run("KILLED")
        inside = m.active_run()
    return inside, ctx.run(m.get_run(run.info.run_id))["info"]


@scenario
def exception_in_nested_with_fails_both(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    runs: list[Any] = []

    def body() -> None:
        with m.start_run(run_name="outer") as outer:
            runs.append(outer)
            with m.start_run(run_name="inner", nested=True) as inner:
                runs.append(inner)
                raise KeyError("k")

    raised = ctx.call(body)
    return raised, [ctx.run(m.get_run(r.info.run_id))["info"]["status"] for r in runs], m.active_run()


@scenario
def nested_without_active_run_is_top_level(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    with m.start_run(run_name="lonely", nested=True) as run:
        pass
    return ctx.run(m.get_run(run.info.run_id))


@scenario
def empty_run_name_gets_a_random_name(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment()
    with m.start_run(run_name="") as run:
        pass
    created = ctx.client().create_run(experiment_id, run_name="")
    return ctx.run(m.get_run(run.info.run_id))["info"]["run_name"], ctx.run(created)["info"]["run_name"]


@scenario
def run_id_env_of_a_missing_run(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    ctx.setenv("MLFLOW_RUN_ID", MISSING)
    out = ctx.call(m.start_run)
    return out, "MLFLOW_RUN_ID" in __import__("os").environ, m.active_run()


@scenario
def logging_to_finished_runs_is_allowed(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    with m.start_run(run_name="r") as run:
        pass
    rid = run.info.run_id
    client = ctx.client()
    out = [
        ctx.call(client.log_param, rid, "p", "v"),
        ctx.call(client.set_tag, rid, "t", "v"),
        ctx.call(client.log_metric, rid, "m", 1.0, 1000, 1),
        ctx.call(m.log_metrics, {"n": 2.0}, timestamp=1000, run_id=rid),
        ctx.call(m.log_params, {"q": "w"}, run_id=rid),
    ]
    return out, ctx.run(m.get_run(rid)), m.active_run()


@scenario
def runs_of_a_deleted_experiment(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment()
    with m.start_run(run_name="r") as run:
        pass
    rid = run.info.run_id
    client = ctx.client()
    client.delete_experiment(experiment_id)
    out = [
        ctx.call(client.restore_run, rid),
        ctx.run(client.get_run(rid))["info"]["lifecycle_stage"],
        ctx.call(client.log_param, rid, "p", "v")[:3],
        ctx.call(client.delete_run, rid),
        ctx.run(client.get_run(rid))["info"]["lifecycle_stage"],
        ctx.call(m.start_run, run_id=rid)[:3],
    ]
    m.end_run()
    client.restore_experiment(experiment_id)
    out.append(ctx.run(client.get_run(rid))["info"]["lifecycle_stage"])
    return out


@scenario
def client_create_run_with_int_experiment_id(m: Any, ctx: Ctx) -> Any:
    experiment_id = ctx.new_experiment()
    run = ctx.client().create_run(int(experiment_id), run_name="r")
    return ctx.run(run)["info"]["experiment_id"], type(run.info.experiment_id).__name__


@scenario
def user_parent_run_id_tag(m: Any, ctx: Ctx) -> Any:
    ctx.new_experiment()
    with m.start_run(run_name="p") as parent:
        pass
    with m.start_run(run_name="c", tags={"mlflow.parentRunId": parent.info.run_id}) as child:
        pass
    return ctx.run(m.get_run(child.info.run_id)), ctx.call(m.get_parent_run, child.info.run_id)


@scenario
def active_run_stack_is_per_thread(m: Any, ctx: Ctx) -> Any:
    import threading

    ctx.new_experiment()
    main = m.start_run(run_name="main")
    seen: list[Any] = []

    def worker() -> None:
        seen.append(m.active_run())
        with m.start_run(run_name="thread") as run:
            seen.append(run.data.tags.get("mlflow.parentRunId"))
            seen.append(run.info.experiment_id == main.info.experiment_id)
        seen.append(m.active_run())

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    still = m.active_run().info.run_id == main.info.run_id
    m.end_run()
    return seen, still


@scenario
def get_parent_run_of_missing_run(m: Any, ctx: Ctx) -> Any:
    return [ctx.call(m.get_parent_run, MISSING), ctx.call(m.get_parent_run, "bad id!")]


@scenario.parametrize
def test_runs(case: Any, differential: Any) -> None:
    differential(case)
