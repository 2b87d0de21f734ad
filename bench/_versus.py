"""eventlog against the real mlflow package on its sqlite store, side by side (docs/benchmarks.md).

Every workload runs in a fresh child process per library (bench/_workloads.py), eventlog's then MLflow's,
in the same ``python -m bench`` invocation, so a ratio compares two figures taken minutes apart on the
same machine under the same load. Both libraries run with their default settings. Where MLflow is slow
its workload is scaled down and the figures compare rates per operation; every row says both sizes.

A ratio is eventlog's advantage: > 1 means eventlog is better, whichever way the unit points (a rate is
eventlog / MLflow, a time or a size is MLflow / eventlog). A figure whose check failed (a wrong page, a
short history, a crashed child) has no number: it is reported as FAILED and fails ``--check``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import _generate as gen
from bench._machine import load_line
from bench._workloads import EVENTLOG, MLFLOW, RESULT_PREFIX, SEARCH_MAX_RESULTS, SEARCH_ORDER, search_filter

__all__ = ["Comparison", "Sizes", "format_comparisons", "versus_figures"]

LOG_METRIC_BUDGET = 1_000.0
RUNS_BUDGET = 10.0
SEARCH_10K_BUDGET = 100.0
SEARCH_QUERIES = 30
IMPORT_REPEATS = 5
EVENTLOG_REPEATS = 3  # best of 3 for eventlog's logging loops, as bench/_core; MLflow's run once (minutes)

Json = dict[str, Any]


@dataclass(frozen=True)
class Comparison:
    """One row: both libraries' figures for the same workload (MLflow's None for eventlog-only rows)."""

    name: str
    unit: str
    eventlog: float | None
    mlflow: float | None
    workload: str  # both sides' sizes, e.g. "eventlog 300,000 calls / MLflow 1,000 calls"
    higher_is_better: bool = True  # of the unit: rates yes, seconds, bytes and MiB no
    budget: float | None = None  # the minimum ratio
    note: str = ""
    error: str = ""  # a failed figure: no number, fails --check

    @property
    def ratio(self) -> float | None:
        if self.error or self.eventlog is None or self.mlflow is None or 0 in (self.eventlog, self.mlflow):
            return None
        return self.eventlog / self.mlflow if self.higher_is_better else self.mlflow / self.eventlog

    @property
    def ok(self) -> bool:
        if self.error:
            return False
        if self.budget is None:
            return True
        return self.ratio is not None and self.ratio >= self.budget


@dataclass(frozen=True)
class Sizes:
    """The workloads of one run; ``--scale`` multiplies them (search sizes stay: their stores are cached)."""

    log_metric: tuple[int, int] = (300_000, 1_000)  # (eventlog, MLflow) calls
    log_metrics: tuple[int, int] = (20_000, 100)  # calls of 50 keys
    runs: tuple[int, int] = (300, 30)
    history: tuple[int, int] = (1_000_000, 100_000)  # points of one metric
    search: tuple[float, ...] = field(default=(0.001, 0.01))  # search_store scales: 1,000 and 10,000 runs

    def scaled(self, scale: float) -> Sizes:
        def s(pair: tuple[int, int], floor: tuple[int, int]) -> tuple[int, int]:
            return (max(floor[0], round(pair[0] * scale)), max(floor[1], round(pair[1] * scale)))

        return replace(
            self,
            log_metric=s(self.log_metric, (1_000, 100)),
            log_metrics=s(self.log_metrics, (100, 10)),
            runs=s(self.runs, (10, 5)),
            history=s(self.history, (10_000, 1_000)),
        )


# -- plumbing ----------------------------------------------------------------------------------------------
def _scratch(prefix: str) -> AbstractContextManager[Path]:
    return gen.scratch(f"versus-{prefix}")


def _child(workload: str, **arguments: Any) -> tuple[Json, gen.ChildResult]:
    """Run one workload in a fresh interpreter; its result line and the child (wall time, peak RSS)."""
    child = gen.run_child([sys.executable, "-m", "bench._workloads", workload, json.dumps(arguments)])
    lines = [line for line in child.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        raise RuntimeError(f"{workload}: no result line in the child's output:\n{child.stdout[-2000:]}")
    return json.loads(lines[-1][len(RESULT_PREFIX) :]), child


def _error(exc: BaseException) -> str:
    """The line of a child's traceback that says what went wrong."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()] or [repr(exc)]
    return next((line for line in reversed(lines) if "Error" in line or "Exception" in line), lines[-1])[:200]


