"""The child side of bench/_versus.py: ``python -m bench._workloads <workload> <json arguments>``.

Each workload runs in a fresh interpreter per library, so that neither library's imports, caches or
background threads leak into the other's figure, and the parent gets the child's own peak RSS (VmHWM,
reported at exit; see ``_generate.run_child``). A child times only its own work (imports and store
set-up stay outside the timed region) and prints one line ``BENCH-RESULT <json>`` last; everything else
it prints (MLflow's alembic chatter) is ignored. Only the standard library is imported at module
level: the child's RSS is the library's.

Both libraries run with their default settings: eventlog buffers logging calls and flushes them on its
2 s timer and at ``end_run``; MLflow's sqlite store commits every call as a transaction. A workload that
measures a setting (bench/_real.py: ``EVENTLOG_DURABILITY``, a store on S3) gets it as ``env`` among its
arguments: ``main`` puts those variables in the child's environment before the workload imports anything.
"""

from __future__ import annotations

import importlib
import itertools
import json
import logging
import os
import random
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "EVENTLOG",
    "MLFLOW",
    "REAL_METRIC_KEYS",
    "REAL_PARAM_KEYS",
    "REAL_TAG_KEYS",
    "RESULT_PREFIX",
    "SEARCH_MAX_RESULTS",
    "SEARCH_ORDER",
    "WORKLOADS",
    "RealRun",
    "history_values",
    "main",
    "real_filter",
    "real_values",
    "search_filter",
]

EVENTLOG = "eventlog"
MLFLOW = "mlflow"
RESULT_PREFIX = "BENCH-RESULT "

# The search of bench/_generate.py with the param value varied per query: a3 is the generator's filter,
# whose page it knows (SearchStore.expected_ids).
SEARCH_FILTER = "metrics.m0 < 0.5 and params.p0 = 'a{value}' and tags.t0 != 'x'"
SEARCH_ORDER = ["metrics.m1 DESC"]
SEARCH_MAX_RESULTS = 100
HISTORY_KEY = "loss"
HISTORY_SEED = 20_240_601
MLFLOW_BATCH_LIMIT = 1_000  # MLflow's log_batch takes at most 1,000 metrics a call

Json = dict[str, Any]


def search_filter(i: int) -> str:
    return SEARCH_FILTER.format(value=i % 10)


def history_values(points: int) -> list[float]:
    """The logged values: random floats, the worst case for compression (a real loss curve's low
    mantissa bits are noise too), identical for both libraries."""
    rng = random.Random(HISTORY_SEED)
    return [rng.random() for _ in range(points)]


# -- the library under test ------------------------------------------------------------------------------
def _library(name: str, scratch: Path) -> tuple[Any, str]:
    """Import the library and point its fluent API at a fresh store in ``scratch``; returns the module
    and the tracking URI. The child works in ``scratch`` so that MLflow's default artifact root
    (relative to the working directory) lands there, not in the repository."""
    os.chdir(scratch)
    if name == EVENTLOG:
        import eventlog

        uri = str(scratch / "store")
        eventlog.set_tracking_uri(uri)
        return eventlog, uri
    if name == MLFLOW:
        mlflow = _mlflow()
        uri = f"sqlite:///{scratch / 'mlflow.db'}"
        mlflow.set_tracking_uri(uri)
        return mlflow, uri
    raise ValueError(f"unknown library {name!r}")


def _mlflow() -> Any:
    warnings.filterwarnings("ignore")
    import mlflow

    # After the import: mlflow configures its own loggers at import time.
    for logger in ("mlflow", "alembic"):
        logging.getLogger(logger).setLevel(logging.WARNING)
    return mlflow


def _client(name: str, uri: str) -> Any:
    if name == EVENTLOG:
        import eventlog

        return eventlog.MlflowClient(uri)
    return _mlflow().MlflowClient(uri)


# -- workloads ------------------------------------------------------------------------------------------
def log_metric(library: str, scratch: str, calls: int, repeats: int) -> Json:
    """``log_metric(key, value, step=i)`` in one run: the best of ``repeats`` loops of ``calls`` calls."""
    lib, _ = _library(library, Path(scratch))
    lib.start_run()
    lib.log_metric("warm-up", 0.0, step=0)  # the first call's one-off work (the run's first write)
    log = lib.log_metric
    rates, step = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(step, step + calls):
            log("loss", 0.5, step=i)
        rates.append(calls / (time.perf_counter() - start))
        step += calls
    start = time.perf_counter()
    lib.end_run()
    return {"rates": rates, "end_run_s": time.perf_counter() - start}


