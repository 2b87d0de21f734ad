"""XGBoost and LightGBM autologging, differential against ``mlflow.xgboost`` / ``mlflow.lightgbm``:
per-iteration metrics at step = iteration, early stopping, feature importance, models."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.mlflow


def _breast_cancer() -> tuple[Any, Any, Any, Any]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, random_state=0)


def test_xgboost_train_evals_early_stopping(differential: Any) -> None:
    """``xgboost.train``: booster and train() params, ``train-*`` / ``eval-*`` at every iteration,
    ``stopped_iteration`` / ``best_iteration`` and the best iteration's metrics at the next step,
    feature importance JSON/PNG per importance type, the Booster with an input example."""

    def scenario(m: Any, ctx: Any) -> Any:
        import xgboost as xgb

        X_train, X_test, y_train, y_test = _breast_cancer()
        m.xgboost.autolog(log_input_examples=True, importance_types=["weight", "gain"])
        dtrain = xgb.DMatrix(X_train, label=y_train)
        dtest = xgb.DMatrix(X_test, label=y_test)
        booster = xgb.train(
            {"objective": "binary:logistic", "eval_metric": ["logloss", "auc"], "max_depth": 2, "nthread": 1},
            dtrain,
            num_boost_round=40,
            evals=[(dtrain, "train"), (dtest, "eval")],
            early_stopping_rounds=3,
            verbose_eval=False,
        )
        run_id = m.last_active_run().info.run_id
        loaded = m.xgboost.load_model(f"runs:/{run_id}/model")
        return bool((loaded.predict(dtest) == booster.predict(dtest)).all())

    differential(scenario)


def test_xgboost_sklearn_api_multiclass(differential: Any) -> None:
    """XGBClassifier.fit with an eval set and early stopping: params and ``validation_0-mlogloss`` from
    the inner train, the model logged as XGBClassifier; post-training metrics work on it."""

    def scenario(m: Any, ctx: Any) -> Any:
        import xgboost as xgb
        from sklearn.datasets import load_iris
        from sklearn.model_selection import train_test_split

        X, y = load_iris(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
        m.xgboost.autolog()
        import sklearn.metrics

        model = xgb.XGBClassifier(n_estimators=30, max_depth=2, early_stopping_rounds=3, n_jobs=1)
        model.fit(X_train, y_train, eval_set=[(X_train, y_train), (X_test, y_test)], verbose=False)
        sklearn.metrics.accuracy_score(y_test, model.predict(X_test))
        run_id = m.last_active_run().info.run_id
        loaded = m.xgboost.load_model(f"runs:/{run_id}/model")
        return {
            "class": type(loaded).__name__,
            "same": bool((loaded.predict(X_test) == model.predict(X_test)).all()),
        }

    differential(scenario)


def test_lightgbm_train_valid_sets_early_stopping(differential: Any) -> None:
    """``lightgbm.train`` with named valid sets and early stopping: ``train-*`` / ``valid-*`` per
    iteration, ``stopped_iteration`` / ``best_iteration``, split and gain importance, the Booster."""

    def scenario(m: Any, ctx: Any) -> Any:
        import lightgbm as lgb

        X_train, X_test, y_train, y_test = _breast_cancer()
        m.lightgbm.autolog(log_input_examples=True)
        train_set = lgb.Dataset(X_train, label=y_train)
        valid_set = lgb.Dataset(X_test, label=y_test, reference=train_set)
        booster = lgb.train(
            {"objective": "binary", "metric": ["binary_logloss", "auc"], "verbose": -1, "num_threads": 1},
            train_set,
            num_boost_round=40,
            valid_sets=[train_set, valid_set],
            valid_names=["train", "valid"],
            callbacks=[lgb.early_stopping(3, verbose=False)],
        )
        run_id = m.last_active_run().info.run_id
        loaded = m.lightgbm.load_model(f"runs:/{run_id}/model")
        return bool((loaded.predict(X_test) == booster.predict(X_test)).all())

    differential(scenario)


def test_lightgbm_sklearn_api_regressor_in_user_run(differential: Any) -> None:
    """LGBMRegressor.fit in the user's run with an eval set, no early stopping (no best-iteration
    metrics): ``valid_0-l2`` per iteration and the model as LGBMRegressor."""

    def scenario(m: Any, ctx: Any) -> Any:
        import lightgbm as lgb
        from sklearn.datasets import load_diabetes

        X, y = load_diabetes(return_X_y=True)
        m.lightgbm.autolog()
        with m.start_run(run_name="lgbm"):
            model = lgb.LGBMRegressor(n_estimators=15, verbose=-1, n_jobs=1)
            model.fit(X[:300], y[:300], eval_set=[(X[300:], y[300:])])
        run_id = m.last_active_run().info.run_id
        loaded = m.lightgbm.load_model(f"runs:/{run_id}/model")
        return {"class": type(loaded).__name__, "same": bool((loaded.predict(X) == model.predict(X)).all())}

    differential(scenario)


def test_gbm_exclusive_and_disable(differential: Any) -> None:
    """``exclusive`` keeps both libraries out of the user's run; ``disable`` turns them off."""

    def scenario(m: Any, ctx: Any) -> Any:
        import lightgbm as lgb
        import xgboost as xgb

        X_train, _, y_train, _ = _breast_cancer()
        m.xgboost.autolog(exclusive=True, log_models=False)
        m.lightgbm.autolog(disable=True)
        with m.start_run(run_name="user"):
            xgb.train({"max_depth": 2, "nthread": 1}, xgb.DMatrix(X_train, label=y_train), num_boost_round=3)
        lgb.train({"verbose": -1, "num_threads": 1}, lgb.Dataset(X_train, label=y_train), num_boost_round=3)
        xgb.train({"max_depth": 2, "nthread": 1}, xgb.DMatrix(X_train, label=y_train), num_boost_round=3)

    differential(scenario)
