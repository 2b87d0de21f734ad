"""XGBoost models and autologging, as ``mlflow.xgboost``.

    import eventlog as mlflow

    mlflow.xgboost.autolog()
    booster = xgboost.train(params, dtrain, evals=[(dvalid, "validation")], early_stopping_rounds=5)
    loaded = mlflow.xgboost.load_model(f"runs:/{mlflow.last_active_run().info.run_id}/model")

Models are saved in XGBoost's own format (``model.ubj`` by default; ``json`` and ``xgb`` too) with the
``xgboost`` and ``python_function`` flavors; the class (Booster, XGBClassifier...) is recorded and
restored on load.
"""

from __future__ import annotations

import os
from typing import Any

from eventlog._autolog._config import autologging_integration
from eventlog.models import _flavor

__all__ = [
    "FLAVOR_NAME",
    "autolog",
    "get_default_conda_env",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]

FLAVOR_NAME = "xgboost"


def get_default_pip_requirements() -> list[str]:
    return _flavor.default_pip_requirements("xgboost")


def get_default_conda_env() -> dict[str, Any]:
    return _flavor.default_conda_env(get_default_pip_requirements())


class _XGBModelWrapper:
    def __init__(self, xgb_model: Any) -> None:
        self.xgb_model = xgb_model

    def get_raw_model(self) -> Any:
        return self.xgb_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import xgboost

        if isinstance(self.xgb_model, xgboost.Booster):
            return self.xgb_model.predict(xgboost.DMatrix(data), validate_features=True)
        if isinstance(self.xgb_model, xgboost.XGBModel):
            return self.xgb_model.predict(data, validate_features=True)
        return self.xgb_model.predict(data)


class _XGBFlavor(_flavor.Flavor):
    """A Booster or sklearn-API model in XGBoost's own format (``model.<model_format>``), with its class."""

    name = FLAVOR_NAME
    loader_module = __name__
    wrapper = _XGBModelWrapper

    def __init__(self, xgb_model: Any, model_format: str, kwargs: dict[str, Any]) -> None:
        import xgboost

        super().__init__(xgb_model)
        self.xgb_version = xgboost.__version__
        self.model_format = model_format
        self.save_kwargs = kwargs

    def write(self, path: str) -> str:
        data = f"model.{self.model_format}"
        self.model.save_model(os.path.join(path, data), **self.save_kwargs)
        return data

    def flavor_conf(self, data: str, code: str | None) -> dict[str, Any]:
        return {
            "xgb_version": self.xgb_version,
            "data": data,
            "model_class": _flavor.class_name(self.model),
            "model_format": self.model_format,
            "code": code,
        }

    def default_requirements(self, data_path: str) -> list[str]:
        return get_default_pip_requirements()

    @classmethod
    def load(cls, model_dir: str, conf: dict[str, Any]) -> Any:
        import importlib

        module_name, _, class_name = conf.get("model_class", "xgboost.core.Booster").rpartition(".")
        model = getattr(importlib.import_module(module_name), class_name)()
        model.load_model(os.path.join(model_dir, conf["data"]))
        return model


def save_model(
    xgb_model: Any,
    path: str,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    mlflow_model: Any = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    model_format: str = "ubj",
    metadata: dict[str, Any] | None = None,
    extra_files: list[str] | None = None,
    **kwargs: Any,
) -> None:
    """Save an XGBoost Booster or sklearn-API model to a local directory (``kwargs`` go to
    ``save_model`` of the model)."""
    _flavor.save_model(_XGBFlavor, **locals())


def log_model(
    xgb_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    registered_model_name: str | None = None,
    signature: Any = None,
    input_example: Any = None,
    await_registration_for: int | None = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    model_format: str = "ubj",
    metadata: dict[str, Any] | None = None,
    extra_files: list[str] | None = None,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    **kwargs: Any,
) -> Any:
    """Log an XGBoost model under ``name`` (default ``model``) in the active run's artifacts; ``kwargs``
    go on to ``save_model``. The MLflow 3 LoggedModel fields (``params``...) are ignored."""
    return _flavor.log_model(save_model, True, **locals())


def load_model(model_uri: str, dst_path: str | None = None) -> Any:
    """Load an XGBoost model (Booster or sklearn-API class, as saved) from a URI or path."""
    return _flavor.load_model(_XGBFlavor, model_uri, dst_path)


_load_pyfunc = _XGBFlavor.load_pyfunc


@autologging_integration(FLAVOR_NAME)
def autolog(
    importance_types: list[str] | None = None,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    model_format: str = "ubj",
    extra_tags: dict[str, Any] | None = None,
) -> None:
    """Enable (or disable) and configure autologging from XGBoost, as ``mlflow.xgboost.autolog``.

    Logs the params of ``xgboost.train``, per-iteration metrics of every ``evals`` entry at step =
    iteration (``<eval name>-<metric>``), with early stopping ``stopped_iteration``,
    ``best_iteration`` and the best iteration's metrics at the next step, feature importance
    (``feature_importance_<type>.json`` / ``.png`` per ``importance_types``, default ``["weight"]``), and
    the model. The scikit-learn API (XGBClassifier, XGBRegressor...) is covered too.

    ``log_datasets`` is accepted but eventlog records no dataset inputs; ``registered_model_name`` is
    ignored with a warning (there is no model registry).
    """
    settings = dict(locals())  # the arguments, taken before anything else is bound
    from eventlog._autolog._xgboost import autolog_impl

    _flavor.autolog(autolog_impl, settings)
