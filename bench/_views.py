"""The read and compaction side: cold search_runs over a million runs, full and incremental compaction.

Every figure is measured in a child process (a fresh interpreter, as a user's script or a cron'd
``eventlog compact`` would be): the search child times its own query, the compaction's peak memory is
the child's own high-water RSS (VmHWM, see ``_generate.run_child``). "Cold" means a new process with
nothing cached in it; the files themselves are usually in the OS page cache, since the store was just
generated or read.
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
import sys

from bench import _generate as gen
from bench._core import Figure
from bench._machine import load_line

__all__ = ["views_figures"]

SEARCH_BUDGET_S = 1.0
COMPACTION_BUDGET_S = 30.0
COMPACTION_RSS_BUDGET_GIB = 3.0
INCREMENTAL_BUDGET_PCT = 10.0
SEARCH_REPEATS = 3

# The child: import, then time MlflowClient(uri).search_runs(...) alone; check the page afterwards.
_SEARCH_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import eventlog
t1 = time.perf_counter()
uri, experiment_ids, filter_string, order_by, max_results = sys.argv[1:6]
start = time.perf_counter()
runs = eventlog.MlflowClient(uri).search_runs(
    json.loads(experiment_ids),
    filter_string=filter_string,
    order_by=json.loads(order_by),
    max_results=int(max_results),
)
end = time.perf_counter()
print(json.dumps({
    "import_s": t1 - t0,
    "search_s": end - start,
    "ids": [r.info.run_id for r in runs],
    "token": runs.token is not None,
}))
"""


def _search_figures(scale: float) -> list[Figure]:
    store = gen.search_store(scale)
    timings, imports, walls = [], [], []
    where = "" if len(store.experiment_ids) == 1 else f" in {len(store.experiment_ids)} experiments"
    name = f"search_runs cold, {store.runs:,} runs{where}, 3 predicates + order_by, max 100"
    for _ in range(SEARCH_REPEATS):
        try:
            child = gen.run_child(
                [
                    sys.executable,
                    "-c",
                    _SEARCH_CHILD,
                    str(store.path),
                    json.dumps(list(store.experiment_ids)),
                    gen.SEARCH_FILTER,
                    json.dumps(gen.SEARCH_ORDER),
                    str(gen.SEARCH_MAX_RESULTS),
                ]
            )
        except RuntimeError as exc:
            # A query that fails has no figure: report it as missed, with the error, and go on.
            last = str(exc).strip().splitlines()
            error = next((line for line in reversed(last) if "Error" in line), last[-1])
            return [Figure(name, math.inf, "s", SEARCH_BUDGET_S, False, note=f"FAILED: {error[:160]}")]
        out = json.loads(child.stdout.strip().splitlines()[-1])
        if out["ids"] != list(store.expected_ids):
            return [
                Figure(
                    name,
                    math.inf,
                    "s",
                    SEARCH_BUDGET_S,
                    False,
                    note=f"WRONG PAGE: {len(out['ids'])} runs, first {out['ids'][:2]} "
                    f"expected {list(store.expected_ids)[:2]}",
                )
            ]
        timings.append(out["search_s"])
        imports.append(out["import_s"])
        walls.append(child.wall_s)
    figures = [
        Figure(
            name,
            statistics.median(timings),
            "s",
            budget=SEARCH_BUDGET_S,
            higher_is_better=False,
            note=(
                f"median of {SEARCH_REPEATS} fresh processes, {min(timings):.3f}-{max(timings):.3f} s; "
                f"child wall {statistics.median(walls):.3f} s "
                f"incl. import {statistics.median(imports):.3f} s; "
                f"{store.matches:,} runs match; page checked"
                + (f"; {store.fallback}" if store.fallback else "")
            ),
        )
    ]
    if store.compacted_s is not None and store.compaction_rss is not None:
        figures.append(
            Figure(
                f"  (setup) eventlog compact, {store.events:,} events of {store.runs:,} runs",
                store.compacted_s,
                "s",
                higher_is_better=False,
                note=f"peak RSS {store.compaction_rss / 2**30:.2f} GiB; once per compactor change",
            )
        )
    return figures


def _compaction_figures(scale: float) -> list[Figure]:
    store = gen.compaction_store(scale)
    name = f"eventlog compact, {store.metric_events:,} metric events ({store.segments} segments)"
    copy = gen.link_copy(store.path, "compaction")
    try:
        full, full_results = gen.compact_cli(copy)
        increment = gen.write_increment(store, copy)
        incremental, inc_results = gen.compact_cli(copy)
    except gen.ChildKilled as exc:
        note = f"eventlog compact {exc}"
        return [
            Figure(name, math.inf, "s", COMPACTION_BUDGET_S, False, note=note),
            Figure("  peak RSS of that compaction", exc.rss / 2**30, "GiB", COMPACTION_RSS_BUDGET_GIB, False),
        ]
    finally:
        shutil.rmtree(copy.parent, ignore_errors=True)
    partition = f"experiments/{store.experiment_id}"

    def partition_result(results: list[dict[str, object]]) -> dict[str, object]:
        found = next(r for r in results if r["stream"] == partition)
        if found["status"] != "committed":
            raise AssertionError(f"compaction of {partition} did not commit: {found}")
        return found

    full_part, inc_part = partition_result(full_results), partition_result(inc_results)
    full_s = sum(float(r["seconds"]) for r in full_results)
    inc_s = sum(float(r["seconds"]) for r in inc_results)
    rss_gib = full.max_rss_bytes / 2**30
    return [
        Figure(
            name,
            full.wall_s,
            "s",
            budget=COMPACTION_BUDGET_S,
            higher_is_better=False,
            note=(
                f"child wall; compact_stream {full_s:.2f} s, "
                f"{int(full_part['events']) / full_s / 1e6:.2f} M events/s"  # type: ignore[call-overload]
            ),
        ),
        Figure(
            "  peak RSS of that compaction",
            rss_gib,
            "GiB",
            budget=COMPACTION_RSS_BUDGET_GIB,
            higher_is_better=False,
            note="the child's own VmHWM",
        ),
        Figure(
            f"incremental compaction after {increment:,} new events (1%)",
            100 * inc_s / full_s,
            "% of full",
            budget=INCREMENTAL_BUDGET_PCT,
            higher_is_better=False,
            note=(
                f"compact_stream {inc_s:.3f} s vs {full_s:.2f} s, same store; "
                f"child wall {incremental.wall_s:.2f} s, "
                f"peak RSS {incremental.max_rss_bytes / 2**30:.2f} GiB; "
                f"{inc_part['events']:,} events folded"
            ),
        ),
    ]


def views_figures(scale: float = 1.0) -> list[Figure]:
    print(f"  [views] before: {load_line()}", flush=True)
    figures = [*_search_figures(scale), *_compaction_figures(scale)]
    print(f"  [views] after: {load_line()} (a shared machine: figures under load are slower)", flush=True)
    return figures
