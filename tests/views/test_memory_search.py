"""The in-memory search (views._memory, EVENTLOG_SEARCH_MEMORY_ROWS) answers exactly like the lazy path.

One store, logged through the public API (~200 runs in three experiments: NaN / ±inf / -0.0 / missing
metrics, params and tags with case variants, unicode, LIKE wildcards and the empty string, equal start
times, every status, deleted runs), is searched in three states — as logged (segments only), after
compacting every stream, and after more runs and changes on top of the compaction (view + tail). In each
state a grid of filters x order_bys x page sizes / page walks x run_view_types x experiment selections
runs twice: with ``EVENTLOG_SEARCH_MEMORY_ROWS=0`` (the lazy path of views._search) and unset (in
memory). The two must agree on everything: run ids in order, tokens, every page, each run's info
fields, params, tags, metrics and ``data._metric_objs``; and a sample of the runs must equal what
``get_run`` gives.

Then: a partition over the row budget is searched lazily and answers the same; invalid values of the
variable raise; the per-snapshot cache never goes stale (new segments of this process or of another
one, a compaction by another process); the RunData of a result behaves like get_run's.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import pickle
import random
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import eventlog
from eventlog import MlflowClient
from eventlog.entities import Metric, Param, Run, RunTag, ViewType

BASE = 1_700_000_000_000
VAR = "EVENTLOG_SEARCH_MEMORY_ROWS"


@contextlib.contextmanager
def _budget(value: str | None) -> Iterator[None]:
    """EVENTLOG_SEARCH_MEMORY_ROWS set to ``value`` (unset for None) for the duration."""
    with pytest.MonkeyPatch.context() as patch:
        if value is None:
            patch.delenv(VAR, raising=False)
        else:
            patch.setenv(VAR, value)
        yield


INFO_FIELDS = (
    "run_id",
    "experiment_id",
    "user_id",
    "status",
    "start_time",
    "end_time",
    "lifecycle_stage",
    "artifact_uri",
    "run_name",
)

OPTS = ["Adam", "adam", "ADAM", "sgd", "SGD", "sgd_x", "a%b", "é", "É", "日本", "", " ", "it's", None]
LRS = ["0.1", "0.01", "1", "1e-3", "10", None]
STAGES = ["prod", "Prod", "dev", "stage_1", None]
NOTES = ["50%", "a_b", "axb", 'say "hi"', "back\\slash", None, None]
NAMES = ["alpha", "Alpha", "beta", "run 1", "Ω-run", "q", "a%b"]
USERS = ["ann", "bob", None]
LOSSES: list[list[float]] = [
    [5.0, 2.0],
    [1.0, 3.0],
    [math.nan],
    [1.0, math.nan],
    [math.nan, 0.5],
    [math.inf],
    [-math.inf],
    [-2.5],
    [0.0],
    [-0.0],
    [1e-3],
    [100.0, -100.0],
    [],
]


# ------------------------------------------------------------------------------------------------
# logging the dataset
# ------------------------------------------------------------------------------------------------
@dataclass
class World:
    root: str
    exps: dict[str, str] = field(default_factory=dict)  # label -> experiment id
    runs: dict[str, list[str]] = field(default_factory=dict)  # label -> run ids in creation order
    deleted: list[str] = field(default_factory=list)


def _log_run(client: MlflowClient, world: World, exp: str, i: int, rng: random.Random, *, base: int) -> str:
    start = base + (i // 5) * 1000  # groups of runs share a start time: run_id breaks the tie
    tags: dict[str, str] = {"group": f"g{i % 4}"}
    user = USERS[i % len(USERS)]
    if user is not None:
        tags["mlflow.user"] = user
    run = client.create_run(world.exps[exp], start_time=start, tags=tags, run_name=NAMES[i % len(NAMES)])
    run_id = run.info.run_id
    metrics = [Metric("loss", v, start + step, step) for step, v in enumerate(LOSSES[i % len(LOSSES)])]
    if i % 3 == 0:
        metrics.append(Metric("acc", rng.choice([0.1, 0.5, 0.9, math.nan]), start, 0))
    metrics.append(Metric("a b", float(i % 5), start, rng.choice([0, 1, 2])))
    if exp == "B":
        metrics.append(Metric("only_b", float(i % 3) - 1.0, start, 0))
    params = [Param("seed", str(i))]
    for key, values in (("opt", OPTS), ("lr", LRS)):
        value = values[(i * 7 + len(key)) % len(values)]
        if value is not None:
            params.append(Param(key, value))
    run_tags = []
    for key, values in (("stage", STAGES), ("note", NOTES)):
        value = values[(i * 3 + len(key)) % len(values)]
        if value is not None:
            run_tags.append(RunTag(key, value))
    client.log_batch(run_id, metrics=metrics, params=params, tags=run_tags)
    kind = i % 5
    if kind in (1, 2, 3):
        client.set_terminated(run_id, ["FINISHED", "FAILED", "KILLED"][kind - 1], end_time=start + 10 + i % 7)
    elif kind == 4:
        client.update_run(run_id, status="SCHEDULED")
    if i % 9 == 4:
        client.delete_run(run_id)
        world.deleted.append(run_id)
    world.runs.setdefault(exp, []).append(run_id)
    return run_id


def log_dataset(root: str) -> World:
    client = MlflowClient(root)
    world = World(root)
    for label in ("A", "B", "C"):
        world.exps[label] = client.create_experiment(f"mem-{label}", tags={"label": label})
    rng = random.Random(20240607)
    counts = {"A": 95, "B": 70, "C": 40}
    i = 0
    for exp, count in counts.items():
        for _ in range(count):
            _log_run(client, world, exp, i, rng, base=BASE)
            i += 1
    client.flush()
    return world


def log_more(world: World) -> None:
    """New runs and changes to old ones, on top of a compaction (they land in new segments)."""
    client = MlflowClient(world.root)
    rng = random.Random(7)
    for i in range(30):
        _log_run(client, world, "AC"[i % 2], 1000 + i, rng, base=BASE + 20_000)
    old = world.runs["A"][:40] + world.runs["B"][:20]
    for n, run_id in enumerate(old):
        if run_id in world.deleted:
            if n % 2 == 0:
                client.restore_run(run_id)
                world.deleted.remove(run_id)
            continue
        if n % 4 == 0:
            client.log_metric(run_id, "loss", -1.0 - n, timestamp=BASE + 90_000, step=50)
        if n % 4 == 1:
            client.set_tag(run_id, "stage", "prod" if n % 8 == 1 else "moved")
        if n % 4 == 2:
            client.delete_tag(run_id, "group")
        if n % 6 == 3:
            client.update_run(run_id, name=f"renamed {n}")
        if n % 10 == 5:
            client.set_terminated(run_id, "FINISHED", end_time=BASE + 99_000)
        if n % 7 == 0:
            client.log_param(run_id, "late", f"v{n % 3}")
        if n % 15 == 0:
            client.delete_run(run_id)
            world.deleted.append(run_id)
    client.flush()


def compact_all(root: str) -> None:
    from eventlog.storage import open_location
    from eventlog.views import compact_stream, store_streams

    location = open_location(root)
    for stream in store_streams(location):
        compact_stream(location, stream)


# ------------------------------------------------------------------------------------------------
# what a search answers
# ------------------------------------------------------------------------------------------------
def _v(value: Any) -> Any:
    """A comparable value that keeps its type (1 != 1.0 != True here) and NaN (== itself here)."""
    if isinstance(value, float) and math.isnan(value):
        return ("float", "NaN")
    return (type(value).__name__, value)


def _metric(m: Any) -> tuple[Any, ...]:
    return (type(m).__name__, _v(m.key), _v(m.value), _v(m.timestamp), _v(m.step), dict_of(m))


def dict_of(entity: Any) -> list[tuple[str, Any]]:
    return [(k, _v(v)) for k, v in dict(entity).items()]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return sorted((k, _plain(v)) for k, v in value.items())
    return _v(value)


def describe(run: Run, *, metric_order: bool = True) -> tuple[Any, ...]:
    """Everything a caller can read of a Run: info fields (with their types), params, tags, metrics,
    the Metric objects (in order, or sorted by key with ``metric_order=False``), dict(run.data) and
    to_dictionary()."""
    info = run.info
    data = run.data
    metric_objs = [_metric(m) for m in data._metric_objs]
    return (
        tuple((name, _v(getattr(info, name))) for name in INFO_FIELDS),
        dict_of(info),
        _plain(data.params),
        _plain(data.tags),
        _plain(data.metrics),
        metric_objs if metric_order else sorted(metric_objs, key=lambda m: m[1]),
        _plain(dict(data)),
        _plain(data.to_dictionary()),
        type(run.inputs).__name__,
        type(run.outputs).__name__,
    )


@dataclass(frozen=True)
class Query:
    experiments: tuple[str, ...]  # labels; "?" is an experiment id that does not exist
    filter_string: str
    order_by: tuple[str, ...] | None
    view: int
    max_results: int | None
    pages: int  # how many pages to walk at most


Page = tuple[list[str], Any, list[tuple[Any, ...]]]  # run ids, token, described runs


def run_query(client: MlflowClient, world: World, query: Query) -> list[Page] | tuple[str, str]:
    ids = [world.exps.get(label, "987654") for label in query.experiments]
    pages: list[Page] = []
    token = None
    try:
        for _ in range(query.pages):
            found = client.search_runs(
                ids,
                query.filter_string,
                query.view,
                query.max_results,
                list(query.order_by) if query.order_by is not None else None,
                token,
            )
            pages.append(([r.info.run_id for r in found], found.token, [describe(r) for r in found]))
            token = found.token
            if not token:
                break
    except Exception as exc:  # both paths must fail the same way
        return (type(exc).__name__, str(exc))
    return pages


def both_ways(client: MlflowClient, world: World, query: Query, memory_first: bool = True) -> tuple[Any, Any]:
    """(lazy answer, in-memory answer) of one query."""
    answers: dict[str, Any] = {}
    order = ("memory", "lazy") if memory_first else ("lazy", "memory")
    for mode in order:
        with pytest.MonkeyPatch.context() as patch:
            if mode == "lazy":
                patch.setenv(VAR, "0")
            else:
                patch.delenv(VAR, raising=False)
            answers[mode] = run_query(client, world, query)
    return answers["lazy"], answers["memory"]


def assert_same(lazy: Any, memory: Any, label: str = "") -> None:
    if isinstance(lazy, tuple) or isinstance(memory, tuple):
        assert memory == lazy, label
        return
    ids_lazy = [(p[0], p[1]) for p in lazy]
    ids_memory = [(p[0], p[1]) for p in memory]
    assert ids_memory == ids_lazy, f"{label}: run ids / tokens differ"
    for page_lazy, page_memory in zip(lazy, memory, strict=True):
        for run_id, want, got in zip(page_lazy[0], page_lazy[2], page_memory[2], strict=True):
            assert got == want, f"{label}: contents of run {run_id} differ"


# ------------------------------------------------------------------------------------------------
# the grid
# ------------------------------------------------------------------------------------------------
def filters(world: World) -> dict[str, str]:
    some = world.runs["A"][3:6] + world.runs["B"][:1]
    in_list = ", ".join(f"'{r}'" for r in some)
    return {
        "none": "",
        "loss_lt": "metrics.loss < 1",
        "loss_ne": "metrics.loss != 0.5",
        "loss_eq_zero": "metrics.loss = 0",
        "loss_inf": "metrics.loss >= 1e999 OR metrics.loss <= -1e999",
        "acc_or_opt": "metrics.acc >= 0.5 OR params.opt = 'adam'",
        "a_b": "metrics.`a b` = 2 AND params.lr = '0.01'",
        "only_b": "metrics.only_b > -1",
        "opt_like": "params.opt LIKE 'a%'",
        "opt_ilike": "params.opt ILIKE '%A%'",
        "opt_empty": "params.opt = ''",
        "opt_in": "params.opt IN ('Adam', 'sgd', 'é', '日本')",
        "opt_not_in": "params.opt NOT IN ('Adam', 'sgd')",
        "opt_wild": "params.opt LIKE '%\\%%' OR params.opt LIKE 'sgd_x'",
        "stage_null": "tags.stage IS NULL",
        "stage_finished": "tags.stage IS NOT NULL AND attributes.status = 'FINISHED'",
        "status_ne": "attributes.status != 'RUNNING'",
        "status_in": "attributes.status IN ('FAILED', 'KILLED', 'SCHEDULED')",
        "name_like": "attributes.run_name LIKE '%a%' AND tags.group != 'g1'",
        "name_ilike": "attributes.run_name ILIKE 'ALPHA'",
        "start_gt": f"attributes.start_time > {BASE + 15_000}",
        "end_le": f"attributes.end_time <= {BASE + 30_000}",
        "user": "attributes.user_id = 'ann' OR tags.`mlflow.user` = 'bob'",
        "run_id_in": f"attributes.run_id IN ({in_list})",
        "nested": "tags.group = 'g1' AND (metrics.loss > 1 OR metrics.loss < -1) OR params.lr = '10'",
        "missing_key": "params.never = 'x'",
        "missing_null": "params.never IS NULL AND tags.note IS NOT NULL",
        "late": "params.late LIKE 'v%'",
        "artifact": "attributes.artifact_uri LIKE '%/artifacts' AND attributes.run_name != 'q'",
        "note_quote": "tags.note = 'say \"hi\"' OR tags.note LIKE '%\\\\%'",
    }


ORDERS: list[tuple[str, ...] | None] = [
    None,
    ("metrics.loss ASC",),
    ("metrics.loss DESC", "params.opt"),
    ("attributes.start_time ASC",),
    ("tags.stage DESC", "attributes.run_name"),
    ("attributes.end_time DESC",),
    ("params.lr", "metrics.acc DESC"),
    ("attributes.status", "metrics.never"),
    ("metrics.`a b` DESC", "params.opt DESC", "attributes.start_time DESC"),
    ("params.opt ASC", "tags.note"),
    ("params.late DESC", "tags.note ASC", "metrics.only_b"),
    ("attributes.user_id DESC", "attributes.run_id DESC"),
]
VIEWS = [ViewType.ACTIVE_ONLY, ViewType.DELETED_ONLY, ViewType.ALL]
SELECTIONS: list[tuple[str, ...]] = [("A",), ("A", "B"), ("C", "B", "A"), ("A", "A", "?"), ("B",), ("C", "A")]
PAGINGS: list[tuple[int | None, int]] = [(None, 1), (1000, 1), (40, 3), (1, 3), (9, 2)]


def grid(world: World, state: int) -> dict[str, Query]:
    """Every filter with one order_by, every order_by with one more filter; the other dimensions rotate
    (differently in each state, so that the three states together cover more combinations)."""
    queries: dict[str, Query] = {}
    fs = list(filters(world).items())
    for i, (fid, text) in enumerate(fs):
        j = (i + 3 * state) % len(ORDERS)
        mr, pages = PAGINGS[(i + state) % len(PAGINGS)]
        queries[f"{fid}-o{j}"] = Query(
            SELECTIONS[(i + 2 * state) % len(SELECTIONS)],
            text,
            ORDERS[j],
            VIEWS[(i // len(PAGINGS) + state) % len(VIEWS)],
            mr,
            pages,
        )
    for j, order in enumerate(ORDERS):
        fid, text = fs[(7 * j + state) % len(fs)]
        mr, pages = PAGINGS[(j + 2 + state) % len(PAGINGS)]
        view = VIEWS[(j + state) % len(VIEWS)]
        selection = SELECTIONS[(j + 1 + state) % len(SELECTIONS)]
        queries[f"{fid}-o{j}-v{view}"] = Query(selection, text, order, view, mr, pages)
    return queries


STATES = ("raw", "compacted", "tail")


@dataclass
class Outcomes:
    answers: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)  # state -> qid -> pair
    get_run: dict[str, list[tuple[str, Any, Any]]] = field(default_factory=dict)  # state -> (id, search, get)
    pandas: dict[str, list[tuple[str, Any, Any]]] = field(default_factory=dict)  # state -> (label, lazy, mem)
    in_memory: dict[str, tuple[int, int]] = field(default_factory=dict)  # state -> (searches, pages)


def _clean_env(patch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("EVENTLOG_", "MLFLOW_")):
            patch.delenv(name, raising=False)


def _fluent_frames(world: World) -> list[tuple[str, Any, Any]]:
    """Fluent search_runs (pandas) through set_tracking_uri, both ways."""
    eventlog.set_tracking_uri(world.root)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("all", {"search_all_experiments": True, "run_view_type": ViewType.ALL}),
        ("names", {"experiment_names": ["mem-A", "mem-C"], "filter_string": "metrics.loss != 0.5"}),
        ("ids", {"experiment_ids": [world.exps["B"]], "order_by": ["metrics.loss DESC"], "max_results": 9}),
    ]
    out = []
    for label, kwargs in calls:
        frames = []
        for value in ("0", None):
            with _budget(value):
                frames.append(eventlog.search_runs(**kwargs))
        out.append((label, frames[0], frames[1]))
    eventlog.set_tracking_uri(None)
    return out


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcomes]:
    from eventlog._reset import reset_process_state

    root = str(tmp_path_factory.mktemp("memory-search") / "store")
    result = Outcomes()
    with pytest.MonkeyPatch.context() as patch:
        _clean_env(patch)
        reset_process_state()
        spy = Spy(patch)
        world = log_dataset(root)
        client = MlflowClient(root)
        sampled: set[str] = set()
        for s, state in enumerate(STATES):
            if state == "compacted":
                compact_all(root)
            elif state == "tail":
                log_more(world)
            # The first search of a compacted partition in a process scans its files (views._search
            # _first_look); from the next one on it is searched in memory, which is what the grid checks.
            with pytest.MonkeyPatch.context() as inner:
                inner.delenv(VAR, raising=False)
                client.search_runs(list(world.exps.values()), "", ViewType.ALL)
            answers = {}
            searches = spy.searches
            for n, (qid, query) in enumerate(grid(world, s).items()):
                answers[qid] = both_ways(client, world, query, memory_first=n % 2 == 0)
            result.answers[state] = answers
            pages = sum(len(memory) for _, memory in answers.values() if isinstance(memory, list))
            result.in_memory[state] = (spy.searches - searches, pages)
            # A sample of the result runs, in memory, against get_run.
            with pytest.MonkeyPatch.context() as inner:
                inner.delenv(VAR, raising=False)
                found = client.search_runs(
                    list(world.exps.values()), "", ViewType.ALL, None, ["metrics.loss DESC"]
                )
            pool = [r for r in found if r.info.run_id not in sampled]
            picks = pool[:: max(1, len(pool) // 25)]
            # get_run lists a run's Metric objects in fold order, the search (either path) by key.
            result.get_run[state] = [
                (
                    r.info.run_id,
                    describe(r, metric_order=False),
                    describe(client.get_run(r.info.run_id), metric_order=False),
                )
                for r in picks
            ]
            sampled.update(r.info.run_id for r in picks[:10])
            result.pandas[state] = _fluent_frames(world)
        reset_process_state()
    yield result


def _grid_ids(state: int) -> list[str]:
    world = World("")
    world.runs = {"A": [f"{i:032x}" for i in range(10)], "B": ["b" * 32]}
    return list(grid(world, state))


@pytest.mark.parametrize(
    ("state", "qid"), [(state, qid) for s, state in enumerate(STATES) for qid in _grid_ids(s)]
)
def test_memory_search_equals_lazy(outcomes: Outcomes, state: str, qid: str) -> None:
    lazy, memory = outcomes.answers[state][qid]
    assert_same(lazy, memory, f"{state} {qid}")


def test_the_grid_finds_runs(outcomes: Outcomes) -> None:
    """Guard against a vacuous grid: most queries find runs, several walk more than one page, none
    fails, and every search with the variable unset really took the in-memory path."""
    for state in STATES:
        answers = outcomes.answers[state]
        nonempty = [q for q, (lazy, _) in answers.items() if isinstance(lazy, list) and lazy[0][0]]
        multi = [q for q, (lazy, _) in answers.items() if isinstance(lazy, list) and len(lazy) > 1]
        assert len(nonempty) > 0.7 * len(answers), state
        assert len(multi) >= 5, state
        assert not [q for q, (lazy, _) in answers.items() if isinstance(lazy, tuple)], state
        searches, pages = outcomes.in_memory[state]
        assert searches == pages, f"{state}: not every unset-variable search ran in memory"


@pytest.mark.parametrize("state", STATES)
def test_search_results_equal_get_run(outcomes: Outcomes, state: str) -> None:
    checks = outcomes.get_run[state]
    assert len(checks) >= 20
    for run_id, searched, got in checks:
        assert searched == got, run_id


@pytest.mark.parametrize("state", STATES)
def test_fluent_pandas_frames_equal(outcomes: Outcomes, state: str) -> None:
    import pandas.testing

    for label, lazy, memory in outcomes.pandas[state]:
        assert len(lazy) > 0, label
        pandas.testing.assert_frame_equal(memory, lazy, check_exact=True, obj=f"{state} {label}")


# ------------------------------------------------------------------------------------------------
# budget and the variable
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """30 runs in two experiments, logged as the big dataset is (once; tests get copies)."""
    from eventlog._reset import reset_process_state

    root = str(tmp_path_factory.mktemp("small-template") / "small")
    with pytest.MonkeyPatch.context() as patch:
        _clean_env(patch)
        reset_process_state()
        client = MlflowClient(root)
        world = World(root)
        for label in ("A", "B"):
            world.exps[label] = client.create_experiment(f"small-{label}")
        rng = random.Random(3)
        for i in range(30):
            _log_run(client, world, "AB"[i % 2], i, rng, base=BASE)
        client.flush()
        reset_process_state()
    yield world


@pytest.fixture
def small_world(small_template: World, tmp_path: Path) -> World:
    root = str(tmp_path / "small")
    shutil.copytree(small_template.root, root)
    return World(
        root,
        dict(small_template.exps),
        {k: list(v) for k, v in small_template.runs.items()},
        list(small_template.deleted),
    )


SMALL_QUERIES = [
    Query(("A",), "", None, ViewType.ALL, 7, 10),
    Query(("A", "B"), "metrics.loss != 0.5 OR params.opt ILIKE 'a%'", ("metrics.loss DESC",), 1, 4, 10),
    Query(("B", "A"), "tags.stage IS NULL", ("params.opt", "attributes.run_name DESC"), 3, None, 1),
]


class Spy:
    """Counts in-memory searches and MemoryPartition builds."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import eventlog.views._memory as memory

        self.searches = 0
        self.builds = 0
        real_search = memory.search_in_memory
        real_init = memory.MemoryPartition.__init__

        def search(*args: Any, **kwargs: Any) -> Any:
            self.searches += 1
            return real_search(*args, **kwargs)

        def init(part: Any, *args: Any, **kwargs: Any) -> None:
            self.builds += 1
            real_init(part, *args, **kwargs)

        monkeypatch.setattr(memory, "search_in_memory", search)
        monkeypatch.setattr(memory.MemoryPartition, "__init__", init)


