"""Where the files that writers publish live inside a store: segments, claims, the run index.

Paths are relative to the store root (see docs/format.md); this module only names them, it reads and
writes nothing:

```
eventlog-store.json                          format marker (written and checked by storage)
catalog/ids/<experiment_id>                  experiment id claims (put-if-absent)
catalog/names/<sha256(name)[:32]>/<gen>.parquet  name claims: a segment holding experiment_created or
                                             experiment_renamed (+ creation tags), put-if-absent
catalog/segments/<writer>-<n>.parquet        other experiment events (lifecycle, tags)
runs/index/<writer>-<n>.json                 run index, batched: which partition holds runs whose id does
                                             not say it (imported or synced runs); one file per flush
runs/<run_id[:2]>/<run_id>.json              run index of stores written before located run ids (read only)
experiments/<experiment_id>/segments/<bucket>/<writer>-<n>.parquet   the partition's run events: <bucket>
                                             is the minute of publication (format 1 stores: no bucket)
```

What compaction adds under each stream (``<stream>/views/``, ``<stream>/commits/``,
``<stream>/quarantine/``), and which of the files above make up a stream, is in ``views._streams``.
"""

from __future__ import annotations

import hashlib
import os
import time
import zlib
from typing import Final

__all__ = [
    "BUCKET_MS",
    "CATALOG_IDS",
    "CATALOG_NAMES",
    "CATALOG_SEGMENTS",
    "EXPERIMENTS",
    "RUN_INDEX",
    "RUN_INDEX_BATCHES",
    "bucket_start_ms",
    "experiment_crc",
    "experiment_id_claim",
    "is_bucket",
    "is_segment_name",
    "located_run_id",
    "name_claim",
    "name_claim_dir",
    "parse_segment_name",
    "partition_segments",
    "run_created_ms",
    "run_index_batch_path",
    "run_index_path",
    "run_location",
    "segment_bucket",
    "segment_name",
]

CATALOG_IDS: Final = "catalog/ids"
CATALOG_NAMES: Final = "catalog/names"
CATALOG_SEGMENTS: Final = "catalog/segments"
EXPERIMENTS: Final = "experiments"
RUN_INDEX: Final = "runs"
RUN_INDEX_BATCHES: Final = "runs/index"
SEGMENT_SUFFIX: Final = ".parquet"
# Partition segments are published under a bucket of their publish time (format 2): a reader lists only
# the buckets a commit has not sealed, so finding the uncompacted tail costs the same however much history
# was folded before it. A bucket is a minute, named by its number since the epoch, zero-padded so that
# names sort in time order.
BUCKET_MS: Final = 60_000


def segment_name(writer: str, number: int) -> str:
    """A segment file name no other writer can produce: the writer id and its own counter."""
    return f"{writer}-{number:010d}{SEGMENT_SUFFIX}"


def is_segment_name(name: str) -> bool:
    """``parse_segment_name(name) is not None``, cheaply (a listing checks thousands of names)."""
    if not name.endswith(SEGMENT_SUFFIX):
        return False
    dash = name.rfind("-", 0, len(name) - len(SEGMENT_SUFFIX))
    return dash >= 0 and name[dash + 1 : -len(SEGMENT_SUFFIX)].isdigit()


def parse_segment_name(name: str) -> tuple[str, int] | None:
    if not name.endswith(SEGMENT_SUFFIX):
        return None
    writer, sep, number = name[: -len(SEGMENT_SUFFIX)].rpartition("-")
    if not sep or not number.isdigit():
        return None
    return writer, int(number)


def partition_segments(experiment_id: str) -> str:
    return f"{EXPERIMENTS}/{experiment_id}/segments"


def segment_bucket(time_ms: int) -> str:
    """The bucket directory name of a segment published at ``time_ms``."""
    return f"{time_ms // BUCKET_MS:010d}"


def bucket_start_ms(bucket: str) -> int:
    return int(bucket) * BUCKET_MS


def is_bucket(name: str) -> bool:
    return len(name) == 10 and name.isdigit()


