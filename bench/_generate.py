"""Synthetic stores for the view benchmarks, written straight in the segment format of docs/format.md.

Logging a million runs through the API would take longer than every benchmark together, so the
generators build each segment's columns with numpy and write them with pyarrow, exactly as the writer
lays them out: the writer's own encoder (``views.segment_table`` and ``views.segment_bytes``: one Arrow
schema, zstd for large segments and snappy for small ones), ``<writer>-<n>.parquet`` names with the
writer's own counter, ``(writer, seq)`` unique, record times non-decreasing per writer. The
experiment is created through the public API so that its id and name claims are the real ones.

Stores are cached under ``<repo>/.bench/`` keyed by kind, scale and ``FORMAT_VERSION`` (bump it when
the generated data changes); a directory appears under its final name only once complete. The compacted
search store is cached too, keyed by a digest of the compactor's source, so a change to the fold or the
compactor recompacts it instead of benchmarking a view the current code would not write.

Every child runs under an RSS guard (RSS_GUARD_BYTES) so that a compactor that needs more memory than
the machine has is killed by its pid, not left to the kernel's OOM killer on a shared machine. When
``eventlog compact`` cannot build the 1,000,000-run single-experiment store within the guard (recorded
once per compactor version), the search benchmark uses the same runs spread over 10 experiments, each
compacted by ``eventlog compact`` on its own, and says so in its figure.

Known shortcut: the search stores' run ids are random, not located (``views.layout.located_run_id``), so
``get_run`` of one of their runs searches the partitions (search itself never looks a run up by id). The
compaction store's run ids are located, as ``create_run`` makes them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from eventlog.views import Coded, Column, Numbers, segment_bytes, segment_table

__all__ = [
    "CACHE_DIR",
    "FORMAT_VERSION",
    "CompactionStore",
    "SearchStore",
    "cached_search_store",
    "compaction_store",
    "link_copy",
    "run_child",
    "search_store",
    "write_increment",
]

FORMAT_VERSION = 2
REPO = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO / ".bench"
SEGMENT_EVENTS = 100_000  # about what one writer flush holds under sustained logging
BASE_MS = 1_700_000_000_000  # generated record times start here (2023-11-14)

SEARCH_PARAMS = 10
SEARCH_METRICS = 5
SEARCH_TAGS = 3
PARAM_VALUES = [f"a{i}" for i in range(10)]
TAG_VALUES = ["x", "y", "z"]
SEARCH_FILTER = "metrics.m0 < 0.5 and params.p0 = 'a3' and tags.t0 != 'x'"
SEARCH_ORDER = ["metrics.m1 DESC"]
SEARCH_MAX_RESULTS = 100

COMPACTION_KEYS = 10
COMPACTION_STEPS = 1_000
COMPACTION_RUNS_PER_WRITER = 100  # one process logging 100 concurrent runs (a sweep)

# The sources whose change makes a cached compacted view stale.
_COMPACTOR_SOURCES = ("_compact.py", "_fold.py", "_schema.py", "_snapshot.py", "_streams.py")


def _log(message: str) -> None:
    print(f"  [setup] {message}", flush=True)


# -- plumbing ------------------------------------------------------------------------------------------
def _write_segment(directory: Path, writer: str, number: int, table: pa.Table) -> None:
    from eventlog.views import layout

    (directory / layout.segment_name(writer, number)).write_bytes(segment_bytes(table))


def _writer_ids(rng: np.random.Generator, count: int, start_ms: int) -> list[str]:
    """Writer ids as the writer makes them: 12 hex digits of ms time, then 16 random hex digits."""
    return [f"{start_ms + i:012x}{rng.bytes(8).hex()}" for i in range(count)]


def _run_ids(rng: np.random.Generator, count: int) -> list[str]:
    blob = rng.bytes(16 * count).hex()
    return [blob[i : i + 32] for i in range(0, 32 * count, 32)]


def _create_store(path: Path, experiment_name: str) -> str:
    """A fresh store with one experiment, made through the public API (id claim, name claim, catalog)."""
    import eventlog

    client = eventlog.MlflowClient(str(path))
    return str(client.create_experiment(experiment_name))


def _compactor_digest() -> str:
    from eventlog import views

    root = Path(views.__file__).resolve().parent
    digest = hashlib.sha256()
    for name in _COMPACTOR_SOURCES:
        source = root / name
        digest.update(name.encode())
        digest.update(source.read_bytes() if source.exists() else b"")
    return digest.hexdigest()[:12]


def _scale_tag(scale: float) -> str:
    return f"s{scale:g}"


def _publish_dir(tmp: Path, final: Path) -> None:
    """Give a complete directory its final name; a concurrent generator that got there first wins."""
    try:
        os.rename(tmp, final)
    except OSError:
        if not (final / "meta.json").exists():
            raise
        shutil.rmtree(tmp, ignore_errors=True)


def _scratch(prefix: str) -> Path:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"tmp-{prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    return path


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A scratch directory under the bench cache, removed afterwards."""
    path = _scratch(prefix)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def link_copy(source: Path, prefix: str) -> Path:
    """A copy of a store that shares its files by hard link: segments and views are never rewritten, so
    the copy costs one link per file, and what a benchmark adds or deletes stays in the copy."""
    target = _scratch(prefix)
    shutil.copytree(source, target / "store", copy_function=os.link)
    return target / "store"


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTLOG_", "MLFLOW_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


