"""Where the files that writers publish live inside a store: segments, claims, the run index.

Paths are relative to the store root (see docs/format.md); this module only names them, it reads and
writes nothing:

```
eventlog-store.json                          format marker (written and checked by storage)
catalog/ids/<experiment_id>                  experiment id claims (put-if-absent)
catalog/names/<sha256(name)[:32]>/<gen>.parquet  name claims: a segment holding experiment_created or
                                             experiment_renamed (+ creation tags), put-if-absent
catalog/segments/<writer>-<n>.parquet        other experiment events (lifecycle, tags)
runs/<run_id[:2]>/<run_id>.json              run index: which experiment partition holds the run
experiments/<experiment_id>/segments/<bucket>/<writer>-<n>.parquet   the partition's run events: <bucket>
                                             is the minute of publication (format 1 stores: no bucket)
```

What compaction adds under each stream (``<stream>/views/``, ``<stream>/commits/``,
``<stream>/quarantine/``), and which of the files above make up a stream, is in ``views._streams``.
"""

from __future__ import annotations

import hashlib
from typing import Final

__all__ = [
    "BUCKET_MS",
    "CATALOG_IDS",
    "CATALOG_NAMES",
    "CATALOG_SEGMENTS",
    "EXPERIMENTS",
    "RUN_INDEX",
    "bucket_start_ms",
    "experiment_id_claim",
    "is_bucket",
    "name_claim",
    "name_claim_dir",
    "parse_segment_name",
    "partition_segments",
    "run_index_path",
    "segment_bucket",
    "segment_name",
]

CATALOG_IDS: Final = "catalog/ids"
CATALOG_NAMES: Final = "catalog/names"
CATALOG_SEGMENTS: Final = "catalog/segments"
EXPERIMENTS: Final = "experiments"
RUN_INDEX: Final = "runs"
SEGMENT_SUFFIX: Final = ".parquet"
# Partition segments are published under a bucket of their publish time (format 2): a reader lists only
# the buckets a commit has not sealed, so finding the uncompacted tail costs the same however much history
# was folded before it. A bucket is a minute, named by its number since the epoch, zero-padded so that
# names sort in time order.
BUCKET_MS: Final = 60_000


def segment_name(writer: str, number: int) -> str:
    """A segment file name no other writer can produce: the writer id and its own counter."""
    return f"{writer}-{number:010d}{SEGMENT_SUFFIX}"


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
