"""search_runs has one road: MlflowClient / fluent -> TrackingStore.search_runs -> views.search_runs, which
takes one snapshot of each partition and hands it to the path that runs (in memory or lazily).

- One search lists each partition it searches once (its commit records once, its segments once),
  whatever the store state (segments only, compacted, view + tail), the path (in memory, lazy, in memory
  refused because the partition is over the budget) and the cache (cold or warm).
- ``views.search_runs`` answers the same on both paths, says which one ran, and pages by offset.
- The entry point and the filter exports stay lazy: ``import eventlog`` imports no search module.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from eventlog import MlflowClient
from eventlog.entities import Metric, Param, RunTag, ViewType

BASE = 1_700_000_000_000
VAR = "EVENTLOG_SEARCH_MEMORY_ROWS"


def _log(root: str, runs: int = 12) -> tuple[MlflowClient, str]:
    client = MlflowClient(root)
    experiment_id = client.create_experiment("road")
    for i in range(runs):
        run_id = client.create_run(experiment_id, start_time=BASE + i, run_name=f"r{i}").info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric("loss", float(i % 5), BASE + i, 0), Metric("acc", i / 10, BASE + i, 1)],
            params=[Param("opt", "adam" if i % 2 else "sgd"), Param("i", str(i))],
            tags=[RunTag("stage", "dev" if i % 3 else "prod")],
        )
        if i == 7:
            client.delete_run(run_id)
    client.flush()
    return client, experiment_id


def _compact(root: str) -> None:
    from eventlog.storage import open_location
    from eventlog.views import compact_stream, store_streams

    location = open_location(root)
    for stream in store_streams(location):
        compact_stream(location, stream)


def _state(root: str, state: str) -> tuple[MlflowClient, str]:
    client, experiment_id = _log(root)
    if state in ("compacted", "tail"):
        _compact(root)
    if state == "tail":
        run_id = client.create_run(experiment_id, start_time=BASE - 5, run_name="tail").info.run_id
        client.log_metric(run_id, "loss", -1.0, timestamp=BASE, step=0)
        client.flush()
    return client, experiment_id


class Listings:
    """Counts, per stream, the segment listings (``Stream.list_segments``) and the listings of its
    commit records (``Location.list_names`` of ``<stream>/commits``): one of each is one snapshot."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from eventlog.storage import Location
        from eventlog.views import Stream

        self.segments: Counter[str] = Counter()
        self.commits: Counter[str] = Counter()
        real_segments = Stream.list_segments
        real_names = Location.list_names

        def list_segments(stream: Any, *args: Any, **kwargs: Any) -> Any:
            self.segments[stream.name] += 1
            return real_segments(stream, *args, **kwargs)

        def list_names(location: Any, rel: str, *args: Any, **kwargs: Any) -> Any:
            if rel.endswith("/commits"):
                self.commits[rel.removesuffix("/commits")] += 1
            return real_names(location, rel, *args, **kwargs)

        monkeypatch.setattr(Stream, "list_segments", list_segments)
        monkeypatch.setattr(Location, "list_names", list_names)

    def clear(self) -> None:
        self.segments.clear()
        self.commits.clear()


@pytest.fixture
def listings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Listings]:
    yield Listings(monkeypatch)


@pytest.mark.parametrize("budget", [None, "0", "1"], ids=["memory", "lazy", "over-budget"])
@pytest.mark.parametrize("state", ["raw", "compacted", "tail"])
def test_one_search_takes_one_snapshot_per_partition(
    store_uri: str, monkeypatch: pytest.MonkeyPatch, listings: Listings, state: str, budget: str | None
) -> None:
    client, experiment_id = _state(store_uri, state)
    if budget is not None:
        monkeypatch.setenv(VAR, budget)
    partition = f"experiments/{experiment_id}"
    for attempt in ("cold", "warm"):
        listings.clear()
        found = client.search_runs(
            [experiment_id], "metrics.loss >= 1", ViewType.ALL, 3, ["metrics.loss DESC"]
        )
        assert len(found) == 3 and found.token is not None
        assert listings.segments == {partition: 1}, (attempt, dict(listings.segments))
        assert listings.commits == {partition: 1}, (attempt, dict(listings.commits))