def _available_memory() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 16 * 2**30


# A child past this is killed (by its pid) rather than left to push a shared machine into the OOM killer.
RSS_GUARD_BYTES = int(min(12 * 2**30, 0.6 * _available_memory()))


class ChildKilled(RuntimeError):
    """The child passed the RSS guard and was killed."""

    def __init__(self, argv: Sequence[str], rss: int, wall_s: float) -> None:
        super().__init__(f"killed at {rss / 2**30:.1f} GiB RSS after {wall_s:.0f} s (the bench's RSS guard)")
        self.rss = rss
        self.wall_s = wall_s


@dataclass(frozen=True)
class ChildResult:
    wall_s: float
    max_rss_bytes: int
    stdout: str
    stderr: str


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


# A Python child started through run_child runs behind this prelude, which reports the child's own
# high-water RSS (VmHWM) on stderr at exit. wait4's ru_maxrss is not that: on Linux, exec carries the
# forking process's high-water mark over into the child's, so a small child of a 400 MiB parent would
# report 400 MiB.
_HWM_MARK = "BENCH-VMHWM "
_HWM_PRELUDE = f"""
import atexit, os, sys
def _report_hwm():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    os.write(2, ("\\n{_HWM_MARK}%d\\n" % (int(line.split()[1]) * 1024)).encode())
    except (OSError, ValueError):
        pass
atexit.register(_report_hwm)
mode, target, *rest = sys.argv[1:]
if mode == "-m":
    import runpy
    sys.argv = [target, *rest]
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    sys.argv = ["-c", *rest]
    exec(compile(target, "<string>", "exec"), {{"__name__": "__main__", "__builtins__": __builtins__}})
"""


def _with_prelude(argv: Sequence[str]) -> list[str]:
    """``python -c CODE ...`` / ``python -m MODULE ...`` run behind _HWM_PRELUDE (other argv unchanged)."""
    if len(argv) >= 3 and argv[0] == sys.executable and argv[1] in ("-c", "-m"):
        return [argv[0], "-c", _HWM_PRELUDE, *argv[1:]]
    return list(argv)


def _reported_hwm(stderr: str) -> tuple[int | None, str]:
    """The VmHWM the prelude reported, and stderr without its line."""
    kept, found = [], None
    for line in stderr.splitlines(keepends=True):
        if line.startswith(_HWM_MARK):
            found = int(line[len(_HWM_MARK) :])
        else:
            kept.append(line)
    return found, "".join(kept)