def _failed(rows: list[Comparison], exc: BaseException) -> list[Comparison]:
    """The same rows with no figures and the error: a crashed workload still shows what it would measure."""
    return [replace(r, eventlog=None, mlflow=None, error=_error(exc)) for r in rows]


def _n(count: float) -> str:
    return f"{count:,.0f}"


def _mib(child: gen.ChildResult) -> float:
    return child.max_rss_bytes / 2**20


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# -- 1, 2 and 8: the logging hot path, and the peak RSS of the log_metric children ---------------------------
def _logging_rows(sizes: Sizes, memory: list[Comparison]) -> list[Comparison]:
    (el_calls, ml_calls), (el_batches, ml_batches) = sizes.log_metric, sizes.log_metrics
    metric_work = f"eventlog {_n(el_calls)} calls, best of {EVENTLOG_REPEATS} / MLflow {_n(ml_calls)} calls"
    metric = Comparison(
        "log_metric, single calls in one run", "calls/s", None, None, metric_work, budget=LOG_METRIC_BUDGET
    )
    batch_work = (
        f"eventlog {_n(el_batches)} calls, best of {EVENTLOG_REPEATS} / MLflow {_n(ml_batches)} calls"
    )
    batch = Comparison("log_metrics, 50 keys a call, in one run", "points/s", None, None, batch_work)
    rss = Comparison(
        "peak RSS of the log_metric child", "MiB", None, None, metric_work, higher_is_better=False
    )
    try:
        with _scratch("log-metric") as scratch:
            el, el_child = _child(
                "log_metric", library=EVENTLOG, scratch=str(scratch), calls=el_calls, repeats=EVENTLOG_REPEATS
            )
        with _scratch("log-metric") as scratch:
            ml, ml_child = _child(
                "log_metric", library=MLFLOW, scratch=str(scratch), calls=ml_calls, repeats=1
            )
        metric = replace(
            metric,
            eventlog=max(el["rates"]),
            mlflow=max(ml["rates"]),
            note=f"eventlog's end_run (flushes what its 2 s timer has not yet) {el['end_run_s']:.2f} s",
        )
        rss = replace(
            rss,
            eventlog=_mib(el_child),
            mlflow=_mib(ml_child),
            note="the child's own VmHWM",
        )
    except (RuntimeError, KeyError, ValueError) as exc:
        metric, rss = _failed([metric, rss], exc)
    memory.append(rss)
    try:
        with _scratch("log-metrics") as scratch:
            el, _ = _child(
                "log_metrics",
                library=EVENTLOG,
                scratch=str(scratch),
                calls=el_batches,
                keys=50,
                repeats=EVENTLOG_REPEATS,
            )
        with _scratch("log-metrics") as scratch:
            ml, _ = _child(
                "log_metrics", library=MLFLOW, scratch=str(scratch), calls=ml_batches, keys=50, repeats=1
            )
        batch = replace(
            batch,
            eventlog=max(el["rates"]),
            mlflow=max(ml["rates"]),
            note=f"eventlog's end_run {el['end_run_s']:.2f} s",
        )
    except (RuntimeError, KeyError, ValueError) as exc:
        (batch,) = _failed([batch], exc)
    return [metric, batch]


