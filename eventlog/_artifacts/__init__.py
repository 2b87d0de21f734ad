"""Artifacts: files logged under a run's artifact root, on any fsspec filesystem.

A run's artifact root is ``<experiment artifact_location>/<run_id>/artifacts`` (its ``artifact_uri``); the
experiment's location defaults to ``<default artifact root>/<experiment_id>`` (see
``_config.default_artifact_root``), so artifacts can live in S3 while the run log is local, or the other
way round. Files move through ``storage``'s streaming transfer: a file of any size is copied in chunks,
never held in memory, and its SHA-256 is computed on the way.

Every file logged also appends an ``artifact`` event (path relative to the run's root, size,
``sha256:<hex>``), so the run log knows what was logged, with checksums, and Parquet readers can query it.
Listing and downloading read the artifact storage itself, as MLflow does (files written there by other
tools count too); see docs/format.md, "Artifacts".

Paths are checked before anything is written: an ``artifact_path`` or ``artifact_file`` that is absolute,
climbs out of the run's root with ``..``, or is not in normal form (``a//b``, ``./a``) is rejected with
``INVALID_PARAMETER_VALUE`` and MLflow's message.

One job per module, each importing only those listed before it (no cycle):

- ``_paths``: artifact path rules and MLflow's errors for them;
- ``_media``: text, dicts, figures, images and tables to files and back (loaded on first use);
- ``_transfer``: a run's artifact root, uploads (with their artifact events), listing, downloads;
- ``_client``: ``ArtifactClientMixin``, MlflowClient's artifact methods, built from the three above;
- ``_fluent``: the fluent functions (``eventlog.log_artifact`` ...), which call ``MlflowClient``. This
  package does not import it, so that ``eventlog._client`` can import the mixin while ``_fluent`` imports
  ``eventlog._client``; ``eventlog`` imports it from ``eventlog._artifacts._fluent``.
"""

from __future__ import annotations

from eventlog._artifacts import _paths
from eventlog._artifacts._client import LOGGED_ARTIFACTS_TAG, LOGGED_IMAGES_TAG, ArtifactClientMixin
from eventlog._artifacts._transfer import open_artifact_location

__all__ = [
    "LOGGED_ARTIFACTS_TAG",
    "LOGGED_IMAGES_TAG",
    "ArtifactClientMixin",
    "open_artifact_location",
]

_artifact_dir = _paths.artifact_dir  # eventlog.models.log_model checks a model's name with it