def run_child(
    argv: Sequence[str], rss_guard: int | None = RSS_GUARD_BYTES, *, measure_memory: bool = True
) -> ChildResult:
    """Run a child process and measure its wall time and peak RSS. A Python child (``-c``/``-m``)
    reports its own VmHWM (see _HWM_PRELUDE) unless ``measure_memory`` is False (for timing an
    interpreter's start-up untouched); otherwise the peak is wait4's ru_maxrss, an upper bound. A child
    whose RSS passes ``rss_guard`` is killed and ChildKilled raised."""
    if measure_memory:
        argv = _with_prelude(argv)
    scratch = _scratch("child")
    killed_at = 0
    try:
        out_path, err_path = scratch / "stdout", scratch / "stderr"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(list(argv), stdout=out, stderr=err, env=child_env(), cwd=REPO)
            done = threading.Event()

            def watch() -> None:
                nonlocal killed_at
                while rss_guard is not None and not done.wait(0.2):
                    rss = _rss(proc.pid)
                    if rss > rss_guard:
                        killed_at = rss
                        os.kill(proc.pid, signal.SIGKILL)
                        return

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                done.set()
                watcher.join()
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
        stdout, stderr = out_path.read_text(), err_path.read_text()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if killed_at:
        raise ChildKilled(argv, killed_at, wall)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{stderr[-4000:]}")
    hwm, stderr = _reported_hwm(stderr)
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    rss = hwm if hwm is not None else usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
    return ChildResult(wall, rss, stdout, stderr)


def compact_cli(store: Path) -> tuple[ChildResult, list[dict[str, Any]]]:
    """``eventlog compact <store> --json`` in a child process."""
    child = run_child([sys.executable, "-m", "eventlog.cli", "compact", str(store), "--json"])
    return child, json.loads(child.stdout.strip().splitlines()[-1])


# -- the search store: 1,000,000 finished runs with 10 params, 5 metrics, 3 tags --------------------------
@dataclass(frozen=True)
class SearchStore:
    path: Path  # the compacted store
    experiment_ids: tuple[str, ...]
    runs: int
    events: int
    segments: int
    expected_ids: tuple[str, ...]  # the page search must return, computed from the generated values
    matches: int  # runs the filter selects
    generated_s: float | None  # None when the raw store came from the cache
    compacted_s: float | None  # None when the compacted store came from the cache
    compaction_rss: int | None
    fallback: str  # why the runs are split over several experiments ("" when they are not)


# Per run, in the order a process records them: created (+ its mlflow.runName tag), tags, params,
# metrics, then the final status.
_RUN_KINDS = (
    ["run_created", "tag_set"]
    + ["tag_set"] * SEARCH_TAGS
    + ["param"] * SEARCH_PARAMS
    + ["metric"] * SEARCH_METRICS
    + ["run_updated"]
)
_RUN_KEYS = (
    [None, "mlflow.runName"]
    + [f"t{i}" for i in range(SEARCH_TAGS)]
    + [f"p{i}" for i in range(SEARCH_PARAMS)]
    + [f"m{i}" for i in range(SEARCH_METRICS)]
    + [None]
)
EVENTS_PER_RUN = len(_RUN_KINDS)


def _search_chunk(
    writer: str,
    first_seq: int,
    experiment_id: str,
    artifact_root: str,
    run_ids: list[str],
    names: list[str],
    start: np.ndarray,
    params: np.ndarray,
    tags: np.ndarray,
    metrics: np.ndarray,
) -> pa.Table:
    k = len(run_ids)
    e = EVENTS_PER_RUN
    n = k * e
    slot = np.tile(np.arange(e), k)  # position of each row in its run's pattern
    run = np.repeat(np.arange(k), e)  # the run (in this chunk) of each row
    kinds = sorted(set(_RUN_KINDS))
    kind_codes = np.array([kinds.index(x) for x in _RUN_KINDS])[slot]
    keys = [x for x in dict.fromkeys(_RUN_KEYS) if x is not None]
    key_codes = np.array([keys.index(x) if x is not None else 0 for x in _RUN_KEYS])[slot]
    key_mask = np.array([x is None for x in _RUN_KEYS])[slot]

    is_created = slot == 0
    is_name_tag = slot == 1
    tag_slot = (slot >= 2) & (slot < 2 + SEARCH_TAGS)
    param_slot = (slot >= 2 + SEARCH_TAGS) & (slot < 2 + SEARCH_TAGS + SEARCH_PARAMS)
    metric_first = 2 + SEARCH_TAGS + SEARCH_PARAMS
    metric_slot = (slot >= metric_first) & (slot < metric_first + SEARCH_METRICS)
    is_updated = slot == e - 1

    # text: param values, tag values and the runName tag, as codes into one dictionary.
    text_dict = PARAM_VALUES + TAG_VALUES + names
    text = np.zeros(n, dtype=np.int64)
    text[param_slot] = params.reshape(-1)
    text[tag_slot] = len(PARAM_VALUES) + tags.reshape(-1)
    text[is_name_tag] = len(PARAM_VALUES) + len(TAG_VALUES) + np.arange(k)
    text_mask = ~(param_slot | tag_slot | is_name_tag)

    # Record times: created at start, logging over the next milliseconds, finished 60 s later.
    offsets = np.minimum(slot, e - 2).astype(np.int64)
    timestamp = start[run] + offsets
    timestamp[is_updated] = start[run[is_updated]] + 60_000
    value = np.zeros(n)
    value[metric_slot] = metrics.reshape(-1)
    artifact = [f"{artifact_root}/{r}/artifacts" for r in run_ids]

    columns: dict[str, Column] = {
        "writer": writer,
        "seq": range(first_seq, first_seq + n),
        "kind": Coded(kind_codes, kinds),
        "timestamp": Numbers(timestamp),
        "experiment_id": experiment_id,
        "run_id": Coded(run, run_ids),
        "key": Coded(key_codes, keys, key_mask),
        "value": Numbers(value, ~metric_slot),
        "step": Numbers(np.zeros(n, dtype=np.int64), ~metric_slot),
        "text": Coded(text, text_dict, text_mask),
        "name": Coded(run, names, ~is_created),
        "status": Coded(np.zeros(n, dtype=np.int64), ["FINISHED"], ~is_updated),
        "start_time": Numbers(start[run], ~is_created),
        "end_time": Numbers(start[run] + 60_000, ~is_updated),
        "user_id": Coded(np.zeros(n, dtype=np.int64), ["bench"], ~is_created),
        "artifact_uri": Coded(run, artifact, ~is_created),
    }
    return segment_table(n, columns)