# -- 3: whole small runs -----------------------------------------------------------------------------------
def _runs_rows(sizes: Sizes) -> list[Comparison]:
    el_runs, ml_runs = sizes.runs
    work = f"eventlog {_n(el_runs)} runs / MLflow {_n(ml_runs)} runs, after 1 warm-up run each"
    rows = []
    for pointwise, how in ((False, "log_metrics a step"), (True, "log_metric a point")):
        row = Comparison(
            f"runs/s: 10 params, 3 tags, 10 steps x 5 metrics ({how})",
            "runs/s",
            None,
            None,
            work,
            budget=RUNS_BUDGET,
        )
        try:
            medians, overall = [], []
            for library, runs in ((EVENTLOG, el_runs), (MLFLOW, ml_runs)):
                with _scratch("runs") as scratch:
                    out, _ = _child(
                        "small_runs", library=library, scratch=str(scratch), runs=runs, pointwise=pointwise
                    )
                # The median run, not the total: a burst of a neighbour's load on a shared machine lands
                # on a few runs of one side (eventlog's 300 runs take 2 s); the median is each side's
                # typical run. The rate over all runs is in the note.
                medians.append(1 / statistics.median(out["durations"]))
                overall.append(runs / sum(out["durations"]))
            row = replace(
                row,
                eventlog=medians[0],
                mlflow=medians[1],
                note=f"1 / median run; over all runs eventlog {overall[0]:,.1f}, "
                f"MLflow {overall[1]:,.1f} runs/s ({_ratio(overall[0] / overall[1])})",
            )
        except (RuntimeError, KeyError, ValueError) as exc:
            (row,) = _failed([row], exc)
        rows.append(row)
    return rows


# -- 4: search_runs ----------------------------------------------------------------------------------------
def _sqlite_db(store: gen.SearchStore) -> tuple[Path, str]:
    """MLflow's sqlite database of ``store``'s runs (bench/_workloads.build_sqlite), cached beside the
    store, published whole: (database, experiment id). The key is the generated data (the store's
    directory, which names its generator version and scale, and its raw store) and the mlflow version,
    not the compactor: the runs are the same whichever compactor folded them."""
    home = store.path.parent
    raw = store.path.name.split("-compacted-")[0]
    final = home / f"mlflow-sqlite-{metadata.version('mlflow')}-{raw}"
    if not (final / "meta.json").exists():
        for stale in home.glob("mlflow-sqlite-*"):
            shutil.rmtree(stale, ignore_errors=True)
        print(f"  [setup] loading {store.runs:,} runs into an MLflow sqlite database ...", flush=True)
        tmp = gen._scratch("sqlite")
        try:
            out, child = _child(
                "build_sqlite",
                store=str(store.path),
                db=str(tmp / "mlflow.db"),
                artifact_root=(home / "mlflow-artifacts").as_uri(),
            )
            # Every run with all its rows (the runName tag too): a short table would change the query.
            want = {
                "runs": store.runs,
                "params": store.runs * gen.SEARCH_PARAMS,
                "tags": store.runs * (gen.SEARCH_TAGS + 1),
                "metrics": store.runs * gen.SEARCH_METRICS,
            }
            if {k: out[k] for k in want} != want:
                raise RuntimeError(f"the sqlite database holds {out}, not {want}")
            (tmp / "meta.json").write_text(json.dumps(out))
            gen._publish_dir(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"  [setup] loaded in {child.wall_s:.1f} s", flush=True)
    return final / "mlflow.db", json.loads((final / "meta.json").read_text())["experiment_id"]


def _search(library: str, uri: str, experiment_ids: list[str]) -> Json:
    # A copy per child, so that nothing a child does reaches the cache, and a concurrent `python -m bench`
    # that replaces a cached store (its compactor changed) cannot pull the files from under this one.
    # eventlog's store is copied by hard links (as bench/_generate.link_copy): its files are never rewritten.
    with _scratch("search") as scratch:
        if library == MLFLOW:
            shutil.copy(uri, scratch / "mlflow.db")
            uri = f"sqlite:///{scratch / 'mlflow.db'}"
        else:
            shutil.copytree(uri, scratch / "store", copy_function=os.link)
            uri = str(scratch / "store")
        out, _ = _child(
            "search",
            library=library,
            scratch=str(scratch),
            uri=uri,
            experiment_ids=experiment_ids,
            queries=SEARCH_QUERIES,
        )
    return out


def _check_pages(out: Json, expected: list[str], library: str) -> str:
    """Why the pages are wrong ("" when right): i=3 is the generator's query, whose page it computed;
    i and i+10 ask the same query and must agree."""
    if out["first_ids"] != expected:
        got = len(out["first_ids"])
        return f"WRONG PAGE: {library}'s first query returned {got} runs, not the expected page"
    pages = out["pages"]
    if pages[3] != expected:
        return (
            f"WRONG PAGE: {library}'s warm query (i=3) returned {len(pages[3])} runs, not the expected page"
        )
    for i in range(10, len(pages)):
        if pages[i] != pages[i % 10]:
            return f"WRONG PAGE: {library}'s query i={i} differs from the same query at i={i % 10}"
    return ""


