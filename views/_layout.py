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
# write or read. The id is a UUID of version 8 (RFC 9562's layout for custom ids) in MLflow's form, 32
# lowercase hex digits: 88 random bits, the version nibble "8" at digit 12, and at digit 16 a nibble whose
# top bits are the RFC variant (0b10) and whose low bits say what the last 8 digits hold: the experiment id
# itself (ids from 0 to 2**32 - 1, which is every id eventlog allots) or the CRC-32 of a longer id (looked
# up among the store's experiments). MLflow's run ids are version 4, so they are never taken for located
# ones; a foreign id that happens to look located is only a hint: readers check the partition it names
# and go on searching if the run is not there.
_DIRECT, _HASHED = "8", "9"  # digit 16: variant 0b10 + kind 0 (the id) or 1 (its CRC-32)


def located_run_id(experiment_id: str, random_bits: bytes | None = None) -> str:
    """A new run id that names ``experiment_id``'s partition (``random_bits``: 11 bytes, for generators
    that must be reproducible; by default from ``os.urandom``)."""
    random = (os.urandom(11) if random_bits is None else random_bits[:11]).hex()  # 88 bits
    if experiment_id.isdigit() and int(experiment_id) < 2**32 and str(int(experiment_id)) == experiment_id:
        kind, hint = _DIRECT, int(experiment_id)
    else:
        kind, hint = _HASHED, zlib.crc32(experiment_id.encode("utf-8"))
    return f"{random[:12]}8{random[12:15]}{kind}{random[15:22]}{hint:08x}"


def run_location(run_id: str) -> tuple[str, int] | None:
    """What a located run id says of its partition: ``("id", experiment id)`` or ``("crc32", crc)``;
    None for any other id (MLflow's, imported ones)."""
    if len(run_id) != 32 or run_id[12] != "8" or run_id[16] not in (_DIRECT, _HASHED):
        return None
    try:
        hint = int(run_id[24:], 16)
        int(run_id, 16)
    except ValueError:
        return None
    return ("id", hint) if run_id[16] == _DIRECT else ("crc32", hint)


def experiment_crc(experiment_id: str) -> int:
    """The hint a located run id of a long experiment id carries."""
    return zlib.crc32(experiment_id.encode("utf-8"))