def log_metrics(library: str, scratch: str, calls: int, keys: int, repeats: int) -> Json:
    """``log_metrics({keys metrics}, step=i)`` in one run, best of ``repeats``; a rate in points/s."""
    lib, _ = _library(library, Path(scratch))
    lib.start_run()
    metrics = {f"metric_{j}": 0.5 for j in range(keys)}
    lib.log_metrics(metrics, step=0)
    log = lib.log_metrics
    rates, step = [], 1
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(step, step + calls):
            log(metrics, step=i)
        rates.append(calls * keys / (time.perf_counter() - start))
        step += calls
    start = time.perf_counter()
    lib.end_run()
    return {"rates": rates, "end_run_s": time.perf_counter() - start}


def small_runs(library: str, scratch: str, runs: int, pointwise: bool) -> Json:
    """Whole runs, each timed on its own: 10 params, 3 tags, 10 steps of 5 metrics (one log_metrics call
    a step, or ``pointwise`` one log_metric call a point), started and ended by ``with start_run()``."""
    lib, _ = _library(library, Path(scratch))
    lib.set_experiment("bench-runs")
    params = {f"p{j}": f"value-{j}" for j in range(10)}
    tags = {f"t{j}": f"tag-{j}" for j in range(3)}
    keys = [f"m{j}" for j in range(5)]

    def one_run() -> None:
        with lib.start_run():
            lib.log_params(params)
            lib.set_tags(tags)
            for step in range(10):
                if pointwise:
                    for k, key in enumerate(keys):
                        lib.log_metric(key, step + k / 10, step=step)
                else:
                    lib.log_metrics({key: step + k / 10 for k, key in enumerate(keys)}, step=step)

    one_run()  # warm-up: the experiment's first run pays for lazy imports and first writes
    durations = []
    for _ in range(runs):
        start = time.perf_counter()
        one_run()
        durations.append(time.perf_counter() - start)
    return {"durations": durations}


def search(library: str, scratch: str, uri: str, experiment_ids: list[str], queries: int) -> Json:
    """The first search_runs in a fresh process, then ``queries`` more with the param value varied
    (i = 0 .. queries-1), timed one by one; every page is returned for checking. ``to_first_s`` is what a
    script waits for its first result: the library's import, the client, and that first query."""
    started = time.perf_counter()
    _library(library, Path(scratch))
    client = _client(library, uri)

    def query(i: int) -> tuple[float, list[str]]:
        start = time.perf_counter()
        page = client.search_runs(
            experiment_ids,
            filter_string=search_filter(i),
            order_by=SEARCH_ORDER,
            max_results=SEARCH_MAX_RESULTS,
        )
        seconds = time.perf_counter() - start
        return seconds, [r.info.run_id for r in page]

    first_s, first_ids = query(3)
    to_first_s = time.perf_counter() - started
    warm = [query(i) for i in range(queries)]
    return {
        "first_s": first_s,
        "to_first_s": to_first_s,
        "first_ids": first_ids,
        "warm_s": [s for s, _ in warm],
        "pages": [ids for _, ids in warm],
    }


