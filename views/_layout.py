"""Where each kind of file lives inside a store (relative paths; see docs/format.md).

```
eventlog-store.json                          format marker (storage)
catalog/ids/<experiment_id>                  experiment id claims (put-if-absent)
catalog/names/<sha256(name)[:32]>/<gen>.parquet  name claims: a segment holding experiment_created or
                                             experiment_renamed (+ creation tags), put-if-absent
catalog/segments/<writer>-<n>.parquet        other experiment events (lifecycle, tags)
runs/<run_id[:2]>/<run_id>.json              run index: which experiment partition holds the run
experiments/<experiment_id>/segments/<writer>-<n>.parquet   the partition's run events
```
"""

from __future__ import annotations

import hashlib
from typing import Final

__all__ = [
    "CATALOG_IDS",
    "CATALOG_NAMES",
    "CATALOG_SEGMENTS",
    "EXPERIMENTS",
    "RUN_INDEX",
    "experiment_id_claim",
    "name_claim",
    "name_claim_dir",
    "parse_segment_name",
    "partition_segments",
    "run_index_path",
    "segment_name",
]

CATALOG_IDS: Final = "catalog/ids"
CATALOG_NAMES: Final = "catalog/names"
CATALOG_SEGMENTS: Final = "catalog/segments"
EXPERIMENTS: Final = "experiments"
RUN_INDEX: Final = "runs"
SEGMENT_SUFFIX: Final = ".parquet"


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
