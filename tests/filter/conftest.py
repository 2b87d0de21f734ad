"""Shared fixtures of the filter-language tests: one real MLflow sqlite store per session.

The store is filled once (MLflow's first use of a sqlite file runs its migrations) with >= 100 runs whose
params, metrics, tags, names, statuses and times are chosen to exercise every comparison rule, plus a
dozen experiments. ``runs_frame``/``experiments_frame`` are the wide frames our filters run on, built
from MLflow's own search results (info + latest metrics + params + tags).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

OPT_VALUES = [
    "Adam",
    "adam",
    "ADAM",
    "sgd",
    "SGD",
    "sgd_x",
    "a%b",
    "a_b",
    "axb",
    "it's",
    'say "hi"',
    "both ' and \"",
    "line\nbreak",
    "É",
    "é",
    "",
    " ",
    "100%",
    "back\\slash",
    "[a]",
    "(x)",
    "a.b",
    "日本",
]
LR_VALUES = ["0.1", "0.01", "1", "1e-3", "10"]
STAGES = ["Prod", "prod", "dev", "PROD", "stage_1", None]
RUN_NAMES = ["alpha", "Alpha", "beta", "run 1", "Q", "q", "a%b", "é-run"]
LOSS_STEPS: list[list[float]] = [
    [5.0, 2.0],
    [1.0, 3.0],
    [float("nan")],
    [1.0, float("nan")],
    [float("nan"), 0.5],
    [float("inf")],
    [float("-inf")],
    [-2.5],
    [0.0],
    [-0.0],
    [1e-3],
    [100.0, -100.0],
    [2.0],
    [3.0],
]
STATUSES = ["FINISHED", "FAILED", "KILLED", None]  # None: left RUNNING


@dataclass
class MlflowWorld:
    uri: str
    client: Any
    experiment_id: str
    runs: list[Any] = field(default_factory=list)
    runs_frame: Any = None
    experiments: list[Any] = field(default_factory=list)
    experiments_frame: Any = None


def _log_runs(client: Any, experiment_id: str) -> None:
    from mlflow.entities import Metric, Param, RunTag

    rng = random.Random(20240607)
    for i in range(120):
        name = RUN_NAMES[i % len(RUN_NAMES)]
        start = 1_700_000_000_000 + (i // 4) * 1000  # groups of 4 runs share a start time
        run = client.create_run(experiment_id, run_name=name, start_time=start)
        run_id = run.info.run_id
        metrics: list[Any] = []
        if i % 9 != 0:  # some runs have no loss at all
            for step, value in enumerate(LOSS_STEPS[i % len(LOSS_STEPS)]):
                metrics.append(Metric("loss", value, start + step, step))
        if i % 3 == 0:
            metrics.append(Metric("acc", rng.choice([0.1, 0.5, 0.9, float("nan")]), start, 0))
        metrics.append(Metric("a b", float(i % 5), start, 0))
        params = []
        if i % 11 != 0:
            params.append(Param("opt", OPT_VALUES[i % len(OPT_VALUES)]))
        if i % 2 == 0:
            params.append(Param("lr", LR_VALUES[i % len(LR_VALUES)]))
        if i % 13 == 5:
            params.append(Param("k.with.dots", "dotted"))
        tags = [RunTag("group", f"g{i % 4}")]
        stage = STAGES[i % len(STAGES)]
        if stage is not None:
            tags.append(RunTag("stage", stage))
        if i % 10 == 3:
            tags.append(RunTag("note", 'it\'s "quoted"'))
        client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
        status = STATUSES[i % len(STATUSES)]
        if status is not None:
            client.set_terminated(run_id, status, end_time=start + 500 + (i % 7))


def _run_rows(runs: list[Any]) -> list[dict[str, object]]:
    rows = []
    for run in runs:
        info = run.info
        row: dict[str, object] = {
            "attributes.run_id": info.run_id,
            "attributes.run_name": info.run_name,
            "attributes.status": info.status,
            "attributes.user_id": info.user_id,
            "attributes.artifact_uri": info.artifact_uri,
            "attributes.start_time": info.start_time,
            "attributes.end_time": info.end_time,
        }
        row.update({f"metrics.{k}": float(v) for k, v in run.data.metrics.items()})
        row.update({f"params.{k}": v for k, v in run.data.params.items()})
        row.update({f"tags.{k}": v for k, v in run.data.tags.items()})
        rows.append(row)
    return rows


def wide_frame(rows: list[dict[str, object]], int_columns: set[str]) -> Any:
    import polars as pl

    columns = sorted({k for row in rows for k in row})
    schema = {
        c: pl.Float64 if c.startswith("metrics.") else pl.Int64 if c in int_columns else pl.String
        for c in columns
    }
    return pl.DataFrame({c: [row.get(c) for row in rows] for c in columns}, schema=schema)


RUN_INT_COLUMNS = {"attributes.start_time", "attributes.end_time"}
EXPERIMENT_INT_COLUMNS = {
    "attributes.experiment_id",
    "attributes.creation_time",
    "attributes.last_update_time",
}

EXPERIMENT_NAMES = ["zeta", "Alpha", "alpha", "ALPHA", "beta_1", "beta%2", "É", "é", "it's", "x y", "mid"]


def _make_experiments(client: Any, root: Path) -> None:
    for i, name in enumerate(EXPERIMENT_NAMES):
        tags = {"team": ["ml", "ML", "data"][i % 3]}
        if i % 4 == 0:
            tags["owner"] = "Ann"
        client.create_experiment(name, artifact_location=str(root / "exp" / str(i)), tags=tags)


def _tie_creation_times(db: Path) -> None:
    """Give several experiments the same creation/update time, so that tie-breaking is observable."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE experiments SET creation_time = 1700000000000, last_update_time = 1700000000000 "
            "WHERE name IN ('zeta', 'Alpha', 'alpha', 'mid')"
        )


def experiment_rows(experiments: list[Any]) -> list[dict[str, object]]:
    rows = []
    for exp in experiments:
        row: dict[str, object] = {
            "attributes.experiment_id": int(exp.experiment_id),
            "attributes.name": exp.name,
            "attributes.creation_time": exp.creation_time,
            "attributes.last_update_time": exp.last_update_time,
        }
        row.update({f"tags.{k}": v for k, v in exp.tags.items()})
        rows.append(row)
    return rows


@pytest.fixture(scope="session")
def mlflow_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowWorld]:
    pytest.importorskip("mlflow")
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("filter-mlflow")
    uri = f"sqlite:///{root}/m.db"
    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment("runs", artifact_location=str(root / "artifacts"))
    _log_runs(client, experiment_id)
    _make_experiments(client, root)
    _tie_creation_times(root / "m.db")
    world = MlflowWorld(uri, client, experiment_id)
    world.runs = list(client.search_runs([experiment_id], max_results=1000))
    world.runs_frame = wide_frame(_run_rows(world.runs), RUN_INT_COLUMNS)
    world.experiments = list(client.search_experiments(max_results=1000))
    world.experiments_frame = wide_frame(experiment_rows(world.experiments), EXPERIMENT_INT_COLUMNS)
    yield world


def run_rows(world: MlflowWorld) -> list[dict[str, object]]:
    return _run_rows(world.runs)
