"""The fluent hot path's buffer: one active run's metric points, appended by one thread without a lock.

``log_metric`` in a training loop is the call this package serves most. With an active run, the fluent
``log_metric`` appends straight to the ``MetricSink`` of that ``ActiveRun`` (``eventlog._fluent``), and
pays per call only what cannot be paid once:

- the run: implied, one sink per active run (the writer adds the run's slot when it takes the points);
- the key: validated when the sink first meets it, then found in ``keys`` (a dict lookup);
- the clock: one raw ``time.time_ns()``; milliseconds are computed for a whole buffer when it is taken;
- four typed appends, no lock, no object kept per point.

**Why no lock.** Exactly one thread appends to a sink: an ``ActiveRun`` lives on the run stack of the
thread that started it, and only that thread's fluent calls reach it. Points are *taken* from any thread
(the flush thread, a reader's flush, a client call to the same run), always under the writer's lock, by a
prefix protocol that under the GIL needs no cooperation from the appending thread:

1. the appender appends ``step``, ``key``, ``value`` and ``timestamp``, in that order (``timestamp``
   last), whole rows only: a failing append (a step past int64) comes first, before anything else;
2. a taker reads ``n = len(timestamp)`` first: every column then holds at least ``n`` complete rows;
3. it copies ``[:n]`` of each column, then deletes ``[:n]`` of each. Each slice is one C call, atomic
   under the GIL, and appends only land at the end, so the columns stay aligned whatever the appender
   does in between. (The copies come first: a numpy view of a live array would make its appends fail.)

A Python without a GIL (free-threaded builds) gets no lock-free path: ``keys`` stays empty and every call
takes the checked path, which appends under the writer's lock.

**The switch.** ``keys`` is also how the fast path is turned off: anything the next call must notice (a
background flush failure to raise, the run deleted, ``MLFLOW_ENABLE_ASYNC_LOGGING``) empties it, and a
miss goes through ``MetricSink.log_metric``, which checks, converts and validates exactly as the client
path does (``RunHandle.checked_point``) and caches the key again only when the fast path may be taken.

**Timestamps** in the ``timestamp`` column: a raw clock reading in nanoseconds (>= 0), or, for a timestamp
in milliseconds (given by the caller, or read on the checked path), ``-1 - ms`` (< 0). Both are exact for
every valid value (ms timestamps are any int64 >= 0), and one vectorised step turns a taken buffer into
milliseconds (``_to_ms``).
"""

from __future__ import annotations

import sys
from array import array
from typing import TYPE_CHECKING, Any

from eventlog._writer import now_ms

if TYPE_CHECKING:
    from eventlog._runs import RunHandle

__all__ = ["MetricSink", "Taken"]

# (key slots, values, millisecond timestamps, steps) of points taken from a sink
Taken = tuple["array[int]", "array[float]", "array[int]", "array[int]"]

# Lock-free appends need the GIL (see the module docstring); sys._is_gil_enabled exists from 3.13.
_GIL = getattr(sys, "_is_gil_enabled", lambda: True)()

# Below this many points a Python loop converts timestamps faster than numpy's set-up.
_SMALL = 64


class MetricSink:
    """The metric points one thread logs to one active run, waiting for the writer to take them."""

    __slots__ = ("handle", "key", "keys", "limit", "run", "step", "timestamp", "value")

    def __init__(self, handle: RunHandle) -> None:
        self.handle = handle
        self.run = handle.slot
        # Validated metric key -> the writer's key slot. Empty: every call takes the checked path.
        self.keys: dict[str, int] = {}
        self.step = array("q")
        self.key = array("i")
        self.value = array("d")
        self.timestamp = array("q")
        # The buffer length at which the appender asks the writer to act (see ``full``).
        self.limit = handle.writer.flush_rows

    # -- the appending thread -------------------------------------------------------------------------
    def log_metric(self, key: str, value: Any, timestamp: int | None, step: Any) -> None:
        """The checked path of the fluent ``log_metric`` (the fast path missed): MLflow's conversions,
        checks and messages, then the point, then the key cached if the next call may skip all that."""
        handle = self.handle
        slot, value, ms, step = handle.checked_point(key, value, timestamp or now_ms(), step)
        self.append_rows(array("q", (step,)), array("i", (slot,)), array("d", (value,)), ms)
        self.cache_key(key, slot)

    def log_metrics(self, metrics: dict[str, Any], timestamp: int | None, step: Any) -> None:
        """The fluent ``log_metrics`` of the active run: checked as a batch (``RunHandle.checked_batch``)."""
        slots, values, ms, step = self.handle.checked_batch(metrics, timestamp or now_ms(), step)
        count = len(slots)
        if count:
            self.append_rows(array("q", (step,)) * count, array("i", slots), values, ms)

    def append_rows(self, steps: array[int], slots: array[int], values: array[float], ms: int) -> None:
        """Append checked rows (all with the millisecond timestamp ``ms``) in the protocol's order."""
        timestamps = array("q", (-1 - ms,)) * len(steps)
        if _GIL:
            self._extend(steps, slots, values, timestamps)
        else:
            with self.handle.writer.sink_lock:
                self._extend(steps, slots, values, timestamps)
        if len(self.timestamp) >= self.limit:
            self.full()

    def _extend(self, steps: array[int], slots: array[int], values: array[float], ts: array[int]) -> None:
        self.step.extend(steps)
        self.key.extend(slots)
        self.value.extend(values)
        self.timestamp.extend(ts)

    def cache_key(self, key: str, slot: int) -> None:
        handle = self.handle
        if not _GIL or handle.async_default:
            return  # the fluent call must take the checked path every time
        self.keys[key] = slot
        # Cached after the checks, checked again after caching: a flush failure or a deletion that lands
        # between the two still empties ``keys`` (they empty it after setting their flag).
        if handle.writer.error is not None or handle.deleted:
            self.keys.clear()

    def full(self) -> None:
        """The buffer reached ``limit``: the writer flushes (in the background, or here past 4x)."""
        self.limit = len(self.timestamp) + self.handle.writer.flush_rows
        self.handle.writer.sink_full(len(self.timestamp))

    # -- any thread, under the writer's lock --------------------------------------------------------------
    def take(self) -> Taken | None:
        """Remove and return the complete rows appended so far (the caller holds the writer's lock)."""
        n = len(self.timestamp)  # first: every column holds at least n complete rows
        if not n:
            return None
        steps, slots, values, timestamps = self.step[:n], self.key[:n], self.value[:n], self.timestamp[:n]
        del self.step[:n], self.key[:n], self.value[:n], self.timestamp[:n]
        self.limit = self.handle.writer.flush_rows
        return slots, values, _to_ms(timestamps), steps

    def discard(self) -> None:
        """Forget every buffered point (a forked child must not write what its parent buffered)."""
        del self.step[:], self.key[:], self.value[:], self.timestamp[:]

    @property
    def buffered(self) -> int:
        return len(self.timestamp)


def _to_ms(timestamps: array[int]) -> array[int]:
    """The ``timestamp`` column as milliseconds: clock readings in ns divided, encoded ms decoded."""
    if len(timestamps) <= _SMALL:
        return array("q", [t // 1_000_000 if t >= 0 else -1 - t for t in timestamps])
    import numpy as np

    raw = np.frombuffer(timestamps, dtype=np.int64)
    ms = np.where(raw >= 0, raw // 1_000_000, -1 - raw)
    out = array("q")
    out.frombytes(ms.tobytes())
    return out
