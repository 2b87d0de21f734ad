"""Stores written the way users write them: through ``MlflowClient``, run by run (docs/benchmarks.md).

The other sections search stores that bench/_generate.py writes straight in the segment format, big
segments of many runs each. Users do not write stores like that: a script or a training loop creates a
run, logs a batch, ends the run, and the next run is another small write. This section writes its stores
that way, in one process (bench/_workloads.client_runs), with the library's default settings, and
measures the write rate and then search, ``get_run`` and compaction on exactly the store the writer left.

Every figure has its budget, on eventlog's own value (not on the ratio); MLflow's figure on the same work
on its sqlite store sits beside it where the work exists for MLflow, with the ratio (eventlog's advantage,
> 1 when eventlog is better). Every answer is checked: the search pages against the pages computed from
the logged values and against MLflow's, ``get_run`` against the logged run, the written stores by reading
every run back in a fresh process. A wrong answer or a crashed child is FAILED and fails ``--check``.

The 100,000-run store is cached under ``.bench/`` keyed by a digest of the library's source files (and
REAL_VERSION, the workload's): a re-run reuses it until the code changes. Everything else is written
afresh by every invocation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import statistics
import sys
import time
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import _generate as gen
from bench._machine import load_line
from bench._versus import Comparison, _child, _error, _n, _ratio, _value
from bench._workloads import (
    EVENTLOG,
    MLFLOW,
    REAL_METRIC_KEYS,
    REAL_PARAM_KEYS,
    REAL_TAG_KEYS,
    RealRun,
    real_filter,
    real_values,
)

__all__ = ["RealSizes", "Row", "format_rows", "real_figures"]

REAL_VERSION = 1  # of the write workload and its values: bump it when they change (it keys the cache)
SEED = 20_250_101
WRITE_BUDGET = 500.0  # runs/s, default settings, local disk
INTERVAL_BUDGET = 3_000.0  # runs/s with EVENTLOG_DURABILITY=interval
S3_BUDGET = 50.0  # runs/s against moto on 127.0.0.1
FIRST_SEARCH_BUDGET_S = 1.0  # 5,000 runs as written: import + client + first query
WARM_SEARCH_BUDGET_S = 0.005
GET_RUN_BUDGET_S = 0.020
COMPACT_BUDGET_S = 60.0
COMPACT_RSS_BUDGET_GIB = 2.0
# 100,000 runs: "cold search right after" (the issue) is the first query in a fresh process, the search
# call itself with every cache cold; a fresh process to its first result is reported beside it (Python and
# the imports alone take about 0.2 s of it: at 5,000 runs the issue budgets that figure, with 1 s).
BIG_COLD_BUDGET_S = 0.3
BIG_WARM_BUDGET_S = 0.005
COLD_REPEATS = 3  # fresh processes per cold figure: the median is the figure
ORDER_BY = ["metrics.m1 DESC"]
MAX_RESULTS = 100
S3_BUCKET = "eventlog-bench"
S3_REGION = "eu-west-1"  # as tests/cloud/conftest.py: s3fs sends it as LocationConstraint
LIBRARY_DIRS = ("eventlog", "views", "storage")

# (metrics.m0 threshold, params.p1 value index, tags.t0 value): the first query in a fresh process, then
# 30 warm ones, all different from each other and from the first, so that no answer can come from a cache
# of earlier answers.
Query = tuple[float, int, str]
FIRST_QUERY: Query = (0.5, 3, "x")
WARM_QUERIES: list[Query] = [((0.4, 0.6, 0.3)[i // 10], i % 10, ("x", "y", "z")[i % 3]) for i in range(30)]
QUERY_SHAPE = "3 predicates (metric, param, tag) + order_by metric, max 100"

Json = dict[str, Any]


@dataclass(frozen=True)
class RealSizes:
    """Run counts; ``--scale`` multiplies them (budgets stay)."""

    write: int = 5_000  # eventlog's write workload, and the store searched
    write_mlflow: int = 500  # MLflow's write workload (about 14 runs/s: a rate compared)
    s3: int = 300
    big: int = 100_000

    def scaled(self, scale: float) -> RealSizes:
        def s(count: int, floor: int) -> int:
            return max(floor, round(count * scale))

        return RealSizes(
            write=s(self.write, 100),
            write_mlflow=s(self.write_mlflow, 20),
            s3=s(self.s3, 20),
            big=s(self.big, 1_000),
        )


@dataclass(frozen=True)
class Row(Comparison):
    """One figure: eventlog's value with its budget, MLflow's on the same work (None where it has none).
    Unlike the versus rows, the budget is on eventlog's own value (a minimum for a rate, a maximum for a
    time or size), not on the ratio."""

    @property
    def ok(self) -> bool:
        if self.error:
            return False
        if self.budget is None:
            return True
        if self.eventlog is None:
            return False
        return self.eventlog >= self.budget if self.higher_is_better else self.eventlog <= self.budget


def _failed(rows: list[Row], exc: BaseException) -> list[Row]:
    return [replace(r, eventlog=None, mlflow=None, error=_error(exc)) for r in rows]


def _log(message: str) -> None:
    print(f"  [real] {message}", flush=True)


def _scratch(prefix: str) -> AbstractContextManager[Path]:
    return gen.scratch(f"real-{prefix}")


def _reads_variable(variable: str) -> bool:
    """Whether the library's source mentions ``variable`` (a setting it does not know is ignored)."""
    return any(
        variable in p.read_text(errors="replace") for d in LIBRARY_DIRS for p in (gen.REPO / d).rglob("*.py")
    )


