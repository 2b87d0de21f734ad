"""Crashes: a writer killed with SIGKILL loses at most what it had not yet flushed, and never the store.

Each child logs metric ``m`` with value == step == 0, 1, 2, ... and, after every explicit flush or
``synchronous=True`` call, records in a progress file how many points are durable. After ``kill -9`` a
fresh reader must open the store without error, see no partial segment, and find a contiguous prefix of
the logged points at least as long as the confirmed count (docs/architecture.md, invariants 1, 6, 9).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from eventlog.storage import open_location

from eventlog import MlflowClient
from eventlog._reset import reset_process_state

LIMIT = 10_000_000  # the children never get there: they are killed first
BASE_TS = 1_700_000_000_000

_CRASHER = r"""
import json, os, sys, time
uri, run_id, progress, mode = sys.argv[1:5]
import eventlog
from eventlog import MlflowClient
client = MlflowClient(uri)
LIMIT, BASE = 10_000_000, 1_700_000_000_000

def report(durable, **extra):
    tmp = progress + ".tmp"
    with open(tmp, "w") as fh:
        json.dump({"durable": durable, **extra}, fh)
    os.replace(tmp, progress)

durable = 0
if mode == "stall-publish":
    # after the first confirmed flush, the next segment publish stops between its temp file and its link
    real_link = os.link
    def stalling_link(src, dst, *args, **kwargs):
        if durable > 0 and "/experiments/" in str(dst):
            report(durable, stalled=True)
            time.sleep(3600)
        return real_link(src, dst, *args, **kwargs)
    os.link = stalling_link

import polars, pyarrow.parquet  # warm up (imports, the run's handle) so kills land mid-stream
client.get_run(run_id)
report(0, started=True)
i = 0
while i < LIMIT:
    sync = i % 1500 == 1499
    client.log_metric(run_id, "m", float(i), timestamp=BASE + i, step=i, synchronous=True if sync else None)
    i += 1
    if sync:
        durable = i
        report(durable)
    elif i % 1000 == 0:
        eventlog.flush()
        durable = i
        report(durable)
    if mode == "idle" and i == 2500:
        report(durable, idle=True, logged=i)  # no flush from here on but the timer's
        time.sleep(3600)