def _generate_search(path: Path, runs: int, seed: int, experiments: int) -> dict[str, Any]:
    """``runs`` runs in ``experiments`` experiments (contiguous blocks of runs), written by one writer
    (process) per ``runs_per_writer`` runs of an experiment."""
    import eventlog

    client = eventlog.MlflowClient(str(path))
    names = ["bench-search"] if experiments == 1 else [f"bench-search-{i}" for i in range(experiments)]
    experiment_ids = [str(client.create_experiment(name)) for name in names]
    rng = np.random.default_rng(seed)
    run_ids = _run_ids(rng, runs)
    params = rng.integers(0, len(PARAM_VALUES), size=(runs, SEARCH_PARAMS))
    tags = rng.integers(0, len(TAG_VALUES), size=(runs, SEARCH_TAGS))
    metrics = rng.random((runs, SEARCH_METRICS))
    # Runs start one second apart, each writer running its share one after the other.
    start = BASE_MS + np.arange(runs, dtype=np.int64) * 1_000
    runs_per_segment = max(1, SEGMENT_EVENTS // EVENTS_PER_RUN)
    runs_per_writer = runs_per_segment * 10
    bounds = [runs * e // experiments for e in range(experiments + 1)]
    segments = 0
    for e, experiment_id in enumerate(experiment_ids):
        artifact_root = f"{path.as_uri()}/artifacts/{experiment_id}"
        directory = path / "experiments" / experiment_id / "segments"
        directory.mkdir(parents=True, exist_ok=True)
        for lo_w in range(bounds[e], bounds[e + 1], runs_per_writer):
            hi_w = min(bounds[e + 1], lo_w + runs_per_writer)
            writer = _writer_ids(rng, 1, BASE_MS + lo_w)[0]
            seq = number = 0
            for lo in range(lo_w, hi_w, runs_per_segment):
                hi = min(hi_w, lo + runs_per_segment)
                table = _search_chunk(
                    writer,
                    seq,
                    experiment_id,
                    artifact_root,
                    run_ids[lo:hi],
                    [f"bench-run-{i}" for i in range(lo, hi)],
                    start[lo:hi],
                    params[lo:hi],
                    tags[lo:hi],
                    metrics[lo:hi],
                )
                number += 1
                _write_segment(directory, writer, number, table)
                seq += table.num_rows
                segments += 1

    # The page MLflow's semantics give: filter, then m1 DESC, start_time DESC, run_id ASC.
    selected = np.flatnonzero(
        (metrics[:, 0] < 0.5) & (params[:, 0] == PARAM_VALUES.index("a3")) & (tags[:, 0] != 0)
    )
    order = np.lexsort((-start[selected], -metrics[selected, 1]))  # last key is the primary one
    expected = [run_ids[i] for i in selected[order[:SEARCH_MAX_RESULTS]]]
    return {
        "experiment_ids": experiment_ids,
        "runs": runs,
        "events": runs * EVENTS_PER_RUN,
        "segments": segments,
        "expected_ids": expected,
        "matches": int(selected.size),
    }


def _raw_search(home: Path, runs: int, experiments: int) -> tuple[Path, float | None]:
    raw = home / ("raw" if experiments == 1 else f"raw-x{experiments}")
    if (raw / "meta.json").exists():
        return raw, None
    shutil.rmtree(raw, ignore_errors=True)
    home.mkdir(parents=True, exist_ok=True)
    _log(
        f"generating the search store: {runs:,} runs x {EVENTS_PER_RUN} events "
        f"in {experiments} experiment(s) ..."
    )
    started = time.perf_counter()
    tmp = _scratch("search")
    meta = _generate_search(tmp, runs, seed=runs, experiments=experiments)
    (tmp / "meta.json").write_text(json.dumps(meta))
    _publish_dir(tmp, raw)
    generated_s = time.perf_counter() - started
    _log(f"generated {meta['events']:,} events in {meta['segments']} segments in {generated_s:.1f} s")
    return raw, generated_s


def _compact_search(home: Path, raw: Path, digest: str) -> tuple[Path, float | None, int | None]:
    """The compacted copy of ``raw`` (cached per compactor digest); ChildKilled if the guard stopped it."""
    compacted = home / f"{raw.name}-compacted-{digest}"
    if (compacted / "meta.json").exists():
        return compacted, None, None
    for stale in home.glob(f"{raw.name}-compacted-*"):
        shutil.rmtree(stale, ignore_errors=True)
    _log(f"compacting {raw.name} with eventlog compact (cached until the compactor's source changes) ...")
    copy = link_copy(raw, "search-compact")
    try:
        child, results = compact_cli(copy)
        meta = json.loads((raw / "meta.json").read_text())
        (copy / "meta.json").write_text(json.dumps({**meta, "compaction": results}))
        _publish_dir(copy, compacted)
    finally:
        shutil.rmtree(copy.parent, ignore_errors=True)
    _log(f"compacted in {child.wall_s:.1f} s, peak RSS {child.max_rss_bytes / 2**30:.2f} GiB")
    return compacted, child.wall_s, child.max_rss_bytes


SEARCH_SPLIT = 10  # experiments of the fallback store


def search_store(scale: float) -> SearchStore:
    """The compacted search store: all runs in one experiment; if ``eventlog compact`` cannot build that
    within the RSS guard (recorded, so it is tried once per compactor version), the same runs spread over
    SEARCH_SPLIT experiments, each compacted on its own, searched together."""
    runs = max(1_000, round(1_000_000 * scale))
    home = CACHE_DIR / f"search-v{FORMAT_VERSION}-{_scale_tag(scale)}"
    digest = _compactor_digest()
    failed = home / f"single-partition-failed-{digest}.txt"
    generated = 0.0
    note = ""
    compacted = None
    if not failed.exists():
        raw, gen_s = _raw_search(home, runs, 1)
        generated += gen_s or 0.0
        try:
            compacted, compacted_s, rss = _compact_search(home, raw, digest)
        except ChildKilled as exc:
            for stale in home.glob("single-partition-failed-*"):
                stale.unlink()
            failed.write_text(str(exc))
            _log(f"eventlog compact {exc}: falling back to {SEARCH_SPLIT} experiments")
    if compacted is None:
        note = f"all in 1 experiment: eventlog compact {failed.read_text()}"
        raw, gen_s = _raw_search(home, runs, SEARCH_SPLIT)
        generated += gen_s or 0.0
        compacted, compacted_s, rss = _compact_search(home, raw, digest)
    meta = json.loads((compacted / "meta.json").read_text())
    return SearchStore(
        path=compacted,
        experiment_ids=tuple(meta["experiment_ids"]),
        runs=meta["runs"],
        events=meta["events"],
        segments=meta["segments"],
        expected_ids=tuple(meta["expected_ids"]),
        matches=meta["matches"],
        generated_s=generated or None,
        compacted_s=compacted_s,
        compaction_rss=rss,
        fallback=note,
    )


def cached_search_store(scale: float) -> SearchStore | None:
    """search_store(scale) when it is already generated and compacted by the current compactor, else
    None: never generates or compacts (for figures that are only worth it when the store is at hand)."""
    home = CACHE_DIR / f"search-v{FORMAT_VERSION}-{_scale_tag(scale)}"
    digest = _compactor_digest()
    split = (home / f"single-partition-failed-{digest}.txt").exists()
    raw = home / (f"raw-x{SEARCH_SPLIT}" if split else "raw")
    compacted = home / f"{raw.name}-compacted-{digest}"
    if not (raw / "meta.json").exists() or not (compacted / "meta.json").exists():
        return None
    return search_store(scale)


# -- the compaction store: 1,000 runs x 10 metric keys x 1,000 steps -------------------------------------
@dataclass(frozen=True)
class CompactionStore:
    path: Path  # the raw (never compacted) store: benchmark a link_copy of it
    experiment_id: str
    runs: int
    run_ids: tuple[str, ...]
    metric_events: int
    events: int
    segments: int
    generated_s: float | None


def _metric_block(
    writer: str,
    first_seq: int,
    experiment_id: str,
    run_ids: list[str],
    steps: range,
    rng: np.random.Generator,
    t0: int,
) -> pa.Table:
    """Metric events of ``run_ids`` for ``steps``, step-major as a process logging them all produces."""
    k, keys, s = len(run_ids), COMPACTION_KEYS, len(steps)
    n = k * keys * s
    step = np.repeat(np.asarray(steps, dtype=np.int64), k * keys)
    run = np.tile(np.repeat(np.arange(k), keys), s)
    key = np.tile(np.arange(keys), k * s)
    columns: dict[str, Column] = {
        "writer": writer,
        "seq": range(first_seq, first_seq + n),
        "kind": "metric",
        "timestamp": Numbers(t0 + step * 100),  # one step every 100 ms
        "experiment_id": experiment_id,
        "run_id": Coded(run, run_ids),
        "key": Coded(key, [f"metric_{j}" for j in range(keys)]),
        "value": rng.random(n),
        "step": Numbers(step),
    }
    return segment_table(n, columns)


def _run_events(
    writer: str, first_seq: int, experiment_id: str, artifact_root: str, run_ids: list[str], t0: int
) -> pa.Table:
    """run_created plus its mlflow.runName tag, for each run."""
    k = len(run_ids)
    n = 2 * k
    run = np.repeat(np.arange(k), 2)
    created = np.tile([True, False], k)
    names = [f"sweep-{r[:8]}" for r in run_ids]
    columns: dict[str, Column] = {
        "writer": writer,
        "seq": range(first_seq, first_seq + n),
        "kind": Coded(np.where(created, 0, 1), ["run_created", "tag_set"]),
        "timestamp": Numbers(np.full(n, t0)),
        "experiment_id": experiment_id,
        "run_id": Coded(run, run_ids),
        "key": Coded(np.zeros(n, dtype=np.int64), ["mlflow.runName"], created),
        "text": Coded(run, names, created),
        "name": Coded(run, names, ~created),
        "start_time": Numbers(np.full(n, t0), ~created),
        "user_id": Coded(np.zeros(n, dtype=np.int64), ["bench"], ~created),
        "artifact_uri": Coded(run, [f"{artifact_root}/{r}/artifacts" for r in run_ids], ~created),
    }
    return segment_table(n, columns)


def _finished_events(writer: str, first_seq: int, experiment_id: str, run_ids: list[str], t: int) -> pa.Table:
    n = len(run_ids)
    columns: dict[str, Column] = {
        "writer": writer,
        "seq": range(first_seq, first_seq + n),
        "kind": "run_updated",
        "timestamp": Numbers(np.full(n, t)),
        "experiment_id": experiment_id,
        "run_id": run_ids,
        "status": "FINISHED",
        "end_time": Numbers(np.full(n, t)),
    }
    return segment_table(n, columns)


def _segment_steps(runs_per_writer: int) -> int:
    return max(1, SEGMENT_EVENTS // (runs_per_writer * COMPACTION_KEYS))


def _generate_compaction(path: Path, runs: int, seed: int) -> dict[str, Any]:
    from eventlog.views import layout

    experiment_id = _create_store(path, "bench-compaction")
    artifact_root = f"{path.as_uri()}/artifacts/{experiment_id}"
    rng = np.random.default_rng(seed)
    run_ids = [layout.located_run_id(experiment_id, rng.bytes(6), BASE_MS + i) for i in range(runs)]
    per_writer = min(COMPACTION_RUNS_PER_WRITER, runs)
    step_block = _segment_steps(per_writer)
    writers = _writer_ids(rng, math.ceil(runs / per_writer), BASE_MS)
    directory = path / "experiments" / experiment_id / "segments"
    directory.mkdir(parents=True, exist_ok=True)
    segments = events = metric_events = 0
    for w, writer in enumerate(writers):
        ids = run_ids[w * per_writer : (w + 1) * per_writer]
        t0 = BASE_MS + w * 10
        created = _run_events(writer, 0, experiment_id, artifact_root, ids, t0)
        seq, number = created.num_rows, 0
        for lo in range(0, COMPACTION_STEPS, step_block):
            steps = range(lo, min(COMPACTION_STEPS, lo + step_block))
            block = _metric_block(writer, seq, experiment_id, ids, steps, rng, t0 + 1)
            seq += block.num_rows
            metric_events += block.num_rows
            if lo == 0:  # the first flush also holds the runs' creation (which got the first seqs)
                block = pa.concat_tables([created, block])
            number += 1
            _write_segment(directory, writer, number, block)
            events += block.num_rows
            segments += 1
    return {
        "experiment_id": experiment_id,
        "runs": runs,
        "run_ids": run_ids,
        "metric_events": metric_events,
        "events": events,
        "segments": segments,
    }


def compaction_store(scale: float) -> CompactionStore:
    runs = max(10, round(1_000 * scale))
    raw = CACHE_DIR / f"compaction-v{FORMAT_VERSION}-{_scale_tag(scale)}"
    generated_s = None
    if not (raw / "meta.json").exists():
        shutil.rmtree(raw, ignore_errors=True)
        _log(
            f"generating the compaction store: {runs:,} runs x {COMPACTION_KEYS} keys x "
            f"{COMPACTION_STEPS:,} steps ..."
        )
        started = time.perf_counter()
        tmp = _scratch("compaction")
        meta = _generate_compaction(tmp, runs, seed=runs + 1)
        (tmp / "meta.json").write_text(json.dumps(meta))
        _publish_dir(tmp, raw)
        generated_s = time.perf_counter() - started
        _log(f"generated {meta['events']:,} events in {meta['segments']} segments in {generated_s:.1f} s")
    meta = json.loads((raw / "meta.json").read_text())
    return CompactionStore(
        path=raw,
        experiment_id=meta["experiment_id"],
        runs=meta["runs"],
        run_ids=tuple(meta["run_ids"]),
        metric_events=meta["metric_events"],
        events=meta["events"],
        segments=meta["segments"],
        generated_s=generated_s,
    )


def write_increment(store: CompactionStore, path: Path, fraction: float = 0.01) -> int:
    """New events worth ``fraction`` of the store, from a new writer (the sweep resumed): the next steps
    of every run, then every run's FINISHED status. Returns the number of events written."""
    rng = np.random.default_rng(store.runs + 2)
    writer = _writer_ids(rng, 1, BASE_MS + 86_400_000)[0]
    run_ids = list(store.run_ids)
    steps = max(1, round(fraction * store.metric_events / (store.runs * COMPACTION_KEYS)))
    directory = path / "experiments" / store.experiment_id / "segments"
    t0 = BASE_MS + 86_400_000
    step_block = _segment_steps(store.runs)  # one process resumes them all: one segment per block
    end = COMPACTION_STEPS + steps
    blocks = [range(lo, min(end, lo + step_block)) for lo in range(COMPACTION_STEPS, end, step_block)]
    seq, written = 0, 0
    for number, block_steps in enumerate(blocks, 1):
        table = _metric_block(writer, seq, store.experiment_id, run_ids, block_steps, rng, t0)
        seq += table.num_rows
        if number == len(blocks):  # the last flush also holds the runs' end
            finished = _finished_events(writer, seq, store.experiment_id, run_ids, t0 + end * 100)
            seq += finished.num_rows
            table = pa.concat_tables([table, finished])
        _write_segment(directory, writer, number, table)
        written += table.num_rows
    return written