def _library_digest() -> str:
    """The library's source files (eventlog, views, storage) and REAL_VERSION: the 100,000-run store's
    cache key."""
    digest = hashlib.sha256(f"real-v{REAL_VERSION}".encode())
    for d in LIBRARY_DIRS:
        for path in sorted((gen.REPO / d).rglob("*.py")):
            digest.update(str(path.relative_to(gen.REPO)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


# -- writing ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Written:
    """A store the write workload left, and what the writer reported."""

    uri: str
    experiment_id: str
    run_ids: list[str]
    ids_file: Path
    out: Json
    wall_s: float
    rss_bytes: int
    settle_s: float  # how long the library's detached compactions of the store ran after the writer exited
    committed: int | None = None  # streams with a committed view, the writer and its compactions done

    @property
    def rate(self) -> float:
        """Runs per second until every run is durable: the loop and the final flush."""
        return len(self.run_ids) / (self.out["loop_s"] + self.out["flush_s"])

    def describe(self) -> str:
        o = self.out
        return (
            f"run median {_ms(o['median_s'])}, p99 {_ms(o['p99_s'])}, max {_ms(o['max_s'])}; "
            f"first 10% {o['first_tenth_rate']:,.0f} runs/s, last 10% {o['last_tenth_rate']:,.0f} runs/s; "
            f"final flush {_ms(o['flush_s'])}"
            + (
                f"; the library's own background compaction ran {self.settle_s:.1f} s after the writer "
                "exited (waited for before anything else)"
                if self.settle_s >= 0.05
                else ""
            )
        )


def _write(
    library: str, scratch: Path, runs: int, uri: str | None = None, env: dict[str, str] | None = None
) -> Written:
    """The write workload in a fresh child: ``runs`` runs through MlflowClient, in ``scratch``."""
    if uri is None:
        uri = str(scratch / "store") if library == EVENTLOG else f"sqlite:///{scratch / 'mlflow.db'}"
    ids_file = scratch / "run_ids.json"
    out, child = _child(
        "client_runs",
        library=library,
        scratch=str(scratch),
        uri=uri,
        runs=runs,
        seed=SEED,
        ids_file=str(ids_file),
        env=env or {},
    )
    settle_s = _settle(uri)
    run_ids = json.loads(ids_file.read_text())
    if len(run_ids) != runs or len(set(run_ids)) != runs:
        raise RuntimeError(
            f"WRONG STORE: the {library} writer reported {len(set(run_ids))} run ids, not {runs}"
        )
    return Written(
        uri, out["experiment_id"], run_ids, ids_file, out, child.wall_s, child.max_rss_bytes, settle_s
    )


def _compactions_of(store: str) -> list[int]:
    """Pids of the library's own compactions of ``store`` still running: eventlog's automatic compaction
    runs ``python -m eventlog.cli compact <store> ...`` detached from the writer (its own session), so it
    can outlive the writer. Found by their command lines in /proc; only waited for, never signalled."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            args = [a.decode(errors="replace") for a in (proc / "cmdline").read_bytes().split(b"\0") if a]
        except OSError:
            continue
        if "eventlog.cli" in args and "compact" in args and any(store in a for a in args):
            pids.append(int(proc.name))
    return pids


def _settle(store: str, timeout_s: float = 3_600.0) -> float:
    """Wait until the library's detached compactions of ``store`` are done, so that the store is the one
    the writer left (its own compaction included) and no background work of one figure runs into the
    next figure's time. Returns the seconds waited."""
    if "://" not in store:
        store = str(Path(store).resolve())
    start = time.perf_counter()
    while _compactions_of(store):
        if time.perf_counter() - start > timeout_s:
            raise RuntimeError(f"the library's background compaction of {store} ran over {timeout_s:.0f} s")
        time.sleep(0.2)
    return time.perf_counter() - start


def _verify(written: Written, env: dict[str, str] | None = None) -> Json:
    """Every run read back in a fresh process (eventlog's client) and checked against the values logged;
    a local store is read through a hard-link copy, so that nothing a reader does reaches the store
    under measurement. Returns the child's answer (with ``committed``: streams with a committed view)."""
    with _scratch("verify") as scratch:
        uri = written.uri
        if "://" not in uri:
            shutil.copytree(uri, scratch / "store", copy_function=os.link)
            uri = str(scratch / "store")
        out, _ = _child(
            "verify_runs",
            scratch=str(scratch),
            uri=uri,
            experiment_id=written.experiment_id,
            seed=SEED,
            ids_file=str(written.ids_file),
            env=env or {},
        )
    if out["missing"] or out["wrong"]:
        raise RuntimeError(
            f"WRONG STORE: read back in a fresh process, {out['missing']:,} of {len(written.run_ids):,} runs "
            f"are missing and {out['wrong']:,} differ from what was logged; e.g. {out['examples']}"
        )
    return out


def _write_work(el_runs: int, ml_runs: int | None, where: str) -> str:
    sizes = f"eventlog {_n(el_runs)} runs" + (f" / MLflow {_n(ml_runs)} runs (sqlite)" if ml_runs else "")
    return (
        f"{sizes}, {where}; each: create_run(experiment_id), log_batch(5 metrics, 10 params, 3 tags), "
        f"set_terminated; one process; runs / (loop + final flush)"
    )


def _write_rows(sizes: RealSizes, home: Path) -> tuple[Written | None, list[Row]]:
    """Figures 1: the write workload on local disk (both libraries), with EVENTLOG_DURABILITY=interval,
    and on S3 (moto). Returns the 5,000-run store, left in ``home`` for the search figures."""
    default = Row(
        "runs/s written through MlflowClient, local disk",
        "runs/s",
        None,
        None,
        _write_work(sizes.write, sizes.write_mlflow, "default settings"),
        budget=WRITE_BUDGET,
    )
    written: Written | None = None
    try:
        _log(f"writing {sizes.write:,} runs through eventlog's MlflowClient ...")
        written = _write(EVENTLOG, home, sizes.write)
        written = replace(written, committed=_verify(written)["committed"])
        _log(f"writing {sizes.write_mlflow:,} runs through MLflow's MlflowClient (sqlite) ...")
        with _scratch("write-mlflow") as scratch:
            ml = _write(MLFLOW, scratch, sizes.write_mlflow)
        auto = written.committed
        default = replace(
            default,
            eventlog=written.rate,
            mlflow=ml.rate,
            note=f"eventlog {written.describe()}; peak RSS eventlog {written.rss_bytes / 2**20:,.0f} MiB, "
            f"MLflow {ml.rss_bytes / 2**20:,.0f} MiB; MLflow run median {_ms(ml.out['median_s'])}; "
            f"all {len(written.run_ids):,} eventlog runs read back in a fresh process and checked"
            + (f"; the writer left {auto} committed view(s) (automatic compaction)" if auto else ""),
        )
    except (RuntimeError, KeyError, ValueError, OSError) as exc:
        (default,) = _failed([default], exc)
        written = None
    return written, [default, _interval_row(sizes), _s3_row(sizes)]


def _interval_row(sizes: RealSizes) -> Row:
    row = Row(
        "runs/s written, EVENTLOG_DURABILITY=interval",
        "runs/s",
        None,
        None,
        _write_work(sizes.write, None, "local disk, EVENTLOG_DURABILITY=interval in the child's environment")
        + "; MLflow has no such setting",
        budget=INTERVAL_BUDGET,
    )
    known = _reads_variable("EVENTLOG_DURABILITY")
    try:
        _log(f"writing {sizes.write:,} runs with EVENTLOG_DURABILITY=interval ...")
        with _scratch("write-interval") as scratch:
            written = _write(EVENTLOG, scratch, sizes.write, env={"EVENTLOG_DURABILITY": "interval"})
            _verify(written)
        row = replace(
            row,
            eventlog=written.rate,
            note=f"{written.describe()}; every run read back in a fresh process after the writer exited"
            + ("" if known else "; the library does not read EVENTLOG_DURABILITY yet: this is the default"),
        )
    except (RuntimeError, KeyError, ValueError, OSError) as exc:
        (row,) = _failed([row], exc)
    return row


def _s3_options(endpoint: str) -> dict[str, Any]:
    """As tests/cloud/conftest.py's s3_options: moto takes any credentials."""
    return {
        "key": "testing",
        "secret": "testing",
        "endpoint_url": endpoint,
        "client_kwargs": {"region_name": S3_REGION},
    }


def _write_s3(runs: int, scratch: Path, endpoint: str) -> Written:
    """The bucket (made with s3fs, as tests/cloud/conftest.py makes it), the write workload on a fresh
    prefix of it, and the runs read back from S3."""
    import fsspec

    options = _s3_options(endpoint)
    fs = fsspec.filesystem("s3", skip_instance_cache=True, **options)
    if not fs.exists(S3_BUCKET):
        fs.mkdir(S3_BUCKET)
    env = {
        "EVENTLOG_STORAGE_OPTIONS": json.dumps(options),
        "AWS_EC2_METADATA_DISABLED": "true",  # never look for credentials on an instance
        "NO_PROXY": ",".join(filter(None, [os.environ.get("NO_PROXY", ""), "127.0.0.1,localhost"])),
    }
    _log(f"writing {runs:,} runs to S3 (moto on {endpoint}) ...")
    written = _write(EVENTLOG, scratch, runs, uri=f"s3://{S3_BUCKET}/real-{uuid.uuid4().hex[:12]}", env=env)
    _verify(written, env)
    return written


def _s3_row(sizes: RealSizes) -> Row:
    """The write workload against moto's S3 server on 127.0.0.1, started here by scripts/emulators.py as
    the cloud tests start it (its own process group, stopped by its pid); the store and its options reach
    the child through EVENTLOG_STORAGE_OPTIONS, as tests/cloud/conftest.py's child_env passes them."""
    row = Row(
        "runs/s written, S3 (moto server on 127.0.0.1)",
        "runs/s",
        None,
        None,
        _write_work(sizes.s3, None, "s3:// store on a local moto server, default settings")
        + "; MLflow's tracking store cannot live on S3",
        budget=S3_BUDGET,
    )
    if str(gen.REPO) not in sys.path:
        sys.path.insert(0, str(gen.REPO))
    from scripts import emulators

    try:
        with _scratch("s3") as scratch:
            emulator = emulators.start_moto(scratch / "logs")
            try:
                written = _write_s3(sizes.s3, scratch, emulator.endpoint)
            finally:
                emulator.stop()
        row = replace(
            row,
            eventlog=written.rate,
            note=f"{written.describe()}; every run read back from S3 in a fresh process and checked; "
            "moto shares the machine's cores with the writer",
        )
    except (RuntimeError, KeyError, ValueError, OSError) as exc:  # EmulatorError is a RuntimeError
        (row,) = _failed([row], exc)
    return row


# -- searching -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Expected:
    """The pages the queries must return, computed from the logged values (MLflow's semantics: filter,
    then metrics.m1 DESC; the values are random floats, so no two runs tie on the order)."""

    first: list[str]
    first_matches: int
    warm: list[list[str]]


def _expected(values: list[RealRun], run_ids: list[str]) -> Expected:
    rows = [(m[0], m[1], p[1], t[0], rid) for (m, p, t), rid in zip(values, run_ids, strict=True)]

    def page(query: Query) -> tuple[list[str], int]:
        threshold, param, tag = query
        value = f"v{param}"
        selected = [(m1, rid) for m0, m1, p1, t0, rid in rows if m0 > threshold and p1 == value and t0 != tag]
        selected.sort(key=lambda x: -x[0])
        return [rid for _, rid in selected[:MAX_RESULTS]], len(selected)

    first, matches = page(FIRST_QUERY)
    return Expected(first, matches, [page(q)[0] for q in WARM_QUERIES])


@dataclass(frozen=True)
class Searched:
    """One library's search figures on one store: the cold children and the warm queries of the first."""

    cold_s: list[float]  # import + client + first query, one per fresh process
    query_s: list[float]  # the first query alone
    import_s: list[float]
    warm_s: list[float]
    first_ids: list[str]
    pages: list[list[str]]
    error: str

    def spread(self) -> str:
        return f"{_ms(min(self.cold_s))}-{_ms(max(self.cold_s))}"


def _copy_source(library: str, source: str, scratch: Path) -> str:
    """A copy for one child, so that each fresh process sees the store exactly as it was left (nothing a
    reader writes reaches the next one) and nothing reaches a cached store. eventlog's store is copied by
    hard links (its files are never rewritten); MLflow's database file is copied."""
    if library == MLFLOW:
        shutil.copy(source, scratch / "mlflow.db")
        return f"sqlite:///{scratch / 'mlflow.db'}"
    shutil.copytree(source, scratch / "store", copy_function=os.link)
    return str(scratch / "store")


def _search(library: str, source: str, experiment_id: str, expected: Expected) -> Searched:
    """COLD_REPEATS fresh processes, each with its first query (FIRST_QUERY); the first process then runs
    the 30 warm queries. Every page is checked against ``expected``."""
    cold, queries, imports = [], [], []
    warm: list[float] = []
    pages: list[list[str]] = []
    first_ids: list[str] = []
    error = ""
    for repeat in range(COLD_REPEATS):
        with _scratch("search") as scratch:
            out, _ = _child(
                "real_search",
                library=library,
                scratch=str(scratch),
                uri=_copy_source(library, source, scratch),
                experiment_ids=[experiment_id],
                first=real_filter(*FIRST_QUERY),
                warm=[real_filter(*q) for q in WARM_QUERIES] if repeat == 0 else [],
                order_by=ORDER_BY,
                max_results=MAX_RESULTS,
            )
        cold.append(out["to_first_s"])
        queries.append(out["first_s"])
        imports.append(out["import_s"])
        if out["first_ids"] != expected.first and not error:
            error = (
                f"WRONG PAGE: {library}'s first query returned {len(out['first_ids'])} runs, "
                f"not the expected page of {len(expected.first)}"
            )
        if repeat == 0:
            warm, pages, first_ids = out["warm_s"], out["pages"], out["first_ids"]
            wrong = [i for i, (got, want) in enumerate(zip(pages, expected.warm, strict=True)) if got != want]
            if wrong and not error:
                error = f"WRONG PAGE: {library}'s warm queries {wrong[:5]} did not return the expected pages"
    return Searched(cold, queries, imports, warm, first_ids, pages, error)


def _compare(el: Searched, ml: Searched | None) -> str:
    """eventlog's pages against MLflow's (both were checked against the computed pages too)."""
    if ml is None or el.error or ml.error:
        return ""
    differs = [i for i, (a, b) in enumerate(zip(el.pages, ml.pages, strict=True)) if a != b]
    if el.first_ids != ml.first_ids:
        return "WRONG PAGE: eventlog's first page differs from MLflow's"
    if differs:
        return f"WRONG PAGE: eventlog's pages differ from MLflow's for warm queries {differs[:5]}"
    return ""


def _pending(
    label: str, workload: str, cold_budget: float, warm_budget: float, *, query_budget: bool = False
) -> list[Row]:
    """The cold and warm search rows of one store before they are measured (what a failure reports).
    ``query_budget``: the cold budget is on the first query alone (the 100,000-run rows), and the fresh
    process to first result is a row of its own, without a budget."""
    process = Row(
        f"search_runs, fresh process to first result, {label}",
        "s",
        None,
        None,
        workload,
        False,
        None if query_budget else cold_budget,
    )
    warm = Row(f"search_runs warm, {label}", "s", None, None, workload, False, warm_budget)
    if not query_budget:
        return [process, warm]
    name = f"search_runs cold (first query of a fresh process), {label}"
    query = Row(name, "s", None, None, workload, False, cold_budget)
    return [query, process, warm]


def _search_rows(
    label: str,
    runs: int,
    el: Searched,
    ml: Searched | None,
    expected: Expected,
    cold_budget: float,
    warm_budget: float,
    where: str,
    ml_note: str = "",
    *,
    query_budget: bool = False,
) -> list[Row]:
    """The cold (median of the fresh processes) and warm (median of the 30 queries) rows of one store;
    with ``query_budget`` a row of the first query alone comes first and holds the cold budget."""
    errors = "; ".join(e for e in (el.error, ml.error if ml else "", _compare(el, ml)) if e)
    ml_cold = statistics.median(ml.cold_s) if ml and not ml.error else None
    ml_warm = statistics.median(ml.warm_s) if ml and not ml.error else None
    both = f"both {_n(runs)} runs (same runs)" if ml else f"eventlog {_n(runs)} runs / MLflow not run"
    checked = f"{expected.first_matches:,} runs match; every page checked against the logged values" + (
        " and MLflow's" if ml else ""
    )
    cold = Row(
        f"search_runs, fresh process to first result, {label}",
        "s",
        None if el.error else statistics.median(el.cold_s),
        ml_cold,
        f"{both}, {where}; {QUERY_SHAPE}; import + client + first query, median of {COLD_REPEATS} processes",
        higher_is_better=False,
        budget=None if query_budget else cold_budget,
        error=errors,
        note=f"eventlog {el.spread()}, the query alone {_ms(statistics.median(el.query_s))}, import "
        f"{_ms(statistics.median(el.import_s))}"
        + (f"; MLflow {ml.spread()}, the query alone {_ms(statistics.median(ml.query_s))}" if ml else "")
        + (f"; {ml_note}" if ml_note else "")
        + f"; {checked}",
    )
    warm = Row(
        f"search_runs warm, {label}",
        "s",
        None if el.error else statistics.median(el.warm_s),
        ml_warm,
        f"{both}, {where}; {len(WARM_QUERIES)} varied queries of that shape after the first, "
        "in the same process, median",
        higher_is_better=False,
        budget=warm_budget,
        error=errors,
        note=f"eventlog {_ms(min(el.warm_s))}-{_ms(max(el.warm_s))}" if el.warm_s else "",
    )
    if not query_budget:
        return [cold, warm]
    ml_query = statistics.median(ml.query_s) if ml and not ml.error else None
    query = Row(
        f"search_runs cold (first query of a fresh process), {label}",
        "s",
        None if el.error else statistics.median(el.query_s),
        ml_query,
        f"{both}, {where}; {QUERY_SHAPE}; the search call alone, the first of a fresh process (library "
        f"imported, client made), median of {COLD_REPEATS} processes",
        higher_is_better=False,
        budget=cold_budget,
        error=errors,
        note=f"eventlog {_ms(min(el.query_s))}-{_ms(max(el.query_s))}"
        + (f"; MLflow {_ms(min(ml.query_s))}-{_ms(max(ml.query_s))}" if ml else "")
        + f"; {checked}",
    )
    return [query, cold, warm]


def _sqlite_db(store: str, target: Path, runs: int) -> tuple[Path, str]:
    """MLflow's sqlite database holding the runs of an eventlog store, in ``target``: made by MLflow's own
    SqlAlchemyStore, the rows bulk-inserted into its ORM tables (bench/_workloads.build_sqlite, as the
    versus section builds its databases). Read from a hard-link copy of the store."""
    target.mkdir(parents=True, exist_ok=True)
    with _scratch("sqlite-source") as scratch:
        shutil.copytree(store, scratch / "store", copy_function=os.link)
        out, _ = _child(
            "build_sqlite",
            store=str(scratch / "store"),
            db=str(target / "mlflow.db"),
            artifact_root=(target / "mlflow-artifacts").as_uri(),
        )
    want = {"runs": runs, "params": runs * len(REAL_PARAM_KEYS), "metrics": runs * len(REAL_METRIC_KEYS)}
    if {k: out[k] for k in want} != want or out["tags"] < runs * len(REAL_TAG_KEYS):
        raise RuntimeError(f"the sqlite database holds {out}, not {want} and the tags")
    return target / "mlflow.db", out["experiment_id"]


def _get_run_rows(written: Written, db: Path, db_experiment: str, values: list[RealRun]) -> Row:
    """``get_run`` of one run (the middle one) in fresh processes, both libraries; the run checked."""
    index = len(written.run_ids) // 2
    run_id = written.run_ids[index]
    metrics, params, tags = values[index]
    row = Row(
        f"get_run cold, {_n(len(written.run_ids))} runs as written",
        "s",
        None,
        None,
        f"both {_n(len(written.run_ids))} runs (same runs); fresh process, library imported and client made, "
        f"only the get_run call timed; median of {COLD_REPEATS} processes",
        higher_is_better=False,
        budget=GET_RUN_BUDGET_S,
    )
    timings: dict[str, list[float]] = {EVENTLOG: [], MLFLOW: []}
    try:
        for library, source in ((EVENTLOG, written.uri), (MLFLOW, str(db))):
            for _ in range(COLD_REPEATS):
                with _scratch("get-run") as scratch:
                    out, _ = _child(
                        "get_run_cold",
                        library=library,
                        scratch=str(scratch),
                        uri=_copy_source(library, source, scratch),
                        run_id=run_id,
                    )
                got_tags = [out["tags"].get(k) for k in REAL_TAG_KEYS]
                if (
                    out["run_id"] != run_id
                    or out["status"] != "FINISHED"
                    or out["params"] != dict(zip(REAL_PARAM_KEYS, params, strict=True))
                    or out["metrics"] != dict(zip(REAL_METRIC_KEYS, metrics, strict=True))
                    or got_tags != tags
                ):
                    raise RuntimeError(f"WRONG RUN: {library}'s get_run({run_id}) returned {out}")
                timings[library].append(out["seconds"])
        el, ml = timings[EVENTLOG], timings[MLFLOW]
        return replace(
            row,
            eventlog=statistics.median(el),
            mlflow=statistics.median(ml),
            note=f"eventlog {_ms(min(el))}-{_ms(max(el))}, MLflow {_ms(min(ml))}-{_ms(max(ml))}; "
            "status, params, metrics and tags checked",
        )
    except (RuntimeError, KeyError, ValueError, OSError) as exc:
        (row,) = _failed([row], exc)
        return row


def _small_search_rows(sizes: RealSizes, written: Written | None, home: Path) -> list[Row]:
    """Figures 2: search and get_run on the store the 5,000-run write workload left (no compaction but
    what the library did on its own), against MLflow's sqlite database holding the same runs."""
    label = f"{_n(sizes.write)} runs as written"
    where = "the store the write workload left, no manual compaction"
    if written is not None and written.committed:
        where += f" ({written.committed} committed view(s) from the library's own compaction)"
    placeholders = [
        *_pending(label, where, FIRST_SEARCH_BUDGET_S, WARM_SEARCH_BUDGET_S),
        Row(f"get_run cold, {label}", "s", None, None, where, False, GET_RUN_BUDGET_S),
    ]
    if written is None:
        return _failed(placeholders, RuntimeError("the write workload failed: no store to search"))
    try:
        values = real_values(SEED, len(written.run_ids))
        expected = _expected(values, written.run_ids)
        _log(f"loading the {len(written.run_ids):,} runs into MLflow's sqlite database ...")
        db, db_experiment = _sqlite_db(written.uri, home / "sqlite", len(written.run_ids))
        _log("searching ...")
        el = _search(EVENTLOG, written.uri, written.experiment_id, expected)
        ml = _search(MLFLOW, str(db), db_experiment, expected)
        rows = _search_rows(
            label, len(written.run_ids), el, ml, expected, FIRST_SEARCH_BUDGET_S, WARM_SEARCH_BUDGET_S, where
        )
        return [*rows, _get_run_rows(written, db, db_experiment, values)]
    except (RuntimeError, KeyError, ValueError, OSError) as exc:
        return _failed(placeholders, exc)


# -- the 100,000-run store -------------------------------------------------------------------------------
@dataclass(frozen=True)
class BigStore:
    home: Path  # the cache directory: store/, run_ids.json, meta.json (and MLflow's database)
    written: Written
    committed: int | None  # streams with a committed view as the writer left the store; None: unknown
    cached: bool  # written by an earlier invocation
    written_at: str


def _big_store(runs: int, kind: str, env: dict[str, str]) -> BigStore:
    """The write workload at ``runs`` runs, cached under .bench/real-v<n>/<kind>-n<runs>-<digest>/ until
    the library's source changes (``kind``: "default" settings, or "noauto" with EVENTLOG_AUTO_COMPACT=0)."""
    home = gen.CACHE_DIR / f"real-v{REAL_VERSION}"
    final = home / f"{kind}-n{runs}-{_library_digest()}"
    cached = (final / "meta.json").exists()
    if not cached:
        home.mkdir(parents=True, exist_ok=True)
        for stale in home.glob(f"{kind}-n{runs}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        how = "default settings" if not env else " ".join(f"{k}={v}" for k, v in env.items())
        _log(
            f"writing the {runs:,}-run store through MlflowClient, {how} (cached under .bench/ until the "
            "library's source changes) ..."
        )
        tmp = gen._scratch("real-big")
        try:
            written = _write(EVENTLOG, tmp, runs, env=env)
            probe, _ = _child("store_state", scratch=str(tmp), uri=written.uri)
            meta = {
                "experiment_id": written.experiment_id,
                "out": written.out,
                "wall_s": written.wall_s,
                "rss_bytes": written.rss_bytes,
                "settle_s": written.settle_s,
                "committed": probe["committed"],
                "env": env,
                "written_at": f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
            }
            (tmp / "meta.json").write_text(json.dumps(meta))
            gen._publish_dir(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        _log(f"written in {written.out['loop_s']:.0f} s ({written.rate:,.0f} runs/s)")
    meta = json.loads((final / "meta.json").read_text())
    run_ids = json.loads((final / "run_ids.json").read_text())
    written = Written(
        str(final / "store"),
        meta["experiment_id"],
        run_ids,
        final / "run_ids.json",
        meta["out"],
        meta["wall_s"],
        meta["rss_bytes"],
        meta["settle_s"],
    )
    return BigStore(final, written, meta["committed"], cached, meta["written_at"])


def _cached_sqlite(big: BigStore, compacted: Path) -> tuple[Path, str]:
    """MLflow's database of the big store's runs, cached beside it (key: the store and the mlflow version),
    loaded from the compacted copy (the same runs, read faster)."""
    final = big.home / f"mlflow-sqlite-{metadata.version('mlflow')}"
    if not (final / "meta.json").exists():
        for stale in big.home.glob("mlflow-sqlite-*"):
            shutil.rmtree(stale, ignore_errors=True)
        _log(f"loading the {len(big.written.run_ids):,} runs into MLflow's sqlite database (cached) ...")
        tmp = gen._scratch("real-sqlite")
        try:
            _, experiment_id = _sqlite_db(str(compacted), tmp, len(big.written.run_ids))
            (tmp / "meta.json").write_text(json.dumps({"experiment_id": experiment_id}))
            gen._publish_dir(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final / "mlflow.db", json.loads((final / "meta.json").read_text())["experiment_id"]


def _big_rows(sizes: RealSizes) -> list[Row]:
    """Figures 3: the write workload at 100,000 runs; ``eventlog compact`` of that store (a copy) in a
    child; search on the compacted copy during the retention period (the folded segments still there: the
    default state for an hour) and after ``eventlog compact --retention 0`` removed them; and, when the
    writer compacted on its own, search on the store as it left it."""
    runs = sizes.big
    label = f"{_n(runs)} runs"
    write = Row(
        f"runs/s written, {label} in one process",
        "runs/s",
        None,
        None,
        _write_work(runs, None, "local disk, default settings") + "; the store the figures below use",
    )
    compact = Row(
        f"eventlog compact, {label} as written",
        "s",
        None,
        None,
        f"eventlog {_n(runs)} runs / MLflow has no compaction; `eventlog compact <copy of the store>` in a "
        "child process, default settings; the child's wall time",
        higher_is_better=False,
        budget=COMPACT_BUDGET_S,
    )
    rss = Row(
        "  peak RSS of that compaction",
        "GiB",
        None,
        None,
        "the compaction child's own VmHWM",
        higher_is_better=False,
        budget=COMPACT_RSS_BUDGET_GIB,
    )
    placeholder = f"eventlog {_n(runs)} runs"
    settled_label = f"{label}, compacted, folded segments removed"
    retention_label = f"{label}, compacted, during retention (folded segments present)"
    auto_label = f"{label} as written (compacted by the writer)"
    searches = [
        *_pending(settled_label, placeholder, BIG_COLD_BUDGET_S, BIG_WARM_BUDGET_S, query_budget=True),
        *_pending(retention_label, placeholder, BIG_COLD_BUDGET_S, BIG_WARM_BUDGET_S, query_budget=True),
    ]
    as_written = _pending(auto_label, placeholder, BIG_COLD_BUDGET_S, BIG_WARM_BUDGET_S, query_budget=True)
    try:
        default = _big_store(runs, "default", {})
    except (RuntimeError, KeyError, ValueError, OSError) as exc:
        return _failed([write, compact, rss, *searches, *as_written], exc)
    when = (
        f"cached: written {default.written_at} by an earlier invocation, same library source"
        if default.cached
        else "written by this invocation"
    )
    write = replace(
        write,
        eventlog=default.written.rate,
        note=f"{when}; {default.written.describe()}; peak RSS {default.written.rss_bytes / 2**20:,.0f} MiB",
    )
    auto = bool(default.committed)
    try:
        # The compaction is measured on a store nobody compacted: the default one, unless the writer
        # compacted it on its own; then the same workload written with EVENTLOG_AUTO_COMPACT=0.
        source = default if not auto else _big_store(runs, "noauto", {"EVENTLOG_AUTO_COMPACT": "0"})
        values = real_values(SEED, runs)
        expected = _expected(values, source.written.run_ids)
        what = "as written" if source is default else "written with EVENTLOG_AUTO_COMPACT=0"
        with _scratch("big") as scratch:
            copy = scratch / "store"
            shutil.copytree(source.written.uri, copy, copy_function=os.link)
            _log(f"eventlog compact of the {runs:,}-run store ({what}) ...")
            child, results = gen.compact_cli(copy)
            quarantined = {k: v for r in results for k, v in (r.get("quarantined") or {}).items()}
            if quarantined:
                raise RuntimeError(
                    f"eventlog compact quarantined {len(quarantined)} segment(s): {quarantined}"
                )
            folded = sum(int(r.get("segments", 0)) for r in results)
            events = sum(int(r.get("events", 0)) for r in results)
            inner = sum(float(r.get("seconds", 0.0)) for r in results)
            compact = replace(
                compact,
                name=f"eventlog compact, {label} {what}",
                eventlog=child.wall_s,
                note=f"compact_stream {inner:.2f} s; {folded:,} segments, {events:,} events folded",
            )
            rss = replace(rss, eventlog=child.max_rss_bytes / 2**30)
            db, db_experiment = _cached_sqlite(source, copy)
            _log("searching the compacted store during the retention period ...")
            el_retention = _search(EVENTLOG, str(copy), source.written.experiment_id, expected)
            _log(f"searching MLflow's database of the {runs:,} runs ...")
            ml = _search(MLFLOW, str(db), db_experiment, expected)
            removed = gen.run_child(
                [sys.executable, "-m", "eventlog.cli", "compact", str(copy), "--retention", "0", "--json"]
            )
            gone = sum(int(r.get("removed_segments", 0)) for r in json.loads(removed.stdout.splitlines()[-1]))
            _log("searching the compacted store, folded segments removed ...")
            el_settled = _search(EVENTLOG, str(copy), source.written.experiment_id, expected)
            _verify(replace(source.written, uri=str(copy)))
        where = f"the store {what}, compacted by `eventlog compact`"
        ml_note = "MLflow: the same runs in its sqlite database, as above"
        searches = [
            *_search_rows(
                settled_label,
                runs,
                el_settled,
                ml,
                expected,
                BIG_COLD_BUDGET_S,
                BIG_WARM_BUDGET_S,
                f"{where}, then `eventlog compact --retention 0` (removed {gone:,} folded segments)",
                ml_note,
                query_budget=True,
            ),
            *_search_rows(
                retention_label,
                runs,
                el_retention,
                ml,
                expected,
                BIG_COLD_BUDGET_S,
                BIG_WARM_BUDGET_S,
                f"{where} (default retention: folded segments kept 1 h)",
                ml_note,
                query_budget=True,
            ),
        ]
        compact = replace(
            compact, note=compact.note + f"; all {runs:,} runs of the compacted store read back and checked"
        )
    except (RuntimeError, KeyError, ValueError, OSError) as exc:
        compact, rss, *searches = _failed([compact, rss, *searches], exc)
        ml = None
    if not auto:
        why = (
            "the writer left no committed view (the library did not compact on its own)"
            if default.committed == 0
            else "could not tell whether the writer compacted (the views API did not answer)"
        )
        as_written = [
            Row(
                f"search_runs, {label} as written",
                "s",
                None,
                None,
                placeholder,
                higher_is_better=False,
                note=f"skipped: {why}; the compacted figures above are the store's search figures",
            )
        ]
    else:
        try:
            _log("searching the store as the writer left it (compacted by the writer) ...")
            auto_expected = _expected(values, default.written.run_ids)
            el_auto = _search(EVENTLOG, default.written.uri, default.written.experiment_id, auto_expected)
            as_written = _search_rows(
                auto_label,
                runs,
                el_auto,
                None,
                auto_expected,
                BIG_COLD_BUDGET_S,
                BIG_WARM_BUDGET_S,
                f"the store the write workload left, {default.committed} committed view(s) of its own",
                "MLflow's figures: see the rows above (its database holds the other store's runs)",
                query_budget=True,
            )
        except (RuntimeError, KeyError, ValueError, OSError) as exc:
            as_written = _failed(as_written, exc)
    return [write, compact, rss, *searches, *as_written]


# -- the table ---------------------------------------------------------------------------------------------
def real_figures(scale: float = 1.0) -> list[Row]:
    sizes = RealSizes().scaled(scale)
    _log(f"before: {load_line()}")
    with _scratch("write") as home:
        written, rows = _write_rows(sizes, home)
        rows += _small_search_rows(sizes, written, home)
    rows += _big_rows(sizes)
    _log(f"after: {load_line()}")
    return rows


def _budget(row: Row) -> str:
    if row.error:
        return "FAILED"
    if row.budget is None:
        return ""
    sign = ">=" if row.higher_is_better else "<="
    return f"{sign} {_value(row.budget, row.unit)} {'ok' if row.ok else 'MISSED'}"


def format_rows(rows: list[Row]) -> list[str]:
    """The table, as bench/_versus.format_comparisons prints its own: figure, eventlog, MLflow, ratio and
    eventlog's budget; under each row its workload and note (or why it failed)."""
    width = max(len(r.name) for r in rows)
    head = f"{'stores written through MlflowClient':<{width}}  {'eventlog':>18}  {'MLflow':>18}  {'ratio':>8}"
    lines = [head + "  budget (eventlog)", "-" * (len(head) + 32)]
    for r in rows:
        ratio = "-" if r.ratio is None else _ratio(r.ratio)
        lines.append(
            f"{r.name:<{width}}  {_value(r.eventlog, r.unit):>18}  {_value(r.mlflow, r.unit):>18}  "
            f"{ratio:>8}  {_budget(r)}".rstrip()
        )
        detail = "; ".join(x for x in (r.workload, r.error or r.note) if x)
        lines.append(f"    {detail}")
    return lines