def _search_rows(sizes: Sizes) -> list[Comparison]:
    # The children's query at i=3 must be the one whose page the generator computed.
    query = (search_filter(3), SEARCH_ORDER, SEARCH_MAX_RESULTS)
    if query != (gen.SEARCH_FILTER, gen.SEARCH_ORDER, gen.SEARCH_MAX_RESULTS):
        raise AssertionError(f"bench/_workloads.py's search {query} is not bench/_generate.py's")
    rows: list[Comparison] = []
    firsts: list[Comparison] = []
    for scale in sizes.search:
        runs = max(1_000, round(1_000_000 * scale))
        work = f"both {_n(runs)} runs (same data), {SEARCH_QUERIES} queries"
        predicate = "3 predicates + order_by, max 100"
        warm = Comparison(
            f"search_runs warm, {_n(runs)} runs, {predicate}",
            "s",
            None,
            None,
            f"{work}, median",
            higher_is_better=False,
            budget=SEARCH_10K_BUDGET if runs == 10_000 else None,
        )
        first = Comparison(
            f"search_runs, fresh process to first result, {_n(runs)} runs",
            "s",
            None,
            None,
            f"both {_n(runs)} runs (same data), 1 query; import + client + query",
            higher_is_better=False,
        )
        try:
            store = gen.search_store(scale)
            db, db_experiment = _sqlite_db(store)
            expected = list(store.expected_ids)
            el = _search(EVENTLOG, str(store.path), list(store.experiment_ids))
            ml = _search(MLFLOW, str(db), [db_experiment])
            el_error, ml_error = _check_pages(el, expected, EVENTLOG), _check_pages(ml, expected, MLFLOW)
            # MLflow is the oracle for the queries whose page the generator did not compute.
            differs = [i for i, (a, b) in enumerate(zip(el["pages"], ml["pages"], strict=True)) if a != b]
            if differs and not (el_error or ml_error):
                el_error = f"WRONG PAGE: eventlog's pages differ from MLflow's for i={differs[:5]}"
            # A wrong page is a failed figure: that side gets no number.
            spread = f"eventlog {min(el['warm_s']) * 1e3:.2f}-{max(el['warm_s']) * 1e3:.2f} ms"
            warm = replace(
                warm,
                eventlog=None if el_error else statistics.median(el["warm_s"]),
                mlflow=None if ml_error else statistics.median(ml["warm_s"]),
                error="; ".join(e for e in (el_error, ml_error) if e),
                note=f"{store.matches:,} runs match; all {SEARCH_QUERIES} pages checked; {spread}",
            )
            first = replace(
                first,
                eventlog=None if el_error else el["to_first_s"],
                mlflow=None if ml_error else ml["to_first_s"],
                error=warm.error,
                note=(
                    f"the query alone (library imported, client made): eventlog "
                    f"{el['first_s'] * 1e3:.1f} ms, MLflow {ml['first_s'] * 1e3:.1f} ms"
                ),
            )
        except (RuntimeError, KeyError, ValueError, OSError) as exc:
            warm, first = _failed([warm, first], exc)
        rows.append(warm)
        firsts.append(first)
    return [*rows, *firsts, _search_million()]


def _search_million() -> Comparison:
    """eventlog alone, warm, at 1,000,000 runs: only when bench/_views.py's store is already cached (it is
    minutes to generate and compact; `python -m bench --only views` makes it)."""
    row = Comparison(
        "search_runs warm, 1,000,000 runs (eventlog only)",
        "s",
        None,
        None,
        f"eventlog 1,000,000 runs, {SEARCH_QUERIES} queries, median / MLflow not run",
        higher_is_better=False,
    )
    store = gen.cached_search_store(1.0)
    if store is None:
        return replace(row, note="skipped: the 1,000,000-run store is not cached for the current compactor")
    try:
        out = _search(EVENTLOG, str(store.path), list(store.experiment_ids))
        error = _check_pages(out, list(store.expected_ids), EVENTLOG)
        where = f"; in {len(store.experiment_ids)} experiments" if len(store.experiment_ids) > 1 else ""
        return replace(
            row,
            eventlog=None if error else statistics.median(out["warm_s"]),
            error=error,
            note=f"first query {out['first_s']:.3f} s; {store.matches:,} runs match; page checked{where}",
        )
    except (RuntimeError, KeyError, ValueError) as exc:
        (row,) = _failed([row], exc)
        return row