"""


def _child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTLOG_", "MLFLOW_"))}
    env.update(extra)
    return env


def _progress(path: Path) -> dict[str, object]:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _wait_for(proc: subprocess.Popen[bytes], path: Path, key: str, log: Path, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = _progress(path)
        if state.get(key):
            return state
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"child never reported {key!r} (exit {proc.poll()}):\n{log.read_text()}")
        time.sleep(0.005)


def _metric_rows_on_disk(root: Path, run_id: str) -> int:
    total = 0
    for path in root.rglob("*.parquet"):
        frame = pl.read_parquet(path)
        total += frame.filter((pl.col("kind") == "metric") & (pl.col("run_id") == run_id)).height
    return total


def _check_store_after_crash(root: Path) -> pl.DataFrame:
    """No partial segment is visible: every published name parses and is a proper segment name, temp files
    (left by a kill mid-write) are never listed. Returns all events on disk."""
    location = open_location(root)
    frames = []
    for path in sorted(root.rglob("*")):
        if path.is_dir():
            rel_dir = str(path.relative_to(root))
            assert not any(n.startswith(".tmp-") for n in location.list_names(rel_dir))
            continue
        if path.name.startswith(".tmp-"):
            continue  # an unpublished temp file: allowed to remain, never read
        if path.suffix == ".parquet":
            frames.append(pl.read_parquet(path))  # raises on a partial file
    events = pl.concat(frames, how="diagonal_relaxed")
    duplicates = events.group_by("writer", "seq").len().filter(pl.col("len") > 1)
    assert duplicates.height == 0, duplicates
    return events


def _assert_prefix(client: MlflowClient, run_id: str, confirmed: int, exactly: int | None = None) -> int:
    history = client.get_metric_history(run_id, "m")
    steps = sorted(m.step for m in history)
    count = len(steps)
    assert steps == list(range(count)), "points are missing in the middle, or duplicated"
    assert all(m.value == float(m.step) and m.timestamp == BASE_TS + m.step for m in history)
    assert confirmed <= count <= LIMIT
    if exactly is not None:
        assert count == exactly
    return count


@pytest.mark.slow
def test_sigkill_loses_at_most_the_unflushed_tail(tmp_path: Path, store_uri: str) -> None:
    """7 children killed with SIGKILL: 5 at random moments, one idle after its last explicit flush (the
    timer must have made everything durable), one stopped between a segment's temp file and its publish."""
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    setup = MlflowClient(store_uri)
    experiment_id = setup.create_experiment("crash")
    modes = ["random"] * 5 + ["idle", "stall-publish"]
    run_ids = [setup.create_run(experiment_id).info.run_id for _ in modes]
    reset_process_state()

    work = tmp_path / "work"
    work.mkdir()
    procs, logs, progress = [], [], []
    for i, (mode, run_id) in enumerate(zip(modes, run_ids, strict=True)):
        progress.append(work / f"progress-{i}.json")
        logs.append(work / f"log-{i}.txt")
        with open(logs[i], "wb") as log:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", _CRASHER, store_uri, run_id, str(progress[i]), mode],
                    env=_child_env(EVENTLOG_FLUSH_INTERVAL="0.2"),
                    cwd=work,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        # kill times: random delays after each child starts logging, in one shared timeline
        # each random child is killed once it has confirmed a random number of points (so the kill lands
        # mid-stream however loaded the machine is), after a further random pause of up to 3 flush intervals
        randoms = [i for i, m in enumerate(modes) if m == "random"]
        plan = {i: (rng.randrange(0, 12_000), rng.uniform(0.0, 0.6)) for i in randoms}
        pending = dict(plan)
        deadline = time.monotonic() + 90
        due: dict[int, float] = {}
        while pending:
            assert time.monotonic() < deadline, f"random children stalled: {pending}"
            for i, (threshold, pause) in list(pending.items()):
                if i not in due and int(str(_progress(progress[i]).get("durable", -1))) >= threshold:
                    due[i] = time.monotonic() + pause
                if i in due and time.monotonic() >= due[i]:
                    os.kill(procs[i].pid, signal.SIGKILL)
                    del pending[i]
                elif procs[i].poll() is not None:
                    pytest.fail(f"child {i} exited early:\n{logs[i].read_text()}")
            time.sleep(0.002)

        idle = modes.index("idle")
        state = _wait_for(procs[idle], progress[idle], "idle", logs[idle])
        logged = int(str(state["logged"]))
        # the timer publishes the unflushed tail within a few intervals; only then is the kill harmless
        deadline = time.monotonic() + 5.0
        while _metric_rows_on_disk(Path(store_uri), run_ids[idle]) < logged:
            assert time.monotonic() < deadline, "the timer never flushed the idle child's tail"
            time.sleep(0.02)
        os.kill(procs[idle].pid, signal.SIGKILL)

        stall = modes.index("stall-publish")
        stalled = _wait_for(procs[stall], progress[stall], "stalled", logs[stall])
        os.kill(procs[stall].pid, signal.SIGKILL)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
    assert all(p.returncode == -signal.SIGKILL for p in procs), [p.returncode for p in procs]

    root = Path(store_uri)
    events = _check_store_after_crash(root)
    reset_process_state()
    client = MlflowClient(store_uri)  # a fresh reader opens the store without error
    counts, confirmed_counts = {}, {}
    for i, (mode, run_id) in enumerate(zip(modes, run_ids, strict=True)):
        confirmed = confirmed_counts[i] = int(str(_progress(progress[i]).get("durable", 0)))
        assert client.get_run(run_id).info.status == "RUNNING"
        if mode == "idle":
            counts[i] = _assert_prefix(client, run_id, confirmed, exactly=logged)
        elif mode == "stall-publish":
            counts[i] = _assert_prefix(client, run_id, confirmed, exactly=int(str(stalled["durable"])))
        else:
            counts[i] = _assert_prefix(client, run_id, confirmed)
    metric_rows = events.filter(pl.col("kind") == "metric")
    assert metric_rows.height == sum(counts.values())

    # the stalled publish left its temp file behind, holding points that no reader sees
    temp_files = list((root / f"experiments/{experiment_id}/segments").rglob(".tmp-*"))
    assert temp_files, "the stalled child should have left a temp file"
    unpublished = pl.concat([pl.read_parquet(p) for p in temp_files if p.stat().st_size > 0])
    assert unpublished.filter(pl.col("run_id") == run_ids[stall]).height > 0
    print(f"seed={seed} kill plan={plan} confirmed={confirmed_counts} read back={counts}")


