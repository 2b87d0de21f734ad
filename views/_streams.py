"""Streams, the files compaction adds to them, and their commit records.

A stream is a set of segments folded together: one per experiment partition (``experiments/<id>``: its
``segments/``, bucket by bucket) and the catalog (``catalog``: its ``segments/`` and the name claims under
``names/``). This module holds :class:`Stream` (which segments a reader must list: a partition's buckets a
commit has not sealed; and where its views, commit records and quarantined segments live), the commit record
(:class:`Commit`, with a :class:`Seal` per sealed bucket, its JSON form and path) and reading the committed
versions. Paths are relative to the store root:

```
<stream>/views/<N>-<compactor>/     the tables of view version N and its seal records (views._compact)
<stream>/commits/<N>.json           the commit record that makes version N current
<stream>/quarantine/                copies of segments that could not be read
```

The commit record is created with put-if-absent and is the only thing that makes version N current, so
a compactor that crashes before it leaves no visible trace, and of two compactors racing for N exactly
one commits. Where the segments themselves, the claims and the run index live is in ``views._layout``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eventlog.storage import Location
from eventlog.views import _layout

__all__ = ["Commit", "Seal", "Stream", "catalog_stream", "latest_commit", "partition_stream", "read_commit"]

# Format 2 added ``sealed_before`` and ``seals`` (bucketed partition segments); format-1 records read as
# "nothing sealed".
COMMIT_FORMAT = 2


@dataclass(frozen=True)
class Stream:
    """Where a stream's segments, views and commit records live."""

    name: str  # "experiments/<id>" or "catalog"
    kind: str  # "partition" or "catalog"

    @property
    def commits_dir(self) -> str:
        return f"{self.name}/commits"

    @property
    def views_dir(self) -> str:
        return f"{self.name}/views"

    @property
    def quarantine_dir(self) -> str:
        return f"{self.name}/quarantine"

    def list_segments(self, location: Location, sealed_before: int | None = None) -> list[str]:
        """The stream's published segments that a reader must consider, as paths relative to the store
        root: for a partition, the flat segments of format 1 and every bucket not sealed (``sealed_before``,
        from the latest commit). Sealed buckets are not listed: that is what keeps a read's listing
        independent of how much history was folded before it."""
        if self.kind == "partition":
            directory = f"{self.name}/segments"
            files, dirs = location.list_children(directory)
            rels = [f"{directory}/{n}" for n in files if _layout.is_segment_name(n)]
            for bucket in self.open_buckets(dirs, sealed_before):
                prefix = f"{directory}/{bucket}/"
                rels.extend(
                    prefix + n for n in location.list_names(prefix[:-1]) if _layout.is_segment_name(n)
                )
            return rels
        rels = [
            f"{_layout.CATALOG_SEGMENTS}/{n}"
            for n in location.list_names(_layout.CATALOG_SEGMENTS)
            if _layout.parse_segment_name(n)
        ]
        # Name claims live at names/<digest>/<generation>.parquet: one listing of the whole tree, not one
        # per name (every experiment lookup lists the catalog; on an object store that is a request each).
        depth = _layout.CATALOG_NAMES.count("/") + 2
        rels.extend(
            rel
            for rel in location.list_files(_layout.CATALOG_NAMES)
            if rel.endswith(".parquet") and rel.count("/") == depth
        )
        return rels

    @staticmethod
    def open_buckets(dirs: list[str], sealed_before: int | None) -> list[str]:
        """The bucket directories among ``dirs`` that a commit sealed before ``sealed_before`` has not."""
        return [
            d for d in dirs if _layout.is_bucket(d) and (sealed_before is None or int(d) >= sealed_before)
        ]

    def bucket_of(self, rel: str) -> str | None:
        """The bucket of a segment path, or None for a flat (format 1) or catalog segment."""
        parts = rel.rsplit("/", 2)
        return parts[1] if len(parts) == 3 and _layout.is_bucket(parts[1]) else None


def partition_stream(experiment_id: str) -> Stream:
    return Stream(name=f"{_layout.EXPERIMENTS}/{experiment_id}", kind="partition")


def catalog_stream() -> Stream:
    return Stream(name="catalog", kind="catalog")


