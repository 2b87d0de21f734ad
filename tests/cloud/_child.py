"""Child processes of the reliability suite: ``python tests/cloud/_child.py MODE WORKDIR INDEX [ARGS...]``.

A child finds its store only through the environment (``EVENTLOG_TRACKING_URI`` and
``EVENTLOG_STORAGE_OPTIONS``), like any process a user starts. Children wait at a file barrier
(``ready-<name>-<index>`` / ``go-<name>`` in WORKDIR) so that they really run at the same time, and print
one JSON line with what they did.

Modes:
  log NAME RUNS POINTS FLUSH_EVERY            set_experiment(NAME) (raced by every child), then log RUNS
                                              runs of POINTS metric points each (and params, tags)
  compact ROUNDS                              compact every stream of the store once per round
  upload_loop EXPERIMENT_ID BATCH             log BATCH points, flush, forever; prints BEGIN/END n around
                                              each segment upload (the parent kills it with SIGKILL)
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")


def barrier(workdir: Path, name: str, index: int, timeout: float = 120.0) -> None:
    (workdir / f"ready-{name}-{index}").touch()
    deadline = time.monotonic() + timeout
    while not (workdir / f"go-{name}").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no go-{name} within {timeout} s")
        time.sleep(0.002)


def emit(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


def log(workdir: Path, index: int, name: str, runs: int, points: int, flush_every: int) -> None:
    import eventlog

    barrier(workdir, "set", index)
    experiment = eventlog.set_experiment(name)  # raced by every child
    emit({"index": index, "experiment_id": experiment.experiment_id})
    barrier(workdir, "log", index)
    run_ids = []
    for r in range(runs):
        with eventlog.start_run(run_name=f"p{index}-r{r}") as run:
            eventlog.log_params({"proc": index, "run": r})
            for step in range(points):
                eventlog.log_metric("m", index * 1e6 + r * 1e3 + step, step=step)
                if (step + 1) % flush_every == 0:
                    eventlog.flush()
            eventlog.set_tag("writer", f"p{index}")
            run_ids.append(run.info.run_id)
    emit(
        {"index": index, "experiment_id": experiment.experiment_id, "runs": run_ids, "points": runs * points}
    )


def compact(workdir: Path, index: int, rounds: int) -> None:
    from eventlog.views import compact_stream, store_streams

    from eventlog._registry import get_store

    location = get_store().location
    for k in range(rounds):
        barrier(workdir, f"compact{k}", index)
        results = [compact_stream(location, stream) for stream in store_streams(location)]
        emit(
            {
                "index": index,
                "round": k,
                "results": [
                    {"stream": r.stream, "status": r.status, "version": r.version, "events": r.events}
                    for r in results
                ],
            }
        )
        (workdir / f"done-compact{k}-{index}").touch()


def upload_loop(workdir: Path, index: int, experiment_id: str, batch: int) -> None:
    import eventlog
    from eventlog._registry import get_store

    eventlog.set_experiment(experiment_id=experiment_id)
    run = eventlog.start_run(run_name=f"killed-{index}")
    fs = get_store().location.fs
    real_pipe_file = fs.pipe_file
    uploads = 0

    def traced(path: str, data: bytes, **kwargs: Any) -> Any:
        nonlocal uploads
        if "/segments/" not in path or not path.startswith(get_store().location.root):
            return real_pipe_file(path, data, **kwargs)
        uploads += 1
        emit({"begin": uploads, "path": path, "bytes": len(data), "t": time.time()})
        out = real_pipe_file(path, data, **kwargs)
        emit({"end": uploads, "path": path, "t": time.time()})
        return out

    fs.pipe_file = traced
    emit({"run_id": run.info.run_id, "batch": batch})
    step = 0
    while True:
        for _ in range(batch):
            eventlog.log_metric("m", float(step), step=step)
            step += 1
        eventlog.flush()


def main(argv: list[str]) -> None:
    mode, workdir, index = argv[0], Path(argv[1]), int(argv[2])
    args = argv[3:]
    if mode == "log":
        log(workdir, index, args[0], int(args[1]), int(args[2]), int(args[3]))
    elif mode == "compact":
        compact(workdir, index, int(args[0]))
    elif mode == "upload_loop":
        upload_loop(workdir, index, args[0], int(args[1]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
