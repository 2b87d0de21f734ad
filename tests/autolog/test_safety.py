"""Autologging never breaks training: injected failures warn, the user's errors propagate, silent mode
is silent, patches layer and revert cleanly."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import pytest


def _iris() -> tuple[Any, Any]:
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True)


def _autolog_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("eventlog")]


def test_failure_in_autologging_warns_and_fit_still_works(
    eventlog_store: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sklearn.linear_model import LogisticRegression

    from eventlog._autolog import _sklearn

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("injected failure")

    monkeypatch.setattr(_sklearn, "log_estimator_content", boom)
    X, y = _iris()
    eventlog_store.sklearn.autolog(log_models=False)
    with caplog.at_level(logging.WARNING, logger="eventlog"):
        model = LogisticRegression(max_iter=300).fit(X, y)
    assert (model.predict(X[:5]) == [0, 0, 0, 0, 0]).all()
    assert eventlog_store.active_run() is None
    run = eventlog_store.last_active_run()
    assert run.info.status == "FAILED"  # as MLflow: the managed run's code raised
    assert run.data.params["max_iter"] == "300"  # logged before the failure
    messages = [r.getMessage() for r in _autolog_records(caplog)]
    assert "Encountered unexpected error during sklearn autologging: injected failure" in messages


def test_failure_before_training_still_trains_once(
    eventlog_store: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sklearn.linear_model import LinearRegression

    from eventlog._autolog import _sklearn

    calls = []
    original_fit = LinearRegression.fit

    def counting_fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original_fit(self, *args, **kwargs)

    monkeypatch.setattr(LinearRegression, "fit", counting_fit)
    monkeypatch.setattr(_sklearn, "get_X_y_and_sample_weight", lambda *a, **k: 1 / 0)
    X, y = _iris()
    eventlog_store.sklearn.autolog()
    with caplog.at_level(logging.WARNING, logger="eventlog"):
        model = LinearRegression().fit(X, y)
    assert hasattr(model, "coef_")
    assert calls == [1]
    assert any("division by zero" in r.getMessage() for r in _autolog_records(caplog))


def test_failure_in_xgboost_autologging(
    eventlog_store: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import xgboost as xgb

    from eventlog._autolog import _xgboost

    monkeypatch.setattr(_xgboost, "log_feature_importance", lambda *a, **k: 1 / 0)
    X, y = _iris()
    eventlog_store.xgboost.autolog(log_models=False)
    dtrain = xgb.DMatrix(X, label=y)
    with caplog.at_level(logging.WARNING, logger="eventlog"):
        booster = xgb.train(
            {"objective": "multi:softprob", "num_class": 3, "nthread": 1},
            dtrain,
            3,
            evals=[(dtrain, "train")],
        )
    assert booster.num_boosted_rounds() == 3
    run = eventlog_store.last_active_run()
    assert run.info.status == "FAILED"
    assert "train-mlogloss" in run.data.metrics
    assert any("xgboost autologging" in r.getMessage() for r in _autolog_records(caplog))


def test_failure_in_training_callback_does_not_stop_training(
    eventlog_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lightgbm as lgb

    from eventlog._autolog import _lightgbm

    monkeypatch.setattr(_lightgbm, "patch_metric_names", lambda metrics: 1 / 0)
    X, y = _iris()
    eventlog_store.lightgbm.autolog(log_models=False)
    train_set = lgb.Dataset(X, label=y)
    booster = lgb.train(
        {"objective": "multiclass", "num_class": 3, "verbose": -1, "num_threads": 1},
        train_set,
        num_boost_round=4,
        valid_sets=[train_set],
    )
    assert booster.current_iteration() == 4
    assert eventlog_store.last_active_run().info.status == "FINISHED"


def test_testing_mode_raises(eventlog_store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.linear_model import LogisticRegression

    from eventlog._autolog import _sklearn

    monkeypatch.setattr(_sklearn, "log_estimator_content", lambda *a, **k: 1 / 0)
    monkeypatch.setenv("EVENTLOG_AUTOLOGGING_TESTING", "true")
    X, y = _iris()
    eventlog_store.sklearn.autolog(log_models=False)
    with pytest.raises(ZeroDivisionError):
        LogisticRegression(max_iter=300).fit(X, y)
    assert eventlog_store.last_active_run().info.status == "FAILED"


def test_errors_of_the_original_propagate_unchanged(eventlog_store: Any) -> None:
    from sklearn.linear_model import LogisticRegression

    eventlog_store.sklearn.autolog(log_models=False)
    with pytest.raises(ValueError, match="Found input variables with inconsistent numbers of samples"):
        LogisticRegression().fit([[1.0], [2.0]], [0])
    assert eventlog_store.last_active_run().info.status == "FAILED"
    assert eventlog_store.active_run() is None


def test_silent_mode(
    eventlog_store: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """silent=True: no eventlog log records, no warnings from the autologging code (an injected failure
    included), but warnings of the user's own training call still show."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    from eventlog._autolog import _sklearn

    def failing(*args: Any, **kwargs: Any) -> Any:
        warnings.warn("a warning from autologging code", UserWarning, stacklevel=1)
        raise RuntimeError("injected failure")

    monkeypatch.setattr(_sklearn, "log_estimator_content", failing)
    X, y = _iris()
    eventlog_store.sklearn.autolog(silent=True, registered_model_name="ignored")
    with caplog.at_level(logging.DEBUG, logger="eventlog"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        LogisticRegression(max_iter=1).fit(X, y)
    assert _autolog_records(caplog) == []
    assert [w.category for w in caught] == [ConvergenceWarning]

    caplog.clear()
    eventlog_store.sklearn.autolog(silent=False, log_models=False)
    with caplog.at_level(logging.INFO, logger="eventlog"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        LogisticRegression(max_iter=1).fit(X, y)
    messages = [r.getMessage() for r in _autolog_records(caplog)]
    assert any(m.startswith("Created eventlog autologging run") for m in messages)
    assert any("a warning from autologging code" in m for m in messages)  # rerouted to the logger
    assert [w.category for w in caught] == [ConvergenceWarning]


def test_registered_model_name_is_ignored_with_a_warning(
    eventlog_store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from sklearn.tree import DecisionTreeClassifier

    X, y = _iris()
    with caplog.at_level(logging.WARNING, logger="eventlog"):
        eventlog_store.sklearn.autolog(registered_model_name="my-model")
    assert any("registered_model_name='my-model' is ignored" in r.getMessage() for r in caplog.records)
    DecisionTreeClassifier(max_depth=2).fit(X, y)
    run_id = eventlog_store.last_active_run().info.run_id
    files = [f.path for f in eventlog_store.MlflowClient().list_artifacts(run_id, "model")]
    assert "model/MLmodel" in files


def test_patches_layer_and_revert(eventlog_store: Any) -> None:
    """sklearn and xgboost autologging both patch sklearn.metrics: each reverts only its own layer."""
    import sklearn.metrics
    from sklearn.linear_model import LogisticRegression

    original_metric = sklearn.metrics.accuracy_score
    original_fit = LogisticRegression.__dict__["fit"]
    eventlog_store.sklearn.autolog()
    sk_patch = sklearn.metrics.accuracy_score
    eventlog_store.xgboost.autolog()
    assert sklearn.metrics.accuracy_score is not sk_patch
    eventlog_store.xgboost.autolog(disable=True)
    assert sklearn.metrics.accuracy_score is sk_patch
    eventlog_store.sklearn.autolog(disable=True)
    assert sklearn.metrics.accuracy_score is original_metric
    assert LogisticRegression.__dict__["fit"] is original_fit
    # An inherited method patched on a subclass is removed again, not copied into the subclass.
    from sklearn.linear_model import LinearRegression

    assert "score" not in LinearRegression.__dict__


def test_patched_methods_keep_signatures(eventlog_store: Any) -> None:
    import inspect

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    before = inspect.signature(LogisticRegression.fit)
    eventlog_store.sklearn.autolog()
    assert inspect.signature(LogisticRegression.fit) == before
    assert LogisticRegression.fit.__name__ == "fit"
    assert hasattr(Pipeline([("clf", LogisticRegression())]), "predict_proba")


def test_disable_for_unsupported_versions(
    eventlog_store: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    from sklearn.tree import DecisionTreeClassifier

    from eventlog._autolog import _versions

    monkeypatch.setitem(_versions.SUPPORTED_VERSIONS, "sklearn", ("sklearn", "scikit-learn", "99.0", "99.1"))
    X, y = _iris()
    with caplog.at_level(logging.WARNING, logger="eventlog"):
        eventlog_store.sklearn.autolog(log_models=False)
    assert any("known to be compatible with 99.0 <= scikit-learn" in r.getMessage() for r in caplog.records)
    eventlog_store.sklearn.autolog(log_models=False, disable_for_unsupported_versions=True)
    DecisionTreeClassifier(max_depth=2).fit(X, y)
    assert eventlog_store.last_active_run() is None


def test_worker_thread_without_run_does_not_start_one_inside_a_session(eventlog_store: Any) -> None:
    """A fit from a worker thread of a patched fit (no active run of its own) logs nothing."""
    import threading

    from sklearn.ensemble import VotingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    X, y = _iris()
    eventlog_store.sklearn.autolog(log_models=False)
    VotingClassifier(
        [("lr", LogisticRegression(max_iter=300)), ("dt", DecisionTreeClassifier())], n_jobs=2
    ).fit(X, y)
    runs = eventlog_store.search_runs(output_format="list")
    assert [r.data.tags["estimator_name"] for r in runs] == ["VotingClassifier"]
    assert threading.active_count() >= 1
