"""Automatic compaction: a partition whose uncompacted tail has grown past a threshold is compacted in
a detached child process, so that no logging call ever waits for it and the store stays fast to read
without anyone running ``eventlog compact``.

The check runs on a daemon thread after a run-lifecycle write (at most once per ``CHECK_INTERVAL_S`` per
partition and process), and once more when the process exits, after its last flush, with a low threshold
(``EXIT_MIN_SEGMENTS``) so that a finished job leaves its partitions compact; stores in this process's
memory (``memory://``) are never auto-compacted. The threshold grows with the partition
(``max(segments, runs // RUNS_PER_SEGMENT)``, or ``MAX_OPEN_BUCKETS`` open buckets) so that a big
partition is not rewritten for every few hundred new segments: the total work stays proportional to what
is written, as in an LSM tree. Compaction is safe to race and to kill at any point
(the commit protocol of ``eventlog.views``), so several processes that decide at once cost only CPU.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time

from eventlog.storage import Location

__all__ = ["AutoCompactor"]

_log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 2.0
RUNS_PER_SEGMENT = 8  # a partition of R runs is compacted again after R / 8 new segments
MAX_OPEN_BUCKETS = 32  # (minutes of writing) a reader lists one directory per open bucket
EXIT_MIN_SEGMENTS = 16  # a process that ends leaves a tail of fewer segments than this uncompacted


def _process_local(location: Location) -> bool:
    protocol = location.fs.protocol
    protocols = {protocol} if isinstance(protocol, str) else set(protocol)
    return "memory" in protocols


class AutoCompactor:
    """Watches the partitions this process writes to and compacts the ones whose tail is long."""

    def __init__(self, location: Location, *, enabled: bool, segments: int) -> None:
        self.location = location
        # A memory:// store lives in this process only: a child process could not compact it.
        self.enabled = enabled and not _process_local(location)
        self.segments = segments
        self._lock = threading.Lock()
        self._checked: dict[str, float] = {}  # experiment id -> monotonic time of the last check
        self._children: dict[str, subprocess.Popen[bytes]] = {}

    def after_write(self, experiment_id: str) -> None:
        """Called after a durable write to a partition; returns at once."""
        if not self.enabled:
            return
        now = time.monotonic()
        with self._lock:
            if now - self._checked.get(experiment_id, -CHECK_INTERVAL_S) < CHECK_INTERVAL_S:
                return
            self._checked[experiment_id] = now
            if self._running(experiment_id):
                return  # the last one is still running
        threading.Thread(
            target=self._check, args=(experiment_id,), name="eventlog-auto-compact", daemon=True
        ).start()

    def at_exit(self) -> None:
        """At the end of the process (after its last flush): leave the partitions it wrote to compact,
        so the next process to read them — often right after a job — finds a short tail. A compaction
        still running from earlier is left to finish; the child outlives this process."""
        if not self.enabled:
            return
        with self._lock:
            written = [e for e in self._checked if not self._running(e)]
        for experiment_id in written:
            self._check(experiment_id, minimum=EXIT_MIN_SEGMENTS)

    def _running(self, experiment_id: str) -> bool:
        child = self._children.get(experiment_id)
        return child is not None and child.poll() is None

    def _check(self, experiment_id: str, minimum: int | None = None) -> None:
        try:
            from eventlog.views import tail_stats

            tail, runs, buckets = tail_stats(self.location, experiment_id)
            threshold = max(self.segments, runs // RUNS_PER_SEGMENT) if minimum is None else minimum
            # Many open buckets also call for a compaction (it seals them): a reader lists each one,
            # which on an object store is a request per bucket.
            if tail >= threshold or buckets >= MAX_OPEN_BUCKETS:
                self._spawn(experiment_id)
        except Exception as exc:  # never let the tracker's housekeeping break the user's program
            _log.warning("eventlog: automatic compaction of experiment %s skipped: %s", experiment_id, exc)

    def _spawn(self, experiment_id: str) -> None:
        env = dict(os.environ)
        env["EVENTLOG_AUTO_COMPACT"] = "0"
        if self.location.storage_options:
            try:
                env["EVENTLOG_STORAGE_OPTIONS"] = json.dumps(dict(self.location.storage_options))
            except (TypeError, ValueError):
                _log.info("eventlog: storage options are not JSON: automatic compaction off for this store")
                self.enabled = False
                return
        command = [sys.executable, "-m", "eventlog.cli", "compact", self.location.uri]
        # --settle: the child compacts again while this (or another) writer left a tail behind meanwhile.
        command += ["--experiment", experiment_id, "--json", "--settle"]
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # outlives this process; not killed with its terminal's signals
        )
        with self._lock:
            self._children[experiment_id] = child