def test_one_snapshot_per_partition_of_several_and_of_the_fluent_search(
    store_uri: str, listings: Listings
) -> None:
    import eventlog

    client, experiment_id = _log(store_uri)
    other = client.create_experiment("other")
    client.create_run(other, start_time=BASE)
    client.flush()
    listings.clear()
    found = client.search_runs([experiment_id, other, experiment_id], max_results=5)
    assert len(found) == 5
    wanted = {f"experiments/{experiment_id}": 1, f"experiments/{other}": 1}
    assert listings.segments == wanted and listings.commits == wanted

    eventlog.set_tracking_uri(store_uri)
    listings.clear()
    frame = eventlog.search_runs([experiment_id, other])
    assert len(frame) == 12  # 11 active runs and the other experiment's one
    assert listings.segments == wanted and listings.commits == wanted


def _describe(page: Any) -> list[Any]:
    return [
        (info, sorted(params.items()), sorted(tags.items()), metrics)
        for info, params, tags, metrics in zip(page.runs, page.params, page.tags, page.metrics, strict=True)
    ]


@pytest.mark.parametrize("state", ["raw", "compacted", "tail"])
def test_views_entry_point_answers_alike_on_both_paths(store_uri: str, state: str) -> None:
    from eventlog.storage import open_location
    from eventlog.views import RunPage, SegmentCache

    from eventlog import views

    _, experiment_id = _state(store_uri, state)
    location = open_location(store_uri)
    cache = SegmentCache()
    query = {"filter_string": "params.opt = 'adam' OR tags.stage = 'prod'", "order_by": ["metrics.loss"]}
    answers = {}
    for memory_rows in (0, 1, 10**6):
        pages = []
        offset: int | None = 0
        while offset is not None:
            page = views.search_runs(
                location,
                [experiment_id],
                **query,
                stages=("active",),
                max_results=2,
                offset=offset,
                cache=cache,
                memory_rows=memory_rows,
            )
            assert isinstance(page, RunPage)
            assert page.in_memory == (memory_rows == 10**6)
            assert len(page.runs) <= 2
            pages.append(_describe(page))
            assert page.next_offset in (None, offset + 2)
            offset = page.next_offset
        answers[memory_rows] = pages
    assert answers[0] == answers[1] == answers[10**6]
    runs = [run for page in answers[0] for run in page]
    assert runs, "the query finds runs"
    assert all(info[6] == "active" for info, *_ in runs)
    losses = [dict((m[0], m[1]) for m in metrics)["loss"] for *_, metrics in runs]
    assert losses == sorted(losses)

    # Parsed queries are accepted as they are; strings are parsed (and cached) by views.parse_search.
    predicate, order = views.parse_search(query["filter_string"], query["order_by"])
    assert views.parse_search(query["filter_string"], query["order_by"]) == (predicate, order)
    parsed = views.search_runs(location, [experiment_id], predicate, order, max_results=None, cache=cache)
    assert parsed.next_offset is None
    assert _describe(parsed) == runs
    for mixed in ((predicate, query["order_by"]), (query["filter_string"], order)):
        page = views.search_runs(location, [experiment_id], *mixed, max_results=None, cache=cache)
        assert _describe(page) == runs


def test_views_entry_point_with_no_partitions_and_unknown_ones(store_uri: str) -> None:
    from eventlog.storage import open_location

    from eventlog import views

    _log(store_uri)
    location = open_location(store_uri)
    for memory_rows in (0, 10**6):
        for ids in ([], ["987654"]):
            page = views.search_runs(location, ids, memory_rows=memory_rows)
            assert (page.runs, page.next_offset) == ([], None)


def test_filter_exports_are_the_private_modules_objects() -> None:
    import eventlog.views.filter as public
    from eventlog.views.filter import _ast, _numpy, _polars

    assert public.filter_expr is _polars.filter_expr
    assert public.SortSpec is _polars.SortSpec
    assert public.evaluate_columns is _numpy.evaluate
    for name in ("Column", "NumberColumn", "TextColumn", "Unsupported", "sort_rows", "text_column"):
        assert getattr(public, name) is getattr(_numpy, name)
    for name in ("Node", "conj", "columns_of"):
        assert getattr(public, name) is getattr(_ast, name)
    with pytest.raises(AttributeError):
        _ = public.no_such_name


def test_importing_eventlog_imports_no_search_module() -> None:
    code = (
        "import sys, eventlog, eventlog.views, eventlog.views.filter\n"
        "names = ('eventlog.views._search', 'eventlog.views._memory', 'eventlog.views.filter._numpy',\n"
        "         'eventlog.views.filter._polars')\n"
        "print(sorted(n for n in names if n in sys.modules))\n"
        "eventlog.views.search_runs\n"
        "print(sorted(n for n in names if n in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    before, after = done.stdout.strip().splitlines()
    assert before == "[]"
    assert "'eventlog.views._search'" in after and "'eventlog.views._memory'" not in after
