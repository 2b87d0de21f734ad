"""The README's main job: log a small experiment to the default local store (./mlruns) and print it.

Written against MLflow's API: only the import line differs from an MLflow script.
"""

from __future__ import annotations

import math
import random

import eventlog as mlflow


def train(lr: float, epochs: int, seed: int) -> None:
    rng = random.Random(seed)
    with mlflow.start_run(run_name=f"lr-{lr}"):
        mlflow.log_params({"lr": lr, "epochs": epochs, "seed": seed})
        mlflow.set_tag("model", "toy-regression")
        loss = 1.0
        for epoch in range(epochs):
            loss *= 1 - lr * (0.5 + rng.random())
            mlflow.log_metrics({"loss": loss, "accuracy": 1 - loss / 2}, step=epoch)
        with mlflow.start_run(run_name="evaluation", nested=True):
            mlflow.log_metric("rmse", math.sqrt(loss))


def main() -> None:
    experiment = mlflow.set_experiment("quickstart")
    for seed, lr in enumerate((0.05, 0.1, 0.2)):
        train(lr, epochs=20, seed=seed)

    client = mlflow.MlflowClient()
    print(f"store: {mlflow.get_tracking_uri()}")
    print(f"experiment {experiment.experiment_id} ({experiment.name})")
    run = mlflow.last_active_run()
    assert run is not None
    parent_id = run.data.tags.get("mlflow.parentRunId")
    for run_id in filter(None, (parent_id, run.info.run_id)):
        logged = client.get_run(run_id)
        print(f"\nrun {logged.info.run_id} '{logged.info.run_name}' {logged.info.status}")
        print(f"  params:  {dict(sorted(logged.data.params.items()))}")
        print(f"  metrics: { {k: round(v, 4) for k, v in sorted(logged.data.metrics.items())} }")
        history = client.get_metric_history(run_id, "loss")
        if history:
            print(f"  loss history: {len(history)} points, last step {history[-1].step}")
    print("\nlist everything with:  .venv/bin/eventlog runs -n quickstart")


if __name__ == "__main__":
    main()