# -- 5, 6 and 8: a long metric history, its size on disk, the peak RSS of reading it ------------------------
def _read(library: str, scratch: Path, uri: str, run_id: str, points: int) -> tuple[float, gen.ChildResult]:
    out, child = _child(
        "read_history", library=library, scratch=str(scratch), uri=uri, run_id=run_id, points=points
    )
    if not out["ok"]:
        raise RuntimeError(
            f"WRONG HISTORY: {library}'s get_metric_history returned {out['points']:,} points, "
            f"not the {points:,} logged (each step once, with its value)"
        )
    return out["seconds"], child


def _history_rows(sizes: Sizes, memory: list[Comparison]) -> list[Comparison]:
    el_points, ml_points = sizes.history
    work = f"eventlog {_n(el_points)} points / MLflow {_n(ml_points)} points, first call in a fresh process"
    read = Comparison("get_metric_history, one metric", "points/s", None, None, work)
    seconds = Comparison(
        f"  eventlog get_metric_history of {_n(el_points)} points",
        "s",
        None,
        None,
        f"eventlog {_n(el_points)} points / MLflow not run at this size",
        higher_is_better=False,
    )
    compacted = Comparison(
        "get_metric_history after eventlog compact",
        "points/s",
        None,
        None,
        work,
    )
    size_work = f"eventlog {_n(el_points)} points / MLflow {_n(ml_points)} points, random float values"
    logged = Comparison(
        "bytes on disk per metric point, as logged", "B", None, None, size_work, higher_is_better=False
    )
    after = Comparison(
        "bytes on disk per metric point, eventlog compacted",
        "B",
        None,
        None,
        size_work,
        higher_is_better=False,
    )
    rss = Comparison(
        "peak RSS of the get_metric_history child", "MiB", None, None, work, higher_is_better=False
    )
    rows = [read, seconds, compacted, logged, after]
    try:
        with _scratch("history") as el_scratch, _scratch("history") as ml_scratch:
            el_log, _ = _child("log_history", library=EVENTLOG, scratch=str(el_scratch), points=el_points)
            el_s, el_child = _read(EVENTLOG, el_scratch, el_log["uri"], el_log["run_id"], el_points)
            el_logged_bytes = _tree_bytes(Path(el_log["uri"]))
            ml_log, _ = _child("log_history", library=MLFLOW, scratch=str(ml_scratch), points=ml_points)
            ml_s, ml_child = _read(MLFLOW, ml_scratch, ml_log["uri"], ml_log["run_id"], ml_points)
            ml_bytes = sum(p.stat().st_size for p in ml_scratch.glob("mlflow.db*")) - ml_log["empty_db_bytes"]
            # Compact as a user would (default retention: the folded segments stay an hour for readers
            # that started before), read again; then drop the folded segments (retention 0) to measure
            # the size the store settles to.
            _, compact = gen.compact_cli(Path(el_log["uri"]))
            el_compacted_s, _ = _read(EVENTLOG, el_scratch, el_log["uri"], el_log["run_id"], el_points)
            gen.run_child(
                [sys.executable, "-m", "eventlog.cli", "compact", el_log["uri"], "--retention", "0", "--json"]
            )
            el_compacted_bytes = _tree_bytes(Path(el_log["uri"]))
        ml_rate = ml_points / ml_s
        read = replace(
            read,
            eventlog=el_points / el_s,
            mlflow=ml_rate,
            note=f"MLflow {ml_s:.2f} s for {_n(ml_points)}; length, steps and values checked",
        )
        seconds = replace(seconds, eventlog=el_s, note=f"eventlog logged them in {el_log['log_s']:.2f} s")
        compact_s = sum(float(r["seconds"]) for r in compact)
        compacted = replace(
            compacted,
            eventlog=el_points / el_compacted_s,
            mlflow=ml_rate,
            note=f"{el_compacted_s:.2f} s for {_n(el_points)}; compaction {compact_s:.2f} s; MLflow as above",
        )
        logged = replace(
            logged,
            eventlog=el_logged_bytes / el_points,
            mlflow=ml_bytes / ml_points,
            note="eventlog: the store directory; MLflow: mlflow.db minus an empty new database",
        )
        after = replace(
            after,
            eventlog=el_compacted_bytes / el_points,
            mlflow=ml_bytes / ml_points,
            note="after eventlog compact and the removal of the folded segments; MLflow as above",
        )
        rss = replace(
            rss,
            eventlog=_mib(el_child),
            mlflow=_mib(ml_child),
            note=f"the child's own VmHWM; not per point: eventlog's child holds "
            f"{el_points / ml_points:g}x the points",
        )
        rows = [read, seconds, compacted, logged, after]
    except (RuntimeError, KeyError, ValueError, OSError) as exc:
        rows = _failed(rows, exc)
        (rss,) = _failed([rss], exc)
    memory.append(rss)
    return rows