def test_the_first_search_of_a_compacted_partition_scans_and_the_next_ones_are_in_memory(
    small_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    compact_all(small_world.root)
    lazy = _answers(small_world, "0")
    from eventlog._reset import reset_process_state

    reset_process_state()  # a fresh process's caches
    spy = Spy(monkeypatch)
    answers = _answers(small_world, None)
    pages = sum(len(pages) for pages in answers)
    assert pages > len(SMALL_QUERIES)
    # Every page in memory but two: the first query's first page (first look at A) and the second
    # query's (A and B: a first look at B).
    assert [q.experiments[:2] for q in SMALL_QUERIES[:2]] == [("A",), ("A", "B")]
    assert spy.searches == pages - 2 and spy.builds >= 1
    for want, got in zip(lazy, answers, strict=True):
        assert_same(want, got)
    for label in ("A", "B"):  # a tail in both: folded in memory from the first search on
        MlflowClient(small_world.root).set_tag(small_world.runs[label][0], "stage", "later")
    spy.searches = 0
    answers = _answers(small_world, None)
    assert spy.searches == sum(len(pages) for pages in answers)


def _answers(world: World, value: str | None) -> list[Any]:
    client = MlflowClient(world.root)
    out = []
    for query in SMALL_QUERIES:
        with _budget(value):
            out.append(run_query(client, world, query))
    return out


def test_partition_over_budget_searches_lazily_with_the_same_answers(
    small_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    compact_all(small_world.root)
    lazy = _answers(small_world, "0")
    spy = Spy(monkeypatch)
    over = _answers(small_world, "10")  # a partition of 15 runs holds far more than 10 rows
    assert spy.searches == 0 and spy.builds == 0
    for want, got in zip(lazy, over, strict=True):
        assert_same(want, got)


def test_partition_within_budget_searches_in_memory_with_the_same_answers(
    small_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    compact_all(small_world.root)
    lazy = _answers(small_world, "0")
    _answers(small_world, None)  # this process's first look at the compacted partitions: scanned
    spy = Spy(monkeypatch)
    for value in (None, "100000"):
        for want, got in zip(lazy, _answers(small_world, value), strict=True):
            assert_same(want, got)
    assert spy.searches == 2 * sum(len(pages) for pages in lazy)  # one per page
    # One per partition for the budget not used before (the budget is part of the cache key), then cached.
    assert spy.builds == 2


@pytest.mark.parametrize("compacted", [False, True])
def test_explicit_page_tokens_and_limits(small_world: World, compacted: bool) -> None:
    """Tokens at any offset (mid-page, at the end, past it), the largest max_results, bad tokens."""
    from eventlog._experiment_search import encode_page_token

    if compacted:
        compact_all(small_world.root)
    client = MlflowClient(small_world.root)
    ids = [small_world.exps["B"], small_world.exps["A"]]
    cases: list[tuple[int | None, Any]] = [
        (4, encode_page_token(3)),
        (7, encode_page_token(14)),
        (1, encode_page_token(29)),
        (5, encode_page_token(30)),
        (5, encode_page_token(500)),
        (None, encode_page_token(11)),
        (50_000, None),
        (50_001, None),
        (5, b"not base64!"),
        (5, encode_page_token(-1)),
    ]
    for max_results, token in cases:
        answers = []
        for value in ("0", None):
            with _budget(value):
                try:
                    found = client.search_runs(ids, "", ViewType.ALL, max_results, ["metrics.loss"], token)
                    answers.append(([describe(r) for r in found], found.token))
                except Exception as exc:
                    answers.append((type(exc).__name__, str(exc)))
        assert answers[1] == answers[0], (max_results, token)


@pytest.mark.parametrize("state", ["raw", "tail"])
def test_partition_over_budget_with_a_tail_gives_the_same_answers(small_world: World, state: str) -> None:
    if state == "tail":
        compact_all(small_world.root)
        client = MlflowClient(small_world.root)
        client.create_run(small_world.exps["A"], start_time=BASE - 5, run_name="tail run")
        client.flush()
    lazy = _answers(small_world, "0")
    for value in ("10", "1", None):
        for want, got in zip(lazy, _answers(small_world, value), strict=True):
            assert_same(want, got, f"{state} {value}")


@pytest.mark.parametrize("state", ["raw", "compacted", "tail"])
def test_memory_partition_is_none_over_the_budget(small_world: World, state: str) -> None:
    """memory_partition's contract: None when the partition holds more than max_rows rows, whatever
    the store state (EVENTLOG_SEARCH_MEMORY_ROWS documents the budget without exceptions)."""
    from eventlog.storage import open_location
    from eventlog.views._memory import memory_partition
    from eventlog.views._snapshot import SegmentCache

    if state != "raw":
        compact_all(small_world.root)
    if state == "tail":
        MlflowClient(small_world.root).create_run(small_world.exps["A"], run_name="tail run")
        MlflowClient(small_world.root).flush()
    location = open_location(small_world.root)
    experiment_id = small_world.exps["A"]
    whole = memory_partition(location, experiment_id, SegmentCache(), 10**9)
    assert whole is not None and whole.rows > 10
    assert memory_partition(location, experiment_id, SegmentCache(), whole.rows) is not None
    assert memory_partition(location, experiment_id, SegmentCache(), whole.rows - 1) is None


def test_memory_partition_budget_applies_to_a_cached_partition(small_world: World) -> None:
    """The partition cache is keyed by snapshot: a partition built under a large budget must not be
    handed out under a budget it exceeds (nor a None built under a small one kept for a large one)."""
    from eventlog.storage import open_location
    from eventlog.views._memory import memory_partition
    from eventlog.views._snapshot import SegmentCache

    compact_all(small_world.root)
    location = open_location(small_world.root)
    experiment_id = small_world.exps["A"]
    cache = SegmentCache()
    whole = memory_partition(location, experiment_id, cache, 10**9)
    assert whole is not None
    assert memory_partition(location, experiment_id, cache, 1) is None
    other = SegmentCache()
    assert memory_partition(location, experiment_id, other, 1) is None
    assert memory_partition(location, experiment_id, other, 10**9) is not None


@pytest.mark.parametrize("first", ["large", "small"])
def test_changing_the_budget_in_process_takes_effect(
    small_world: World, monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    """The variable is read per search: after searches under one budget, searches under the other must
    follow the new budget (lazy when it is too small, in memory when it is large enough)."""
    compact_all(small_world.root)
    budgets = {"large": None, "small": "10"}
    second = "small" if first == "large" else "large"
    _answers(small_world, budgets[first])
    spy = Spy(monkeypatch)
    pages = sum(len(answer) for answer in _answers(small_world, budgets[second]))
    assert spy.searches == (0 if second == "small" else pages)


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "-0x1"])
def test_invalid_budget_raises_naming_the_variable(
    small_world: World, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    client = MlflowClient(small_world.root)
    monkeypatch.setenv(VAR, value)
    with pytest.raises(ValueError, match=VAR):
        client.search_runs([small_world.exps["A"]])
    from eventlog._config import search_memory_rows

    with pytest.raises(ValueError, match=VAR):
        search_memory_rows()


@pytest.mark.parametrize(("value", "expected"), [("", 2_000_000), ("0", 0), ("17", 17), (None, 2_000_000)])
def test_budget_values(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: int) -> None:
    from eventlog._config import search_memory_rows

    if value is None:
        monkeypatch.delenv(VAR, raising=False)
    else:
        monkeypatch.setenv(VAR, value)
    assert search_memory_rows() == expected


# ------------------------------------------------------------------------------------------------
# the cache never goes stale
# ------------------------------------------------------------------------------------------------
STALE_QUERIES = [
    Query(("A",), "", ("metrics.loss ASC",), ViewType.ACTIVE_ONLY, None, 1),
    Query(("A", "B"), "params.opt = 'child'", None, ViewType.ALL, 3, 10),
    Query(("A", "B"), "", ("attributes.start_time DESC",), ViewType.DELETED_ONLY, 1000, 1),
]


def _memory_answers(world: World) -> list[Any]:
    """Every STALE_QUERY in memory, checked against the lazy answer."""
    client = MlflowClient(world.root)
    out = []
    for query in STALE_QUERIES:
        lazy, memory = both_ways(client, world, query)
        assert_same(lazy, memory, repr(query))
        out.append(memory)
    return out


def _ids(answer: Any) -> list[str]:
    return [run_id for page in answer for run_id in page[0]]


@pytest.mark.parametrize("state", ["raw", "compacted"])
def test_search_sees_what_this_process_logs_next(
    small_world: World, state: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if state == "compacted":
        compact_all(small_world.root)
    spy = Spy(monkeypatch)
    client = MlflowClient(small_world.root)
    before = _memory_answers(small_world)
    assert spy.searches > 0
    victim = _ids(before[0])[0]
    run = client.create_run(small_world.exps["A"], start_time=BASE + 999_999, run_name="next")
    client.log_batch(run.info.run_id, metrics=[Metric("loss", -1e300, 1, 0)], params=[Param("opt", "child")])
    client.delete_run(victim)
    client.log_metric(_ids(before[0])[1], "loss", -1e301, timestamp=2, step=99)
    after = _memory_answers(small_world)
    first = _ids(after[0])
    assert first[0] == _ids(before[0])[1] and first[1] == run.info.run_id
    assert victim not in first
    assert _ids(after[1]) == [run.info.run_id]
    assert victim in _ids(after[2])


CHILD = textwrap.dedent(
    """
    import sys
    from eventlog import MlflowClient
    from eventlog.entities import Metric, Param

    root, experiment_id, victim, action = sys.argv[1:5]
    client = MlflowClient(root)
    if action == "log":
        run = client.create_run(experiment_id, start_time=1, run_name="from child")
        client.log_batch(
            run.info.run_id, metrics=[Metric("loss", -1e300, 1, 0)], params=[Param("opt", "child")]
        )
        client.delete_run(victim)
        client.flush()
        print(run.info.run_id)
    else:
        from eventlog.storage import open_location
        from eventlog.views import compact_stream, store_streams

        location = open_location(root)
        for stream in store_streams(location):
            compact_stream(location, stream, retention_s=0)
        print("compacted")
    """
)


def _child(world: World, victim: str, action: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTLOG_", "MLFLOW_"))}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, world.root, world.exps["A"], victim, action],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("state", ["raw", "compacted"])
def test_search_sees_what_another_process_logs_and_compacts(
    small_world: World, state: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if state == "compacted":
        compact_all(small_world.root)
    spy = Spy(monkeypatch)
    before = _memory_answers(small_world)
    victim = _ids(before[0])[0]
    new_id = _child(small_world, victim, "log", tmp_path)
    searched = spy.searches
    after = _memory_answers(small_world)
    # With the other process's segments as a tail, every page is searched in memory.
    assert spy.searches - searched >= len(STALE_QUERIES)
    assert _ids(after[0])[0] == new_id
    assert victim not in _ids(after[0])
    assert _ids(after[1]) == [new_id]
    assert victim in _ids(after[2])
    # Another process compacts (retention 0: the segments this process last read are removed).
    assert _child(small_world, victim, "compact", tmp_path) == "compacted"
    compacted = _memory_answers(small_world)
    assert [_ids(a) for a in compacted] == [_ids(a) for a in after]


def test_concurrent_in_memory_searches_agree(small_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Threads searching one cached partition at once (columns built on first use, under a lock) give
    the answers of one thread searching alone."""
    from concurrent.futures import ThreadPoolExecutor

    compact_all(small_world.root)
    monkeypatch.delenv(VAR, raising=False)
    queries = [
        Query(("A", "B"), f, o, ViewType.ALL, 6, 10)
        for f in ("", "params.opt LIKE '%a%'", "metrics.loss > 0 OR tags.stage = 'dev'")
        for o in (None, ("metrics.acc DESC",), ("params.lr", "tags.note DESC"), ("metrics.`a b`",))
    ]
    client = MlflowClient(small_world.root)
    alone = [run_query(client, small_world, q) for q in queries]
    fresh = World(small_world.root + "/", small_world.exps)  # another store object: a cold cache
    fresh_client = MlflowClient(fresh.root)
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda q: run_query(fresh_client, fresh, q), queries * 3))
    for n, answer in enumerate(together):
        assert_same(alone[n % len(queries)], answer, repr(queries[n % len(queries)]))


# ------------------------------------------------------------------------------------------------
# the RunData of a result
# ------------------------------------------------------------------------------------------------
def _one_run_store(root: str) -> tuple[MlflowClient, str, str]:
    client = MlflowClient(root)
    experiment_id = client.create_experiment("data")
    run = client.create_run(experiment_id, start_time=BASE, run_name="r", tags={"t": "1"})
    run_id = run.info.run_id
    client.log_batch(
        run_id,
        metrics=[
            Metric("loss", 3.0, BASE, 0),
            Metric("loss", 1.5, BASE + 1, 1),
            Metric("nan", math.nan, BASE, 0),
            Metric("inf", -math.inf, BASE + 3, 7),
        ],
        params=[Param("p", "x"), Param("empty", "")],
        tags=[RunTag("note", "é")],
    )
    client.create_run(experiment_id, start_time=BASE - 1, run_name="bare")
    client.flush()
    return client, experiment_id, run_id


@pytest.mark.parametrize("compacted", [False, True])
def test_run_data_of_a_search_result_behaves_like_get_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compacted: bool
) -> None:
    root = str(tmp_path / "data")
    client, experiment_id, run_id = _one_run_store(root)
    if compacted:
        compact_all(root)
    monkeypatch.delenv(VAR, raising=False)
    if compacted:
        client.search_runs([experiment_id])  # this process's first look at the view: scanned, not held
    spy = Spy(monkeypatch)
    found, bare = client.search_runs([experiment_id], order_by=["attributes.start_time DESC"])
    assert spy.searches == 1
    got = client.get_run(run_id)
    assert found.info.run_id == run_id
    assert describe(found) == describe(got)
    assert describe(bare) == describe(client.get_run(bare.info.run_id))
    assert dict(bare.data) == {"metrics": {}, "params": {}, "tags": dict(bare.data.tags)}
    assert bare.data._metric_objs == []

    data = found.data
    assert sorted(dict(data)) == ["metrics", "params", "tags"]
    assert data.to_dictionary()["params"] == {"p": "x", "empty": ""}
    assert data.metrics["loss"] == 1.5 and math.isnan(data.metrics["nan"])
    objs = data._metric_objs
    assert objs is data._metric_objs  # made once
    assert all(isinstance(m, Metric) for m in objs)
    assert sorted((m.key, m.step, m.timestamp) for m in objs) == [
        ("inf", 7, BASE + 3),
        ("loss", 1, BASE + 1),
        ("nan", 0, BASE),
    ]
    assert [m for m in objs if m.key == "loss"] == [m for m in got.data._metric_objs if m.key == "loss"]
    assert repr(data) == repr(got.data)
    assert repr(found) == repr(got)
    assert found.to_dictionary()["data"] == data.to_dictionary()
    assert not hasattr(data, "no_such_attribute")
    with pytest.raises(AttributeError, match="no_such_attribute"):
        _ = data.no_such_attribute

    # Copies and pickles keep everything, the Metric objects included.
    for clone in (copy.deepcopy(found), pickle.loads(pickle.dumps(found)), copy.copy(found)):
        assert describe(clone) == describe(got)

    # Objects handed out are the caller's: changing them changes no later answer.
    data.params["p"] = "changed"
    data.metrics["loss"] = 99.0
    data.tags.clear()
    data._metric_objs.clear()
    again = client.search_runs([experiment_id], order_by=["attributes.start_time DESC"])[0]
    assert describe(again) == describe(client.get_run(run_id))

    # A fresh result whose Metric objects were never asked for pickles with them.
    fresh = client.search_runs([experiment_id], order_by=["attributes.start_time DESC"])[0]
    clone = pickle.loads(pickle.dumps(fresh.data))
    assert [_metric(m) for m in clone._metric_objs] == [_metric(m) for m in got.data._metric_objs]


def test_snapshot_fold_memo_is_bounded_by_entries_and_rows() -> None:
    """SegmentCache.fold keeps results by key within its entry and row budgets, newest first."""
    from eventlog.views._snapshot import SegmentCache

    cache = SegmentCache(max_rows=10, max_folds=3)
    calls: list[str] = []

    def compute(value: str) -> Any:
        def run() -> str:
            calls.append(value)
            return value

        return run

    assert cache.fold(("a",), compute("a"), lambda v: 4) == "a"
    assert cache.fold(("a",), compute("a2"), lambda v: 4) == "a"  # kept: not computed again
    assert cache.fold(("b",), compute("b"), lambda v: 4) == "b"
    assert cache.fold(("c",), compute("c"), lambda v: 4) == "c"  # 12 rows > 10: "a" (oldest) dropped
    assert cache.fold(("a",), compute("a3"), lambda v: 4) == "a3"
    assert calls == ["a", "b", "c", "a3"]
    assert cache.fold(("big",), compute("big"), lambda v: 11) == "big"  # heavier than the budget
    assert cache.fold(("big",), compute("big2"), lambda v: 11) == "big2"  # returned, never kept
    assert cache.fold(("n",), compute("n1"), None) == "n1"
    for key in ("x", "y", "z"):
        cache.fold((key,), compute(key), None)
    assert cache.fold(("n",), compute("n2"), None) == "n2"  # past max_folds entries: dropped