@dataclass(frozen=True)
class Seal:
    """A sealed bucket in a commit: how many segments it held when sealed (with late arrivals folded
    since), and the seal records, JSON lists of their names, in the view directories of the commits that
    wrote them."""

    count: int
    records: tuple[str, ...]
    folded_by: int  # the newest version that folded one of its segments: retention counts from it


@dataclass(frozen=True)
class Commit:
    """A committed view version: its tables, and which segments it folded (or quarantined)."""

    version: int
    stream: str
    tables: Mapping[str, str]  # table name -> path of its Parquet file
    history: tuple[str, ...]  # metric history files (a version reuses its predecessor's)
    folded: Mapping[str, int]  # segment path -> version that folded it
    quarantined: Mapping[str, str]  # segment path -> why it could not be read
    committed_at: int  # ms
    writer: str
    stats: Mapping[str, Any] = field(default_factory=dict)
    # Buckets below this number are sealed: every segment in them was folded (or quarantined) by this
    # version or an earlier one, and ``folded`` no longer names them. None: nothing sealed (format 1).
    sealed_before: int | None = None
    # Sealed buckets whose files still exist -> the seal records (JSON lists of the names folded from the
    # bucket when it was sealed, and any late arrivals since): what the compactor checks a sealed bucket
    # against, to find a segment a writer with a slow clock published there late, and to delete.
    seals: Mapping[str, Seal] = field(default_factory=dict)
    # The directory this version's own files went to (its tables may be reused from an older one).
    view_dir: str | None = None

    @property
    def directory(self) -> str:
        if self.view_dir is not None:
            return self.view_dir
        return next(iter(self.tables.values())).rsplit("/", 1)[0]

    def to_json(self) -> bytes:
        doc = {
            "format": COMMIT_FORMAT,
            "version": self.version,
            "stream": self.stream,
            "tables": dict(self.tables),
            "history": list(self.history),
            "folded": dict(self.folded),
            "quarantined": dict(self.quarantined),
            "committed_at": self.committed_at,
            "writer": self.writer,
            "stats": dict(self.stats),
            "sealed_before": self.sealed_before,
            "seals": {
                b: {"count": v.count, "records": list(v.records), "folded_by": v.folded_by}
                for b, v in self.seals.items()
            },
            "view_dir": self.view_dir,
        }
        return json.dumps(doc, sort_keys=True).encode()

    @staticmethod
    def from_json(raw: bytes) -> Commit:
        doc = json.loads(raw)
        if int(doc.get("format", 0)) > COMMIT_FORMAT:
            raise ValueError(f"commit record format {doc['format']} is newer than this eventlog reads")
        return Commit(
            version=int(doc["version"]),
            stream=str(doc["stream"]),
            tables={str(k): str(v) for k, v in doc["tables"].items()},
            history=tuple(str(h) for h in doc["history"]),
            folded={str(k): int(v) for k, v in doc["folded"].items()},
            quarantined={str(k): str(v) for k, v in doc["quarantined"].items()},
            committed_at=int(doc["committed_at"]),
            writer=str(doc["writer"]),
            stats=dict(doc.get("stats", {})),
            sealed_before=None if doc.get("sealed_before") is None else int(doc["sealed_before"]),
            seals={
                str(b): Seal(int(v["count"]), tuple(str(r) for r in v["records"]), int(v["folded_by"]))
                for b, v in doc.get("seals", {}).items()
            },
            view_dir=None if doc.get("view_dir") is None else str(doc["view_dir"]),
        )


def commit_path(stream: Stream, version: int) -> str:
    return f"{stream.commits_dir}/{version:010d}.json"


def committed_versions(location: Location, stream: Stream) -> list[int]:
    names = location.list_names(stream.commits_dir)
    return sorted(int(n[:-5]) for n in names if n.endswith(".json") and n[:-5].isdigit())


_COMMIT_CACHE: dict[tuple[str, str], Commit] = {}


def read_commit(location: Location, stream: Stream, version: int) -> Commit:
    """Commit records never change once written, so they are cached for the life of the process."""
    rel = commit_path(stream, version)
    key = (location.uri, rel)
    found = _COMMIT_CACHE.get(key)
    if found is None:
        found = Commit.from_json(location.read_bytes(rel))
        _COMMIT_CACHE[key] = found
    return found


def latest_commit(location: Location, stream: Stream) -> Commit | None:
    versions = committed_versions(location, stream)
    return read_commit(location, stream, versions[-1]) if versions else None