_EXITER = r"""
import sys
mode = sys.argv[1]
import eventlog
run = eventlog.start_run()
with open("run_id.txt", "w") as fh:
    fh.write(run.info.run_id)
for i in range(3000):
    eventlog.log_metric("m", float(i), step=i)
eventlog.log_param("p", "v")
if mode == "raise":
    raise RuntimeError("the script fails after logging")
# mode "return": the script just ends, without end_run() or flush()
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["return", "raise"])
def test_normal_exit_flushes_everything(tmp_path: Path, store_uri: str, mode: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", _EXITER, mode],
        env=_child_env(EVENTLOG_TRACKING_URI=store_uri, EVENTLOG_FLUSH_INTERVAL="3600"),
        cwd=work,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == (0 if mode == "return" else 1), result.stderr.decode()
    run_id = (work / "run_id.txt").read_text()
    client = MlflowClient(store_uri)
    assert sorted(m.step for m in client.get_metric_history(run_id, "m")) == list(range(3000))
    assert client.get_run(run_id).data.params == {"p": "v"}
    _check_store_after_crash(Path(store_uri))


# -- leftovers of a crash mid-write --------------------------------------------------------------------------


def _small_store(store_uri: str) -> tuple[str, str, dict[str, object]]:
    client = MlflowClient(store_uri)
    experiment_id = client.create_experiment("torn")
    run_id = client.create_run(experiment_id).info.run_id
    for i in range(100):
        client.log_metric(run_id, "m", float(i), step=i)
    client.log_param(run_id, "p", "v")
    client.flush()
    run = client.get_run(run_id)
    return experiment_id, run_id, {"params": run.data.params, "metrics": run.data.metrics}


def test_torn_temp_files_are_invisible(store_uri: str) -> None:
    """A writer killed before publishing leaves a partial ``.tmp-*`` file: readers never see it."""
    experiment_id, run_id, before = _small_store(store_uri)
    root = Path(store_uri)
    segment = next((root / f"experiments/{experiment_id}/segments").rglob("*.parquet"))
    torn = segment.read_bytes()[: segment.stat().st_size // 2]
    for directory in [segment.parent, root / "catalog/segments", root, root / "catalog/ids"]:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / ".tmp-0123456789abcdef0123456789abcdef").write_bytes(torn)
    reset_process_state()
    client = MlflowClient(store_uri)
    run = client.get_run(run_id)
    assert {"params": run.data.params, "metrics": run.data.metrics} == before
    assert len(client.get_metric_history(run_id, "m")) == 100
    assert client.get_experiment(experiment_id).name == "torn"
    # and the store still takes writes
    client.log_metric(run_id, "m", 100.0, step=100, synchronous=True)
    assert len(client.get_metric_history(run_id, "m")) == 101


def test_truncated_segment_does_not_break_reads(store_uri: str) -> None:
    """A damaged segment (e.g. from the no-hard-link fallback) is skipped, never a crash of the read."""
    experiment_id, run_id, before = _small_store(store_uri)
    root = Path(store_uri)
    segments = root / f"experiments/{experiment_id}/segments"
    segment = next(segments.rglob("*.parquet"))
    (segments / "ffffffffffff0000000000000000-0000000001.parquet").write_bytes(segment.read_bytes()[:100])
    reset_process_state()
    client = MlflowClient(store_uri)
    run = client.get_run(run_id)
    assert {"params": run.data.params, "metrics": run.data.metrics} == before
    assert len(client.get_metric_history(run_id, "m")) == 100
