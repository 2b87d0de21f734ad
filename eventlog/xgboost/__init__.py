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

import logging
import os
from typing import Any

from eventlog._autolog._config import autologging_integration

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

_logger = logging.getLogger("eventlog.models")


def get_default_pip_requirements() -> list[str]:
    from eventlog.models._env import pinned_requirement

    return [pinned_requirement("xgboost")]


def get_default_conda_env() -> dict[str, Any]:
    from eventlog.models._env import _conda_env, pinned_requirement

    return _conda_env([pinned_requirement("eventlog"), *get_default_pip_requirements()])


def _class_name(obj: Any) -> str:
    return f"{obj.__class__.__module__}.{obj.__class__.__name__}"


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
    import xgboost

    from eventlog.models._env import validate_env_arguments, write_environment
    from eventlog.models._example import save_example
    from eventlog.models._model import (
        MLMODEL_FILE_NAME,
        Model,
        add_pyfunc_flavor,
        copy_code_paths,
        copy_extra_files,
        directory_size,
        prepare_save_path,
    )
    from eventlog.models._signature import signature_from_example

    validate_env_arguments(conda_env, pip_requirements, extra_pip_requirements)
    path = prepare_save_path(path)
    code = copy_code_paths(code_paths, path)
    model = mlflow_model if mlflow_model is not None else Model()
    example = save_example(model, input_example, path)
    if signature is None and example is not None:
        signature = signature_from_example(example, _XGBModelWrapper(xgb_model).predict)
    elif signature is False:
        signature = None
    if signature is not None:
        model.signature = signature
    if metadata is not None:
        model.metadata = metadata
    subpath = f"model.{model_format}"
    xgb_model.save_model(os.path.join(path, subpath), **kwargs)
    extra = copy_extra_files(extra_files, path)
    add_pyfunc_flavor(model, "eventlog.xgboost", code=code, data=subpath)
    model.add_flavor(
        FLAVOR_NAME,
        xgb_version=xgboost.__version__,
        data=subpath,
        model_class=_class_name(xgb_model),
        model_format=model_format,
        code=code,
        **extra,
    )
    model.model_size_bytes = directory_size(path)
    model.save(os.path.join(path, MLMODEL_FILE_NAME))
    write_environment(
        path, get_default_pip_requirements(), conda_env, pip_requirements, extra_pip_requirements
    )


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
    """Log an XGBoost model under ``name`` (default ``model``) in the active run's artifacts.

    ``params``, ``tags``, ``model_type``, ``step`` and ``model_id`` (MLflow 3 LoggedModel fields) are
    accepted and ignored."""
    from eventlog.models._model import log_model as _log

    return _log(
        save_model,
        name,
        artifact_path,
        registered_model_name=registered_model_name,
        metadata=metadata,
        xgb_model=xgb_model,
        conda_env=conda_env,
        code_paths=code_paths,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        model_format=model_format,
        extra_files=extra_files,
        **kwargs,
    )


def _load_model(path: str) -> Any:
    import importlib

    from eventlog.models._model import flavor_configuration

    model_dir = os.path.dirname(path) if os.path.isfile(path) else path
    conf = flavor_configuration(model_dir, FLAVOR_NAME)
    module_name, _, class_name = conf.get("model_class", "xgboost.core.Booster").rpartition(".")
    model = getattr(importlib.import_module(module_name), class_name)()
    model.load_model(os.path.join(model_dir, conf["data"]))
    return model


def load_model(model_uri: str, dst_path: str | None = None) -> Any:
    """Load an XGBoost model (Booster or sklearn-API class, as saved) from a URI or path."""
    from eventlog.models._model import add_code_to_sys_path, download_model, flavor_configuration

    local = download_model(model_uri, dst_path)
    add_code_to_sys_path(local, flavor_configuration(local, FLAVOR_NAME))
    return _load_model(local)


def _load_pyfunc(path: str) -> Any:
    return _XGBModelWrapper(_load_model(path))


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
    from eventlog._autolog._xgboost import autolog_impl

    if registered_model_name is not None:
        _logger.warning(
            "eventlog has no model registry: registered_model_name=%r is ignored.", registered_model_name
        )
    autolog_impl(
        importance_types=importance_types,
        log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures,
        log_models=log_models,
        log_datasets=log_datasets,
        disable=disable,
        exclusive=exclusive,
        disable_for_unsupported_versions=disable_for_unsupported_versions,
        silent=silent,
        model_format=model_format,
        extra_tags=extra_tags,
    )