# -- 7: import time ----------------------------------------------------------------------------------------
def _import_rows() -> list[Comparison]:
    row = Comparison(
        "python -c 'import <library>'",
        "s",
        None,
        None,
        f"both median of {IMPORT_REPEATS} fresh interpreters",
        higher_is_better=False,
    )
    timings: dict[str, list[float]] = {"pass": [], EVENTLOG: [], MLFLOW: []}
    try:
        for _ in range(IMPORT_REPEATS):  # interleaved, so that a burst of load hits all three alike
            for name in timings:
                code = "pass" if name == "pass" else f"import {name}"
                child = gen.run_child([sys.executable, "-c", code], rss_guard=None, measure_memory=False)
                timings[name].append(child.wall_s)
    except RuntimeError as exc:
        (row,) = _failed([row], exc)
        return [row]
    median = {name: statistics.median(values) for name, values in timings.items()}
    return [
        replace(
            row,
            eventlog=median[EVENTLOG],
            mlflow=median[MLFLOW],
            note=f"interpreter start alone (python -c pass): {median['pass']:.3f} s",
        )
    ]


# -- the table ---------------------------------------------------------------------------------------------
def versus_figures(scale: float = 1.0) -> list[Comparison]:
    sizes = Sizes().scaled(scale)
    print(f"  [versus] before: {load_line()}", flush=True)
    memory: list[Comparison] = []
    sections: list[Callable[[], list[Comparison]]] = [
        lambda: _logging_rows(sizes, memory),
        lambda: _runs_rows(sizes),
        lambda: _search_rows(sizes),
        lambda: _history_rows(sizes, memory),
        _import_rows,
    ]
    rows = [row for section in sections for row in section()]
    print(f"  [versus] after: {load_line()}", flush=True)
    return [*rows, *memory]


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1e3:,.2f} ms" if value < 1 else f"{value:,.2f} s"
    return f"{value:,.3g} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def _ratio(ratio: float) -> str:
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.1f}x" if ratio >= 10 else f"{ratio:.2f}x"


def format_comparisons(rows: list[Comparison]) -> list[str]:
    """The table: figure, eventlog, MLflow, ratio, budget; under each row its workload and note."""
    width = max(len(r.name) for r in rows)
    head = f"{'eventlog vs MLflow (sqlite)':<{width}}  {'eventlog':>18}  {'MLflow':>18}  {'ratio':>8}"
    lines = [head + "  budget", "-" * (len(head) + 20)]
    for r in rows:
        ratio = "-" if r.ratio is None or not math.isfinite(r.ratio) else _ratio(r.ratio)
        budget = "" if r.budget is None else f">= {r.budget:,.0f}x {'ok' if r.ok else 'MISSED'}"
        if r.error:
            budget = "FAILED"
        lines.append(
            f"{r.name:<{width}}  {_value(r.eventlog, r.unit):>18}  {_value(r.mlflow, r.unit):>18}  "
            f"{ratio:>8}  {budget}".rstrip()
        )
        detail = "; ".join(x for x in (r.workload, r.error or r.note) if x)
        lines.append(f"    {detail}")
    return lines
