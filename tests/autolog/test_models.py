"""Model logging: the MLmodel descriptor, signatures, input examples, environments, save / log / load
for the three flavors, and interoperability with MLflow's own loaders."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml


def _iris_frame() -> tuple[pd.DataFrame, pd.Series]:
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y


def _signature_inputs() -> list[Any]:
    from scipy.sparse import csr_matrix

    X, _ = _iris_frame()
    mixed = pd.DataFrame(
        {
            "f": [1.5, np.nan],
            "i": np.array([1, 2], dtype="int32"),
            "l": [1, 2],
            "s": ["a", "b"],
            "b": [True, False],
            "o": ["x", None],
            "t": pd.to_datetime(["2024-01-01", "2024-01-02"]),
        }
    )
    return [
        X.head(),
        mixed,
        X["sepal length (cm)"].head(),
        X.to_numpy()[:5],
        np.array([1, 2, 3], dtype=np.int64),
        np.array([["a", "b"]]),
        {"a": np.zeros((2, 3), dtype=np.float32), "b": np.ones(2, dtype=np.uint8)},
        {"text": "hi", "n": 3},
        [{"a": 1, "b": "x"}, {"a": 2}],
        ["x", "y"],
        "scalar",
        3.5,
        csr_matrix(np.eye(3)),
    ]


@pytest.mark.mlflow
def test_infer_signature_matches_mlflow() -> None:
    import warnings

    from mlflow.models import infer_signature as mlflow_infer

    from eventlog.models import infer_signature

    for data in _signature_inputs():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = mlflow_infer(data, np.array([0, 1])).to_dict()
            actual = infer_signature(data, np.array([0, 1])).to_dict()
        assert actual == expected, data
    params = {"temperature": 0.5, "n": 3, "stop": ["a", "b"], "flag": True}
    assert (
        infer_signature(np.zeros((2, 2)), params=params).to_dict()
        == mlflow_infer(np.zeros((2, 2)), params=params).to_dict()
    )


@pytest.mark.mlflow
def test_input_example_files_match_mlflow(tmp_path: Any) -> None:
    from mlflow.models.utils import _Example
    from scipy.sparse import csc_matrix

    from eventlog.models import Example

    X, _ = _iris_frame()
    examples = [
        X.head(3),
        pd.DataFrame([[1.0, np.nan]]),
        X.to_numpy()[:2],
        np.array([[1.0, np.nan]]),
        {"a": np.arange(3), "b": np.zeros(2)},
        {"text": "hi", "n": [1, 2]},
        [1, 2, 3],
        "hello",
        csc_matrix(np.eye(2)),
        (np.zeros((1, 2)), {"temperature": 0.1}),
    ]
    for example in examples:
        expected, actual = _Example(example), Example(example)
        assert actual.json_input_example == expected.json_input_example, example
        assert actual.json_serving_input == expected.json_serving_input, example
        assert actual.info == expected.info, example


def test_sklearn_log_and_load(eventlog_store: Any, tmp_path: Any) -> None:
    from sklearn.linear_model import LogisticRegression

    X, y = _iris_frame()
    model = LogisticRegression(max_iter=500).fit(X, y)
    with eventlog_store.start_run() as run:
        info = eventlog_store.sklearn.log_model(
            model, name="clf", input_example=X.head(3), serialization_format="cloudpickle"
        )
    assert info.model_uri == f"runs:/{run.info.run_id}/clf"
    assert info.run_id == run.info.run_id and info.model_id.startswith("m-")
    assert info.signature.inputs.to_dict()[0] == {
        "type": "double",
        "name": "sepal length (cm)",
        "required": True,
    }
    client = eventlog_store.MlflowClient()
    files = sorted(f.path for f in client.list_artifacts(run.info.run_id, "clf"))
    assert files == [
        "clf/MLmodel",
        "clf/conda.yaml",
        "clf/input_example.json",
        "clf/model.pkl",
        "clf/python_env.yaml",
        "clf/requirements.txt",
        "clf/serving_input_example.json",
    ]
    expected = model.predict(X)
    for uri in (info.model_uri, client.download_artifacts(run.info.run_id, "clf", str(tmp_path))):
        assert (eventlog_store.sklearn.load_model(uri).predict(X) == expected).all()
    local = os.path.join(str(tmp_path), "clf")
    assert (eventlog_store.sklearn.load_model(f"file://{local}").predict(X) == expected).all()
    mlmodel = yaml.safe_load(open(os.path.join(local, "MLmodel")))
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == "cloudpickle"
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "eventlog.sklearn"
    assert mlmodel["run_id"] == run.info.run_id
    assert mlmodel["artifact_path"].endswith(f"{run.info.run_id}/artifacts/clf")
    assert mlmodel["saved_input_example_info"] == {
        "artifact_path": "input_example.json",
        "pandas_orient": "split",
        "serving_input_path": "serving_input_example.json",
        "type": "dataframe",
    }
    requirements = open(os.path.join(local, "requirements.txt")).read().splitlines()
    assert requirements[0].startswith("eventlog==")
    assert any(r.startswith("scikit-learn==") for r in requirements)
    assert any(r.startswith("cloudpickle==") for r in requirements)


@pytest.mark.parametrize("fmt", ["pickle", "cloudpickle", "skops"])
def test_sklearn_serialization_formats(eventlog_store: Any, tmp_path: Any, fmt: str) -> None:
    if fmt == "skops":
        pytest.importorskip("skops")
    from sklearn.tree import DecisionTreeRegressor

    X = np.arange(20, dtype=float).reshape(10, 2)
    y = X.sum(axis=1)
    model = DecisionTreeRegressor().fit(X, y)
    path = str(tmp_path / fmt)
    # skops refuses tree internals unless they are trusted (as with MLflow, whose default is skops).
    trusted = ["sklearn.tree._tree.Tree"] if fmt == "skops" else None
    eventlog_store.sklearn.save_model(model, path, serialization_format=fmt, skops_trusted_types=trusted)
    assert (eventlog_store.sklearn.load_model(path).predict(X) == y).all()
    data_file = "model.skops" if fmt == "skops" else "model.pkl"
    assert os.path.exists(os.path.join(path, data_file))
    assert (
        yaml.safe_load(open(os.path.join(path, "MLmodel")))["flavors"]["sklearn"]["serialization_format"]
        == fmt
    )


def test_save_model_errors(eventlog_store: Any, tmp_path: Any) -> None:
    from sklearn.tree import DecisionTreeRegressor

    from eventlog.exceptions import MlflowException

    model = DecisionTreeRegressor().fit([[0.0], [1.0]], [0.0, 1.0])
    with pytest.raises(MlflowException) as err:
        eventlog_store.sklearn.save_model(model, str(tmp_path / "a"), serialization_format="json")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(MlflowException) as err:
        eventlog_store.sklearn.save_model(model, str(tmp_path / "full"))
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(ValueError, match="Only one of `conda_env`, `pip_requirements`"):
        eventlog_store.sklearn.save_model(model, str(tmp_path / "b"), pip_requirements=["x"], conda_env={})
    with pytest.raises(MlflowException, match="Both `artifact_path` \\(deprecated\\) and `name`"):
        eventlog_store.sklearn.log_model(model, artifact_path="a", name="b")
    with pytest.raises(MlflowException, match="no model registry"):
        eventlog_store.sklearn.load_model("models:/m/1")


def test_requirements_arguments(eventlog_store: Any, tmp_path: Any) -> None:
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    eventlog_store.sklearn.save_model(
        model, str(tmp_path / "p"), pip_requirements=["scikit-learn", "-c c.txt"]
    )
    assert open(tmp_path / "p" / "requirements.txt").read().splitlines() == [
        "scikit-learn",
        "-c constraints.txt",
    ]
    assert open(tmp_path / "p" / "constraints.txt").read() == "c.txt"
    eventlog_store.sklearn.save_model(model, str(tmp_path / "e"), extra_pip_requirements=["extra-pkg==1.0"])
    requirements = open(tmp_path / "e" / "requirements.txt").read().splitlines()
    assert requirements[-1] == "extra-pkg==1.0" and any(r.startswith("scikit-learn==") for r in requirements)
    conda = yaml.safe_load(open(tmp_path / "e" / "conda.yaml"))
    assert conda["channels"] == ["conda-forge"] and conda["dependencies"][-1]["pip"] == requirements
    python_env = yaml.safe_load(open(tmp_path / "e" / "python_env.yaml"))
    assert python_env["dependencies"] == ["-r requirements.txt"]


def test_xgboost_and_lightgbm_models(eventlog_store: Any, tmp_path: Any) -> None:
    import lightgbm as lgb
    import xgboost as xgb

    X, y = _iris_frame()
    booster = xgb.train(
        {"objective": "multi:softprob", "num_class": 3, "nthread": 1}, xgb.DMatrix(X, label=y), 3
    )
    eventlog_store.xgboost.save_model(
        booster, str(tmp_path / "xgb"), model_format="json", input_example=X.head(2)
    )
    loaded = eventlog_store.xgboost.load_model(str(tmp_path / "xgb"))
    assert isinstance(loaded, xgb.Booster) and os.path.exists(tmp_path / "xgb" / "model.json")
    assert np.allclose(loaded.predict(xgb.DMatrix(X)), booster.predict(xgb.DMatrix(X)))
    signature = yaml.safe_load(open(tmp_path / "xgb" / "MLmodel"))["signature"]
    assert json.loads(signature["outputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}
    ]

    classifier = lgb.LGBMClassifier(n_estimators=5, verbose=-1, n_jobs=1).fit(X, y)
    with eventlog_store.start_run():
        info = eventlog_store.lightgbm.log_model(classifier, name="lgbm", serialization_format="cloudpickle")
        booster_info = eventlog_store.lightgbm.log_model(classifier.booster_, name="booster")
    restored = eventlog_store.lightgbm.load_model(info.model_uri)
    assert (
        type(restored).__name__ == "LGBMClassifier" and (restored.predict(X) == classifier.predict(X)).all()
    )
    restored_booster = eventlog_store.lightgbm.load_model(booster_info.model_uri)
    assert isinstance(restored_booster, lgb.Booster)
    assert np.allclose(restored_booster.predict(X), classifier.booster_.predict(X))


@pytest.mark.mlflow
def test_mlflow_loads_eventlog_models_and_back(eventlog_store: Any, tmp_path: Any) -> None:
    """The directory layout is MLflow's: MLflow loads eventlog's models (its flavor loaders, and pyfunc
    through ``eventlog.sklearn``), and eventlog loads MLflow's."""
    import mlflow.pyfunc
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    X, y = _iris_frame()
    model = LogisticRegression(max_iter=500).fit(X, y)
    ours = str(tmp_path / "ours")
    eventlog_store.sklearn.save_model(
        model, ours, input_example=X.head(2), serialization_format="cloudpickle"
    )
    assert (mlflow.sklearn.load_model(ours).predict(X) == model.predict(X)).all()
    assert (np.asarray(mlflow.pyfunc.load_model(ours).predict(X)) == model.predict(X)).all()
    theirs = str(tmp_path / "theirs")
    mlflow.sklearn.save_model(model, theirs, serialization_format="cloudpickle")
    assert (eventlog_store.sklearn.load_model(theirs).predict(X) == model.predict(X)).all()


def test_autolog_model_round_trip_on_memory_store(eventlog_store: Any) -> None:
    """Models of an fsspec store (memory://) download and load like local ones."""
    from sklearn.tree import DecisionTreeClassifier

    eventlog_store.set_tracking_uri("memory://autolog-models")
    X, y = _iris_frame()
    eventlog_store.sklearn.autolog()
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    run_id = eventlog_store.last_active_run().info.run_id
    loaded = eventlog_store.sklearn.load_model(f"runs:/{run_id}/model")
    assert (loaded.predict(X) == model.predict(X)).all()
