"""Streams and their committed views.

A stream is a set of segments folded together: one per experiment partition, and the catalog. A
stream's view version N is a directory of Parquet tables plus one commit record,
``<stream>/commits/<N>.json``, created with put-if-absent: the record is what makes version N current,
so a compactor that crashes before it leaves no visible trace, and of two compactors racing for N
exactly one commits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eventlog.storage import Location
from eventlog.views import _layout

__all__ = ["Commit", "Stream", "catalog_stream", "latest_commit", "partition_stream", "read_commit"]

COMMIT_FORMAT = 1


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

    def list_segments(self, location: Location) -> list[str]:
        """Every published segment of the stream, as paths relative to the store root."""
        if self.kind == "partition":
            directory = f"{self.name}/segments"
            return [
                f"{directory}/{n}" for n in location.list_names(directory) if _layout.parse_segment_name(n)
            ]
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


def partition_stream(experiment_id: str) -> Stream:
    return Stream(name=f"{_layout.EXPERIMENTS}/{experiment_id}", kind="partition")


def catalog_stream() -> Stream:
    return Stream(name="catalog", kind="catalog")


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
