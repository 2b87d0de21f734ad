"""Experiments: creation, naming, lifecycle and tags, on the catalog stream of the store.

Two put-if-absent claims make experiments safe without a coordination server:

- ``catalog/ids/<n>`` hands out sequential ids ("1", "2", ... like MLflow's SQL stores): a writer tries the
  next free number and moves on if another writer got there first.
- ``catalog/names/<hash>/<generation>.parquet`` is the name claim. The claim file *is* the segment holding
  the experiment_created (or experiment_renamed) event, so an experiment and its name appear in one
  atomic write. A name's newest generation is live while its experiment still bears that name; a new
  claim takes generation + 1, so two writers racing for one name cannot both win.

Other experiment events (delete, restore, tags) are small segments written at once to
``catalog/segments``; delete and restore also go to the experiment's partition, where they cascade to
its runs (same event id in both places, folded once).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from eventlog import _validation
from eventlog._events import (
    Event,
    ExperimentCreated,
    ExperimentDeleted,
    ExperimentRenamed,
    ExperimentRestored,
    ExperimentTagDeleted,
    ExperimentTagSet,
)
from eventlog._writer import Writer
from eventlog.entities import Experiment, ExperimentTag, LifecycleStage
from eventlog.exceptions import (
    InvalidParameterValue,
    InvalidState,
    MlflowException,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)
from eventlog.storage import Location
from eventlog.views import layout

if TYPE_CHECKING:
    import polars as pl

    from eventlog.views import ExperimentTables, SegmentCache

__all__ = ["DEFAULT_EXPERIMENT_ID", "DEFAULT_EXPERIMENT_NAME", "ExperimentCatalog"]

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
_MAX_CLAIM_ATTEMPTS = 50
RECENT_S = 1.0  # how old the catalog that a run creation checks its experiment against may be


class ExperimentCatalog:
    def __init__(self, location: Location, writer: Writer, cache: SegmentCache, artifact_root: str) -> None:
        self.location = location
        self.writer = writer
        self.cache = cache
        self.artifact_root = artifact_root.rstrip("/")
        self._next_id_hint = 1
        self._lock = threading.Lock()
        self._by_id: tuple[ExperimentTables, dict[str, Experiment]] | None = None
        self._by_id_at = 0.0

    # -- reading ------------------------------------------------------------------------------------
    def tables(self) -> ExperimentTables:
        from eventlog.views import experiment_tables

        return experiment_tables(self.location, self.cache)

    def all(self) -> list[Experiment]:
        tables = self.tables()
        return _to_entities(tables.experiments, tables.tags)

    def find(self, experiment_id: str) -> Experiment | None:
        tables = self.tables()
        # Every run creation looks its experiment up: the entities are built once per catalog fold (the
        # cache returns the same tables object while the catalog is unchanged), not filtered each time.
        known = self._by_id
        if known is None or known[0] is not tables:
            experiments = _to_entities(tables.experiments, tables.tags)
            known = self._by_id = (tables, {e.experiment_id: e for e in experiments})
        self._by_id_at = time.monotonic()
        found = known[1].get(experiment_id)
        # A copy: callers get an entity of their own, as from a fresh read.
        return None if found is None else copy.deepcopy(found)

    def find_recent(self, experiment_id: str) -> Experiment | None:
        """``find``, answered from the catalog as this process read it less than ``RECENT_S`` ago, unless
        this process changed the catalog since: the check each run creation makes. The entity is shared
        with the cache, for reading only. Another process's
        change (say, deleting the experiment) is seen at most that much later; the fold still applies it
        to the runs (a run created in a deleted experiment is deleted with it)."""
        known = self._by_id
        if known is not None and time.monotonic() - self._by_id_at < RECENT_S:
            found = known[1].get(experiment_id)
            if found is not None:
                return found  # (shared: callers only read it)
        return self.find(experiment_id)

    def get(self, experiment_id: str) -> Experiment:
        experiment = self.find(experiment_id)
        if experiment is None:
            raise ResourceDoesNotExist(f"No Experiment with id={experiment_id} exists")
        return experiment

    def get_by_name(self, name: str) -> Experiment | None:
        import polars as pl

        tables = self.tables()
        rows = tables.experiments.filter(pl.col("name") == name)
        if rows.height == 0:
            return None
        return _to_entities(rows, tables.tags)[0]

    # -- creating and naming ----------------------------------------------------------------------
    def ensure_default(self) -> None:
        """Create the Default experiment "0" unless it exists (every process may try; one wins)."""
        if self.location.exists(layout.name_claim(DEFAULT_EXPERIMENT_NAME, 0)):
            return
        try:
            self._claim_id(DEFAULT_EXPERIMENT_ID)
        except FileExistsError:
            pass  # claimed by a process that may have died before naming it: finish its work
        artifact_location = self.default_artifact_location(DEFAULT_EXPERIMENT_ID)
        claim = self.writer.encode_now(
            [ExperimentCreated(DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, artifact_location)]
        )
        try:
            self.location.put_if_absent(layout.name_claim(DEFAULT_EXPERIMENT_NAME, 0), claim)
            self._by_id_at = 0.0  # this process changed the catalog: look again
        except FileExistsError:
            pass

    def default_artifact_location(self, experiment_id: str) -> str:
        return f"{self.artifact_root}/{experiment_id}"

    def create(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, str] | None = None
    ) -> str:
        _validation.validate_experiment_name(name)
        _validation.validate_experiment_artifact_location(artifact_location)
        tag_items = [(str(k), str(v)) for k, v in (tags or {}).items()]
        for key, value in tag_items:
            _validation.validate_experiment_tag(key, value)
        for _ in range(_MAX_CLAIM_ATTEMPTS):
            generation = self._free_generation(name)
            experiment_id = self._allocate_id()
            location = artifact_location or self.default_artifact_location(experiment_id)
            events: list[Event] = [ExperimentCreated(experiment_id, name, location)]
            events.extend(ExperimentTagSet(experiment_id, key, value) for key, value in tag_items)
            try:
                self.location.put_if_absent(
                    layout.name_claim(name, generation), self.writer.encode_now(events)
                )
                self._by_id_at = 0.0  # this process changed the catalog: look again
            except FileExistsError:
                continue  # another writer claimed this generation first: look again
            return experiment_id
        raise ResourceAlreadyExists(f"Experiment(name={name}) already exists.")

    def _free_generation(self, name: str) -> int:
        """The generation a new claim of ``name`` must take; raises if the name is in use."""
        generations = self._generations(name)
        if not generations:
            return 0
        newest = generations[-1]
        holder = _claim_holder(self.location, layout.name_claim(name, newest))
        if holder is not None:
            current = self.find(holder)
            if current is not None and current.name == name:
                raise ResourceAlreadyExists(f"Experiment(name={name}) already exists.")
        return newest + 1

    def _generations(self, name: str) -> list[int]:
        names = self.location.list_names(layout.name_claim_dir(name))
        return sorted(
            int(n.split(".")[0]) for n in names if n.endswith(".parquet") and n.split(".")[0].isdigit()
        )

    def _allocate_id(self) -> str:
        with self._lock:
            candidate = self._next_id_hint
        for _ in range(_MAX_CLAIM_ATTEMPTS):
            try:
                self._claim_id(str(candidate))
            except FileExistsError:
                taken = [int(n) for n in self.location.list_names(layout.CATALOG_IDS) if n.isdigit()]
                candidate = max([candidate, *taken]) + 1
                continue
            with self._lock:
                self._next_id_hint = candidate + 1
            return str(candidate)
        raise InvalidState("Could not allocate an experiment id: too many concurrent creators; retry.")

    def _claim_id(self, experiment_id: str) -> None:
        body = json.dumps({"writer": self.writer.writer_id}).encode()
        self.location.put_if_absent(layout.experiment_id_claim(experiment_id), body)

    def rename(self, experiment_id: str, new_name: str) -> None:
        _validation.validate_experiment_name(new_name)
        experiment = self.get(experiment_id)
        if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
            raise InvalidState("Cannot rename a non-active experiment.")
        if experiment.name == new_name:
            return
        for _ in range(_MAX_CLAIM_ATTEMPTS):
            try:
                generation = self._free_generation(new_name)
            except ResourceAlreadyExists as exc:
                # MLflow's SQL store reports a rename onto a taken name as a bad request (a unique
                # constraint failure), not as RESOURCE_ALREADY_EXISTS.
                raise MlflowException(exc.message, "BAD_REQUEST") from None
            claim = self.writer.encode_now([ExperimentRenamed(experiment_id, new_name)])
            try:
                self.location.put_if_absent(layout.name_claim(new_name, generation), claim)
                self._by_id_at = 0.0  # this process changed the catalog: look again
            except FileExistsError:
                continue
            return
        raise ResourceAlreadyExists(f"Experiment(name={new_name}) already exists.")

    # -- lifecycle and tags ---------------------------------------------------------------------
    def delete(self, experiment_id: str) -> None:
        experiment = self.find(experiment_id)
        if experiment is None or experiment.lifecycle_stage != LifecycleStage.ACTIVE:
            raise ResourceDoesNotExist(f"No Experiment with id={experiment_id} exists")
        self._write_lifecycle(ExperimentDeleted(experiment_id))

    def restore(self, experiment_id: str) -> None:
        experiment = self.find(experiment_id)
        if experiment is None or experiment.lifecycle_stage != LifecycleStage.DELETED:
            raise ResourceDoesNotExist(f"No Experiment with id={experiment_id} exists")
        self._write_lifecycle(ExperimentRestored(experiment_id))

    def _write_lifecycle(self, event: ExperimentDeleted | ExperimentRestored) -> None:
        # Runs buffered for this experiment are published first, so the cascade sees them.
        self.writer.flush()
        self.writer.write_now(
            [event], [layout.CATALOG_SEGMENTS, layout.partition_segments(event.experiment_id)]
        )
        self._by_id_at = 0.0  # this process changed the catalog: look again

    def set_tag(self, experiment_id: str, key: str, value: str) -> None:
        _validation.validate_experiment_tag(key, value)
        self._require_active(experiment_id)
        self.writer.write_now([ExperimentTagSet(experiment_id, key, value)], [layout.CATALOG_SEGMENTS])
        self._by_id_at = 0.0  # this process changed the catalog: look again

    def delete_tag(self, experiment_id: str, key: str) -> None:
        experiment = self._require_active(experiment_id)
        if key not in experiment.tags:
            raise ResourceDoesNotExist(f"No tag with name: {key} in experiment with id {experiment_id}")
        self.writer.write_now([ExperimentTagDeleted(experiment_id, key)], [layout.CATALOG_SEGMENTS])
        self._by_id_at = 0.0  # this process changed the catalog: look again

    def _require_active(self, experiment_id: str) -> Experiment:
        experiment = self.get(experiment_id)
        if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
            raise InvalidParameterValue(
                f"The experiment {experiment_id} must be in the 'active' state. "
                f"Current state is {experiment.lifecycle_stage}."
            )
        return experiment

    def search(self, view_type: int) -> list[Experiment]:
        stages = LifecycleStage.view_type_to_stages(view_type)
        return [e for e in self.all() if e.lifecycle_stage in stages]


def _claim_holder(location: Location, rel: str) -> str | None:
    """The experiment id a name claim names (the claim is a one-event segment)."""
    from eventlog.views import read_segment_files

    events = read_segment_files(location, [rel])
    if events.height == 0:
        return None
    return str(events.get_column("experiment_id")[0])


def _to_entities(experiments: pl.DataFrame, tags: pl.DataFrame) -> list[Experiment]:
    by_experiment: dict[str, list[ExperimentTag]] = {}
    for row in tags.iter_rows(named=True):
        by_experiment.setdefault(row["experiment_id"], []).append(ExperimentTag(row["key"], row["value"]))
    return [
        Experiment(
            experiment_id=row["experiment_id"],
            name=row["name"],
            artifact_location=row["artifact_location"],
            lifecycle_stage=row["lifecycle_stage"],
            tags=by_experiment.get(row["experiment_id"], []),
            creation_time=row["creation_time"],
            last_update_time=row["last_update_time"],
        )
        for row in experiments.iter_rows(named=True)
    ]