def experiment_id_claim(experiment_id: str) -> str:
    return f"{CATALOG_IDS}/{experiment_id}"


def name_claim_dir(name: str) -> str:
    # Names may hold any character and be 500 long: hash them into a fixed, path-safe directory name.
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]
    return f"{CATALOG_NAMES}/{digest}"


def name_claim(name: str, generation: int) -> str:
    return f"{name_claim_dir(name)}/{generation:08d}{SEGMENT_SUFFIX}"


def run_index_path(run_id: str) -> str:
    return f"{RUN_INDEX}/{run_id[:2]}/{run_id}.json"


def run_index_batch_path(writer: str, number: int) -> str:
    """A batch of run-index entries written by one flush (``segment_name``'s uniqueness, JSON)."""
    return f"{RUN_INDEX_BATCHES}/{writer}-{number:010d}.json"


# -- located run ids ---------------------------------------------------------------------------------------
# A run id that says which partition holds the run, so that finding a run by id costs no index file to
# write or read, and that sorts by creation time, so that a view's runs of one time range lie together
# (docs/format.md, "Run ids say where their run lives"). The id is a UUID of version 8 (RFC 9562's layout
# for custom ids, here close to its version 7) in MLflow's form, 32 lowercase hex digits:
#
#   digits 0-11   the creation time, ms since the epoch (48 bits, big-endian: ids sort by it)
#   digit  12     "8", the version
#   digits 13-15  random
#   digit  16     the RFC variant (0b10) and what the hint is: "8" the experiment id, "9" its CRC-24
#   digits 17-25  random (48 random bits in all)
#   digits 26-31  the hint (24 bits): the experiment id (ids below 2**24, which is every id eventlog allots
#                 for a long while), or a CRC-24 of a longer id, looked up among the store's experiments
#
# MLflow's run ids are version 4, so they are never taken for located ones; a foreign id that happens to
# look located is only a hint: readers check the partition it names and go on searching if it is not there.
_DIRECT, _HASHED = "8", "9"
_HINT_LIMIT = 1 << 24


def located_run_id(
    experiment_id: str, random_bits: bytes | None = None, time_ms: int | None = None
) -> str:
    """A new run id that names ``experiment_id``'s partition (``random_bits``: 6 bytes, and ``time_ms``,
    for generators that must be reproducible; by default ``os.urandom`` and the clock)."""
    random = (os.urandom(6) if random_bits is None else random_bits[:6]).hex()  # 48 bits
    now = time.time_ns() // 1_000_000 if time_ms is None else time_ms
    direct = experiment_id.isascii() and experiment_id.isdigit() and str(int(experiment_id)) == experiment_id
    if direct and int(experiment_id) < _HINT_LIMIT:
        kind, hint = _DIRECT, int(experiment_id)
    else:
        kind, hint = _HASHED, experiment_crc(experiment_id)
    return f"{now % (1 << 48):012x}8{random[:3]}{kind}{random[3:12]}{hint:06x}"


def run_location(run_id: str) -> tuple[str, int] | None:
    """What a located run id says of its partition: ``("id", experiment id)`` or ``("crc", crc)``; None
    for any other id (MLflow's, imported ones)."""
    if len(run_id) != 32 or run_id[12] != "8" or run_id[16] not in (_DIRECT, _HASHED):
        return None
    try:
        int(run_id, 16)
    except ValueError:
        return None
    hint = int(run_id[26:], 16)
    return ("id", hint) if run_id[16] == _DIRECT else ("crc", hint)


def run_created_ms(run_id: str) -> int | None:
    """The creation time a located run id carries (ms since the epoch), or None for any other id."""
    return int(run_id[:12], 16) if run_location(run_id) is not None else None


def experiment_crc(experiment_id: str) -> int:
    """The hint a located run id of a long experiment id carries: 24 bits of its CRC-32."""
    return zlib.crc32(experiment_id.encode("utf-8")) & (_HINT_LIMIT - 1)
