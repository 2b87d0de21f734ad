"""The event model: a closed set of small frozen event types, one per kind in ``views.Kind``.

Each event knows which segment columns it fills. The writer stores events column by column and never
keeps these objects; metric events, the hot path, skip the object entirely (see ``_writer``).
Every event gets its id (writer, seq) and its record time from the writer when it is appended.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from eventlog.views import Kind

__all__ = [
    "EVENT_TYPES",
    "ArtifactLogged",
    "Event",
    "ExperimentCreated",
    "ExperimentDeleted",
    "ExperimentRenamed",
    "ExperimentRestored",
    "ExperimentTagDeleted",
    "ExperimentTagSet",
    "ParamLogged",
    "RunCreated",
    "RunDeleted",
    "RunRestored",
    "RunTagDeleted",
    "RunTagSet",
    "RunUpdated",
]

# Columns filled by the writer for every event, never by the event itself.
WRITER_COLUMNS = ("writer", "seq", "timestamp")


@dataclass(frozen=True, slots=True)
class ExperimentCreated:
    kind: ClassVar[str] = Kind.EXPERIMENT_CREATED
    experiment_id: str
    name: str
    artifact_uri: str  # the experiment's artifact location


@dataclass(frozen=True, slots=True)
class ExperimentRenamed:
    kind: ClassVar[str] = Kind.EXPERIMENT_RENAMED
    experiment_id: str
    name: str


@dataclass(frozen=True, slots=True)
class ExperimentDeleted:
    kind: ClassVar[str] = Kind.EXPERIMENT_DELETED
    experiment_id: str


@dataclass(frozen=True, slots=True)
class ExperimentRestored:
    kind: ClassVar[str] = Kind.EXPERIMENT_RESTORED
    experiment_id: str


@dataclass(frozen=True, slots=True)
class ExperimentTagSet:
    kind: ClassVar[str] = Kind.EXPERIMENT_TAG_SET
    experiment_id: str
    key: str
    text: str


@dataclass(frozen=True, slots=True)
class ExperimentTagDeleted:
    kind: ClassVar[str] = Kind.EXPERIMENT_TAG_DELETED
    experiment_id: str
    key: str


@dataclass(frozen=True, slots=True)
class RunCreated:
    kind: ClassVar[str] = Kind.RUN_CREATED
    experiment_id: str
    run_id: str
    name: str
    user_id: str
    start_time: int
    artifact_uri: str


@dataclass(frozen=True, slots=True)
class RunUpdated:
    """Status, end time and name changes; a None field is left as it was."""

    kind: ClassVar[str] = Kind.RUN_UPDATED
    experiment_id: str
    run_id: str
    status: str | None = None
    end_time: int | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class RunDeleted:
    kind: ClassVar[str] = Kind.RUN_DELETED
    experiment_id: str
    run_id: str


@dataclass(frozen=True, slots=True)
class RunRestored:
    kind: ClassVar[str] = Kind.RUN_RESTORED
    experiment_id: str
    run_id: str


@dataclass(frozen=True, slots=True)
class ParamLogged:
    kind: ClassVar[str] = Kind.PARAM
    experiment_id: str
    run_id: str
    key: str
    text: str


@dataclass(frozen=True, slots=True)
class RunTagSet:
    kind: ClassVar[str] = Kind.TAG_SET
    experiment_id: str
    run_id: str
    key: str
    text: str


@dataclass(frozen=True, slots=True)
class RunTagDeleted:
    kind: ClassVar[str] = Kind.TAG_DELETED
    experiment_id: str
    run_id: str
    key: str


@dataclass(frozen=True, slots=True)
class ArtifactLogged:
    """A file logged under a run's artifact root: its path relative to the root, size and checksum."""

    kind: ClassVar[str] = Kind.ARTIFACT
    experiment_id: str
    run_id: str
    key: str  # the artifact path, "/"-separated, relative to the run's artifact root
    size: int
    checksum: str


Event = (
    ExperimentCreated
    | ExperimentRenamed
    | ExperimentDeleted
    | ExperimentRestored
    | ExperimentTagSet
    | ExperimentTagDeleted
    | RunCreated
    | RunUpdated
    | RunDeleted
    | RunRestored
    | ParamLogged
    | RunTagSet
    | RunTagDeleted
    | ArtifactLogged
)

EVENT_TYPES: tuple[type, ...] = Event.__args__
# Metric events have no class: the writer appends them straight into typed arrays (``Kind.METRIC``).