def log_history(library: str, scratch: str, points: int) -> Json:
    """One run with ``points`` steps of one metric, logged the way each library is used for that:
    eventlog with a log_metric loop, MLflow with log_batch (1,000 metrics a call, its limit; a
    log_metric loop would take minutes). Also the size of MLflow's empty, freshly created database."""
    values = history_values(points)  # made before timing: not part of either library's cost
    if library == EVENTLOG:
        lib, uri = _library(library, Path(scratch))
        run = lib.start_run()
        log = lib.log_metric
        start = time.perf_counter()
        for step, value in enumerate(values):
            log(HISTORY_KEY, value, step=step)
        logged = time.perf_counter()
        lib.end_run()
        return {
            "uri": uri,
            "run_id": run.info.run_id,
            "log_s": logged - start,
            "end_run_s": time.perf_counter() - logged,
        }
    lib, uri = _library(library, Path(scratch))
    from mlflow.entities import Metric

    db = Path(scratch) / "mlflow.db"
    client = lib.MlflowClient(uri)  # creates the database (its schema migrations)
    empty_db_bytes = db.stat().st_size
    experiment_id = client.create_experiment("bench-history")
    run_id = client.create_run(experiment_id).info.run_id
    now = int(time.time() * 1000)
    start = time.perf_counter()
    for lo in range(0, points, MLFLOW_BATCH_LIMIT):
        batch = [
            Metric(HISTORY_KEY, values[i], now + i // 1000, i)
            for i in range(lo, min(points, lo + MLFLOW_BATCH_LIMIT))
        ]
        client.log_batch(run_id, metrics=batch)
    logged = time.perf_counter()
    client.set_terminated(run_id)
    return {
        "uri": uri,
        "run_id": run_id,
        "log_s": logged - start,
        "end_run_s": time.perf_counter() - logged,
        "empty_db_bytes": empty_db_bytes,
    }


def read_history(library: str, scratch: str, uri: str, run_id: str, points: int) -> Json:
    """The first ``get_metric_history`` of the run in a fresh process (client already made), then a
    check, outside the timing, that every step came back once with the logged value."""
    _library(library, Path(scratch))
    client = _client(library, uri)
    start = time.perf_counter()
    history = client.get_metric_history(run_id, HISTORY_KEY)
    seconds = time.perf_counter() - start
    # One pass against the logged sequence, without a second copy of a million points (this child's
    # peak RSS is a figure): sort only when the library did not return the points in step order.
    ordered = history
    if any(a.step > b.step for a, b in itertools.pairwise(history)):
        ordered = sorted(history, key=lambda m: m.step)
    rng = random.Random(HISTORY_SEED)
    ok = len(history) == points and all(
        m.step == step and m.value == rng.random() for step, m in enumerate(ordered)
    )
    return {"seconds": seconds, "points": len(history), "ok": ok}


def build_sqlite(store: str, db: str, artifact_root: str) -> Json:
    """An MLflow sqlite database holding the runs of an eventlog store: the database and its experiment
    made by MLflow's own SqlAlchemyStore, the rows bulk-inserted into MLflow's own ORM tables (one
    executemany per table; logging 10,000 runs through MLflow's API would take over ten minutes)."""
    warnings.filterwarnings("ignore")
    import polars as pl
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from sqlalchemy import insert

    from eventlog import views

    for logger in ("mlflow", "alembic"):
        logging.getLogger(logger).setLevel(logging.WARNING)
    view = views.open(store)
    runs = view.runs().select(
        "run_id", "run_name", "user_id", "status", "start_time", "end_time", "lifecycle_stage"
    )
    params = view.params().select("run_id", "key", "value")
    tags = view.tags().select("run_id", "key", "value")
    latest = view.latest_metrics().select("run_id", "key", "value", "timestamp", "step")
    mlflow_store = SqlAlchemyStore(f"sqlite:///{db}", artifact_root)
    experiment_id = int(mlflow_store.create_experiment("bench-search"))

    def rows(frame: pl.LazyFrame, rename: dict[str, str], **constants: Any) -> list[dict[str, Any]]:
        out = frame.rename(rename).with_columns(**{k: pl.lit(v) for k, v in constants.items()})
        return out.collect().to_dicts()

    run_rows = rows(
        runs,
        {"run_id": "run_uuid", "run_name": "name"},
        source_type="LOCAL",
        source_name="",
        entry_point_name="",
        source_version="",
        experiment_id=experiment_id,
    )
    for row in run_rows:
        row["artifact_uri"] = f"{artifact_root}/{experiment_id}/{row['run_uuid']}/artifacts"
    metric_rows = rows(latest, {"run_id": "run_uuid"}, is_nan=False)
    tables: dict[str, tuple[Any, list[dict[str, Any]]]] = {
        "runs": (SqlRun, run_rows),
        "params": (SqlParam, rows(params, {"run_id": "run_uuid"})),
        "tags": (SqlTag, rows(tags, {"run_id": "run_uuid"})),
        "metrics": (SqlMetric, metric_rows),
        "latest_metrics": (SqlLatestMetric, metric_rows),
    }
    with mlflow_store.engine.begin() as connection:
        for model, table_rows in tables.values():
            connection.execute(insert(model.__table__), table_rows)
    mlflow_store.engine.dispose()
    counts = {name: len(table_rows) for name, (_, table_rows) in tables.items()}
    return {"experiment_id": str(experiment_id), **counts}


# -- bench/_real.py: runs written through MlflowClient, one by one, as users write them ---------------------
REAL_METRIC_KEYS = tuple(f"m{j}" for j in range(5))
REAL_PARAM_KEYS = tuple(f"p{j}" for j in range(10))
REAL_TAG_KEYS = tuple(f"t{j}" for j in range(3))
REAL_EXPERIMENT = "bench-real"
REAL_T0_VALUES = ("x", "y", "z")
REAL_PAGE_LIMIT = 50_000  # MLflow's largest max_results


# One run's values: 5 metric values, 10 param values, 3 tag values (in the order of the keys above).
RealRun = tuple[list[float], list[str], list[str]]


def real_values(seed: int, runs: int) -> list[RealRun]:
    """The values of the write workload's runs, the same in the child that logs them and in the parent
    that computes the pages a search must return: random metric values (no two runs tie on the order_by
    metric), params p0..p8 from 10 values each and p9 unique per run (a seed), tag t0 from 3 values."""
    rng = random.Random(seed)
    out: list[RealRun] = []
    for i in range(runs):
        metrics = [rng.random() for _ in REAL_METRIC_KEYS]
        params = [f"v{rng.randrange(10)}" for _ in REAL_PARAM_KEYS[:-1]] + [f"seed-{i}"]
        tags = [REAL_T0_VALUES[rng.randrange(3)], ("team-a", "team-b")[rng.randrange(2)], f"note-{i % 100}"]
        out.append((metrics, params, tags))
    return out


def real_filter(threshold: float, param: int, tag: str) -> str:
    """The searches of bench/_real.py: 3 predicates, one on a metric, a param and a tag."""
    return f"metrics.m0 > {threshold} and params.p1 = 'v{param}' and tags.t0 != '{tag}'"


def client_runs(library: str, scratch: str, uri: str, runs: int, seed: int, ids_file: str) -> Json:
    """``runs`` runs written through ``MlflowClient`` in this one process, each as a user's script writes
    it: ``create_run(experiment_id)``, one ``log_batch`` (5 metrics, 10 params, 3 tags),
    ``set_terminated``. Each run is timed; the total is the loop plus eventlog's ``flush()`` at the end
    (whatever a background flusher still holds: the time until every run is durable). The run ids go to
    ``ids_file``, in the order written."""
    values = real_values(seed, runs)  # made before timing: not part of either library's cost
    os.chdir(scratch)
    client = _client(library, uri)
    entities = importlib.import_module(f"{library}.entities")  # Metric, Param, RunTag of that library
    Metric, Param, RunTag = entities.Metric, entities.Param, entities.RunTag
    experiment_id = client.create_experiment(REAL_EXPERIMENT)
    create_run, log_batch, set_terminated = client.create_run, client.log_batch, client.set_terminated
    run_ids: list[str] = []
    durations: list[float] = []
    start = time.perf_counter()
    for metrics, params, tags in values:
        begun = time.perf_counter()
        run_id = create_run(experiment_id).info.run_id
        now = int(time.time() * 1000)
        log_batch(
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in zip(REAL_METRIC_KEYS, metrics, strict=True)],
            params=[Param(k, v) for k, v in zip(REAL_PARAM_KEYS, params, strict=True)],
            tags=[RunTag(k, v) for k, v in zip(REAL_TAG_KEYS, tags, strict=True)],
        )
        set_terminated(run_id)
        durations.append(time.perf_counter() - begun)
        run_ids.append(run_id)
    loop_s = time.perf_counter() - start
    begun = time.perf_counter()
    if library == EVENTLOG:
        client.flush()
    flush_s = time.perf_counter() - begun
    Path(ids_file).write_text(json.dumps(run_ids))
    tenth = max(1, runs // 10)
    ordered = sorted(durations)
    return {
        "experiment_id": str(experiment_id),
        "runs": runs,
        "loop_s": loop_s,
        "flush_s": flush_s,
        "median_s": ordered[len(ordered) // 2],
        "p99_s": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
        "max_s": ordered[-1],
        "first_tenth_rate": tenth / sum(durations[:tenth]),
        "last_tenth_rate": tenth / sum(durations[-tenth:]),
    }


def real_search(
    library: str,
    scratch: str,
    uri: str,
    experiment_ids: list[str],
    first: str,
    warm: list[str],
    order_by: list[str],
    max_results: int,
) -> Json:
    """The first search_runs in a fresh process (``to_first_s``: the library's import, the client and
    that query), then each of ``warm`` in the same process, timed one by one; every page is returned."""
    started = time.perf_counter()
    _library(library, Path(scratch))
    imported = time.perf_counter()
    client = _client(library, uri)

    def query(filter_string: str) -> tuple[float, list[str]]:
        begun = time.perf_counter()
        page = client.search_runs(
            experiment_ids, filter_string=filter_string, order_by=order_by, max_results=max_results
        )
        seconds = time.perf_counter() - begun
        return seconds, [r.info.run_id for r in page]

    first_s, first_ids = query(first)
    to_first_s = time.perf_counter() - started
    timed = [query(f) for f in warm]
    return {
        "to_first_s": to_first_s,
        "import_s": imported - started,
        "first_s": first_s,
        "first_ids": first_ids,
        "warm_s": [s for s, _ in timed],
        "pages": [ids for _, ids in timed],
    }


def get_run_cold(library: str, scratch: str, uri: str, run_id: str) -> Json:
    """``get_run`` in a fresh process, the library imported and the client made: only the call is timed.
    The run comes back for checking."""
    _library(library, Path(scratch))
    client = _client(library, uri)
    begun = time.perf_counter()
    run = client.get_run(run_id)
    seconds = time.perf_counter() - begun
    return {
        "seconds": seconds,
        "run_id": run.info.run_id,
        "status": run.info.status,
        "params": dict(run.data.params),
        "metrics": dict(run.data.metrics),
        "tags": dict(run.data.tags),
    }


def _committed_streams(uri: str) -> int | None:
    """How many streams of the store have a committed view (a compaction, the library's own or
    ``eventlog compact``); None when the store's layout cannot tell (the views API changed)."""
    try:
        from eventlog.storage import open_location
        from eventlog.views import latest_commit, store_streams

        raw = os.environ.get("EVENTLOG_STORAGE_OPTIONS")
        location = open_location(uri, json.loads(raw) if raw else None)
        return sum(latest_commit(location, s) is not None for s in store_streams(location))
    except Exception:
        return None


def store_state(scratch: str, uri: str) -> Json:
    """Whether the store holds a committed view (see ``_committed_streams``), read in a fresh process."""
    os.chdir(scratch)
    return {"committed": _committed_streams(uri)}


def verify_runs(scratch: str, uri: str, experiment_id: str, seed: int, ids_file: str) -> Json:
    """Read every run of the experiment back through eventlog's client (pages of up to 50,000) and check
    each against the values logged: all there, FINISHED, params, latest metrics and tags as written. Also
    whether the store holds a committed view (see ``_committed_streams``)."""
    os.chdir(scratch)
    import eventlog

    run_ids = json.loads(Path(ids_file).read_text())
    expected = dict(zip(run_ids, real_values(seed, len(run_ids)), strict=True))
    client = eventlog.MlflowClient(uri)
    seen: set[str] = set()
    wrong: list[str] = []
    token = None
    while True:
        page = client.search_runs(
            [experiment_id], max_results=min(REAL_PAGE_LIMIT, max(1, len(run_ids))), page_token=token
        )
        for run in page:
            run_id = run.info.run_id
            seen.add(run_id)
            values = expected.get(run_id)
            if values is None:
                wrong.append(f"{run_id}: a run that was not written")
                continue
            metrics, params, tags = values
            tag_values = [run.data.tags.get(k) for k in REAL_TAG_KEYS]
            if run.info.status != "FINISHED":
                wrong.append(f"{run_id}: status {run.info.status}")
            elif dict(run.data.params) != dict(zip(REAL_PARAM_KEYS, params, strict=True)):
                wrong.append(f"{run_id}: params {dict(run.data.params)}")
            elif dict(run.data.metrics) != dict(zip(REAL_METRIC_KEYS, metrics, strict=True)):
                wrong.append(f"{run_id}: metrics {dict(run.data.metrics)}")
            elif tag_values != tags:
                wrong.append(f"{run_id}: tags {tag_values}")
        token = page.token
        if not token:
            break
    return {
        "runs": len(seen),
        "missing": len(set(expected) - seen),
        "wrong": len(wrong),
        "examples": wrong[:3],
        "committed": _committed_streams(uri),
    }


WORKLOADS: dict[str, Callable[..., Json]] = {
    "log_metric": log_metric,
    "log_metrics": log_metrics,
    "small_runs": small_runs,
    "search": search,
    "log_history": log_history,
    "read_history": read_history,
    "build_sqlite": build_sqlite,
    "client_runs": client_runs,
    "real_search": real_search,
    "get_run_cold": get_run_cold,
    "verify_runs": verify_runs,
    "store_state": store_state,
}


def main(argv: list[str]) -> None:
    name, arguments = argv[0], json.loads(argv[1])
    # Settings under test (bench/_real.py), in the environment before the workload imports a library.
    os.environ.update(arguments.pop("env", None) or {})
    result = WORKLOADS[name](**arguments)
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
