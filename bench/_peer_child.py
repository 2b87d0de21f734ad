"""The child side of bench/_peers.py: ``python -m bench._peer_child <tracker> <json arguments>``.

Runs in the tracker's own virtualenv (``.bench/peers/<tracker>/``, made by bench/_peers.py), except for
eventlog, which runs in the project's. Only the standard library is imported at module level, so that the
child's imports are the tracker's alone.

Every tracker does the same thing: set up a run in a fresh directory of the child's scratch directory
(outside the clock), then, on the clock, log ``points`` single scalar points (``"loss"``, a varying
float, steps 0..points-1), one call a point, and make them durable the tracker's own way: the clock stops
when the tracker's flush or close call has returned, so every point is on disk (or handed to the operating
system: no tracker here fsyncs) when the time is taken. The child then counts the points it finds on disk,
through the tracker's own reader where it has one, so that a tracker that drops points cannot win. It prints
one line ``BENCH-RESULT <json>`` last.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["TRACKERS", "main"]

RESULT_PREFIX = "BENCH-RESULT "
KEY = "loss"

Json = dict[str, Any]


def _value(i: int) -> float:
    return 1.0 / (i + 1)


def _eventlog(root: Path, points: int) -> Json:
    import eventlog

    eventlog.set_tracking_uri(str(root / "store"))
    run = eventlog.start_run()
    eventlog.log_metric("warm-up", 0.0)  # the run's first write, as the peers' init does theirs
    log = eventlog.log_metric
    start = time.perf_counter()
    for i in range(points):
        log(KEY, _value(i), step=i)
    eventlog.flush()
    seconds = time.perf_counter() - start
    eventlog.end_run()
    on_disk = len(eventlog.MlflowClient().get_metric_history(run.info.run_id, KEY))
    return {"seconds": seconds, "on_disk": on_disk}


def _trackio(root: Path, points: int) -> Json:
    # trackio keeps its SQLite databases under TRACKIO_DIR, read when it is imported.
    os.environ["TRACKIO_DIR"] = str(root / "trackio")
    import trackio

    trackio.init(project="bench", name="run", space_id=None)
    log = trackio.log
    start = time.perf_counter()
    for i in range(points):
        log({KEY: _value(i)}, step=i)
    trackio.finish()  # returns when its background sender has written every point to SQLite
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "on_disk": _trackio_points(root / "trackio")}


def _trackio_points(directory: Path) -> int:
    import sqlite3

    count = 0
    for db in directory.rglob("*.db"):
        with sqlite3.connect(db) as connection:
            tables = {
                row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if "metrics" in tables:
                (rows,) = connection.execute("SELECT COUNT(*) FROM metrics").fetchone()
                count += rows
    return count


def _tensorboardx(root: Path, points: int) -> Json:
    from tensorboardX import SummaryWriter

    writer = SummaryWriter(logdir=str(root / "tb"))
    add = writer.add_scalar
    start = time.perf_counter()
    for i in range(points):
        add(KEY, _value(i), i)
    writer.close()  # flushes the event file and closes it
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "on_disk": _tensorboard_points(root / "tb")}


def _tensorboard_points(directory: Path) -> int:
    """Scalar points of ``KEY`` in the event files: TFRecord framing (length, its CRC, data, its CRC)
    around tensorboardX's own Event protobufs."""
    from tensorboardX.proto import event_pb2

    count = 0
    for path in directory.rglob("events.out.tfevents.*"):
        with path.open("rb") as f:
            while len(header := f.read(12)) == 12:
                (length,) = struct.unpack("<Q", header[:8])
                event = event_pb2.Event.FromString(f.read(length))
                f.read(4)
                count += sum(1 for v in event.summary.value if v.tag == KEY)
    return count


def _aim(root: Path, points: int) -> Json:
    import aim

    run = aim.Run(repo=str(root / "aim"), experiment="bench", system_tracking_interval=None)
    run_hash, track = run.hash, run.track
    start = time.perf_counter()
    for i in range(points):
        track(_value(i), name=KEY, step=i)
    run.close()  # writes the run's RocksDB chunks and closes them
    seconds = time.perf_counter() - start
    # A closed run is readable once it is in the repo's index, which Aim's UI server builds in the
    # background; here the indexer is called directly (off the clock).
    from aim.sdk.index_manager import RepoIndexManager

    repo = aim.Repo.from_path(str(root / "aim"))
    RepoIndexManager.get_index_manager(repo).index(run_hash)
    stored = aim.Repo.from_path(str(root / "aim")).get_run(run_hash)
    on_disk = sum(len(m.values.values_list()) for m in stored.metrics() if m.name == KEY) if stored else 0
    return {"seconds": seconds, "on_disk": on_disk}


def _wandb(root: Path, points: int) -> Json:
    os.environ["WANDB_MODE"] = "offline"
    os.environ["WANDB_SILENT"] = "true"
    os.environ["WANDB_DIR"] = str(root)
    import wandb

    run = wandb.init(project="bench", dir=str(root), mode="offline", settings=wandb.Settings(console="off"))
    log = run.log
    start = time.perf_counter()
    for i in range(points):
        log({KEY: _value(i)}, step=i)
    run.finish()  # returns when its service has written every record to the run's .wandb file
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "on_disk": _wandb_points(root)}


def _wandb_points(root: Path) -> int:
    """History records holding ``KEY`` in the offline run file, parsed with wandb's own protobufs. The
    file is a LevelDB-style log (wandb's Go core writes it; 0.31 ships no Python reader): a 7-byte file
    header, then 32 KiB blocks of chunks (CRC 4 bytes, length 2, type 1: full, first, middle, last)."""
    from wandb.proto import wandb_internal_pb2

    count = 0
    for path in root.rglob("*.wandb"):
        data = path.read_bytes()
        block, header, pos = 32768, 7, 7
        pending = b""
        while pos + header <= len(data):
            room = block - pos % block
            if room < header:
                pos += room  # a block's tail too short for a chunk header is padding
                continue
            length, kind = struct.unpack("<HB", data[pos + 4 : pos + 7])
            if length == 0 and kind == 0:
                break  # zero fill: end of what was written
            chunk = data[pos + header : pos + header + length]
            pos += header + length
            pending = chunk if kind in (1, 2) else pending + chunk
            if kind in (1, 4):
                record = wandb_internal_pb2.Record.FromString(pending)
                if record.WhichOneof("record_type") == "history":
                    count += any((i.key or "/".join(i.nested_key)) == KEY for i in record.history.item)
    return count


TRACKERS: dict[str, Callable[[Path, int], Json]] = {
    "eventlog": _eventlog,
    "trackio": _trackio,
    "tensorboardX": _tensorboardx,
    "aim": _aim,
    "wandb": _wandb,
}


def _version(tracker: str) -> str:
    from importlib import metadata

    return metadata.version(tracker)


def main(argv: list[str]) -> int:
    tracker, arguments = argv[0], json.loads(argv[1])
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    root = Path(arguments["scratch"])
    os.chdir(root)
    result = TRACKERS[tracker](root, int(arguments["points"]))
    result["points"] = int(arguments["points"])
    result["version"] = _version(tracker)
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
