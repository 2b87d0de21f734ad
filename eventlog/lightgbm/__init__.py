"""LightGBM models and autologging, as ``mlflow.lightgbm``.

    import eventlog as mlflow

    mlflow.lightgbm.autolog()
    booster = lightgbm.train(params, train_set, valid_sets=[valid], callbacks=[lightgbm.early_stopping(5)])
    loaded = mlflow.lightgbm.load_model(f"runs:/{mlflow.last_active_run().info.run_id}/model")

A Booster is saved in LightGBM's text format (``model.lgb``); a scikit-learn-API model (LGBMClassifier...)
with ``skops`` when the skops package is installed (MLflow 3's default outside Databricks), else
``cloudpickle``, or as ``serialization_format`` says.
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

FLAVOR_NAME = "lightgbm"
# Types skops may load for LightGBM's sklearn-API models without the caller trusting them explicitly.
_SKOPS_TRUSTED_TYPES = (
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
)
_BOOSTER_CLASS = "lightgbm.basic.Booster"

_logger = logging.getLogger("eventlog.models")


def get_default_pip_requirements(include_cloudpickle: bool = False, include_skops: bool = False) -> list[str]:
    from eventlog.models._env import pinned_requirement

    requirements = [pinned_requirement("lightgbm")]
    if include_cloudpickle:
        requirements.append(pinned_requirement("cloudpickle"))
    if include_skops:
        requirements.append(pinned_requirement("skops"))
    return requirements


def get_default_conda_env(include_cloudpickle: bool = False, include_skops: bool = False) -> dict[str, Any]:
    from eventlog.models._env import _conda_env, pinned_requirement

    return _conda_env(
        [pinned_requirement("eventlog"), *get_default_pip_requirements(include_cloudpickle, include_skops)]
    )


def _class_name(obj: Any) -> str:
    return f"{obj.__class__.__module__}.{obj.__class__.__name__}"


def save_model(
    lgb_model: Any,
    path: str,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    mlflow_model: Any = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    serialization_format: str | None = None,
    skops_trusted_types: list[str] | None = None,
    extra_files: list[str] | None = None,
    **kwargs: Any,
) -> None:
    """Save a LightGBM Booster or sklearn-API model to a local directory."""
    import lightgbm

    from eventlog import sklearn as sk_flavor
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
    serialization_format = serialization_format or sk_flavor._default_serialization_format()
    is_booster = isinstance(lgb_model, lightgbm.Booster)
    path = prepare_save_path(path)
    if is_booster:
        subpath = "model.lgb"
    elif serialization_format == sk_flavor.SERIALIZATION_FORMAT_SKOPS:
        subpath = "model.skops"
    else:
        subpath = "model.pkl"
    code = copy_code_paths(code_paths, path)
    model = mlflow_model if mlflow_model is not None else Model()
    example = save_example(model, input_example, path)
    if signature is None and example is not None:
        signature = signature_from_example(example, _LGBModelWrapper(lgb_model).predict)
    elif signature is False:
        signature = None
    if signature is not None:
        model.signature = signature
    if metadata is not None:
        model.metadata = metadata
    if serialization_format == sk_flavor.SERIALIZATION_FORMAT_SKOPS:
        skops_trusted_types = sorted(set(_SKOPS_TRUSTED_TYPES) | set(skops_trusted_types or []))
    data_path = os.path.join(path, subpath)
    if is_booster:
        lgb_model.save_model(data_path)
    else:
        sk_flavor._check_format(serialization_format)
        if serialization_format != sk_flavor.SERIALIZATION_FORMAT_SKOPS:
            _logger.warning(
                "Saving the models in the pickle or cloudpickle format requires exercising caution because "
                "these formats rely on Python's object serialization mechanism, which can execute arbitrary "
                "code during deserialization. The recommended safe alternative is the 'skops' format. For "
                "more information, see: https://scikit-learn.org/stable/model_persistence.html"
            )
        sk_flavor._dump(lgb_model, data_path, serialization_format, skops_trusted_types)
    extra = copy_extra_files(extra_files, path)
    add_pyfunc_flavor(model, "eventlog.lightgbm", code=code, data=subpath)
    model.add_flavor(
        FLAVOR_NAME,
        lgb_version=lightgbm.__version__,
        data=subpath,
        model_class=_class_name(lgb_model),
        code=code,
        serialization_format=serialization_format,
        skops_trusted_types=skops_trusted_types,
        **extra,
    )
    model.model_size_bytes = directory_size(path)
    model.save(os.path.join(path, MLMODEL_FILE_NAME))
    defaults = get_default_pip_requirements(
        include_cloudpickle=not is_booster
        and serialization_format == sk_flavor.SERIALIZATION_FORMAT_CLOUDPICKLE,
        include_skops=not is_booster and serialization_format == sk_flavor.SERIALIZATION_FORMAT_SKOPS,
    )
    write_environment(path, defaults, conda_env, pip_requirements, extra_pip_requirements)


def log_model(
    lgb_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    registered_model_name: str | None = None,
    signature: Any = None,
    input_example: Any = None,
    await_registration_for: int | None = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    serialization_format: str | None = None,
    skops_trusted_types: list[str] | None = None,
    extra_files: list[str] | None = None,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    **kwargs: Any,
) -> Any:
    """Log a LightGBM model under ``name`` (default ``model``) in the active run's artifacts.

    ``params``, ``tags``, ``model_type``, ``step`` and ``model_id`` (MLflow 3 LoggedModel fields) are
    accepted and ignored."""
    from eventlog.models._model import log_model as _log

    return _log(
        save_model,
        name,
        artifact_path,
        registered_model_name=registered_model_name,
        metadata=metadata,
        lgb_model=lgb_model,
        conda_env=conda_env,
        code_paths=code_paths,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        serialization_format=serialization_format,
        skops_trusted_types=skops_trusted_types,
        extra_files=extra_files,
    )


def _load_model(path: str) -> Any:
    from eventlog import sklearn as sk_flavor
    from eventlog.models._model import flavor_configuration

    model_dir = os.path.dirname(path) if os.path.isfile(path) else path
    conf = flavor_configuration(model_dir, FLAVOR_NAME)
    data_path = os.path.join(model_dir, conf["data"])
    if conf.get("model_class", _BOOSTER_CLASS) == _BOOSTER_CLASS:
        import lightgbm

        return lightgbm.Booster(model_file=data_path)
    return sk_flavor._load_from_file(
        data_path, conf.get("serialization_format", "cloudpickle"), conf.get("skops_trusted_types")
    )


def load_model(model_uri: str, dst_path: str | None = None) -> Any:
    """Load a LightGBM model (Booster or sklearn-API class, as saved) from a URI or path."""
    from eventlog.models._model import add_code_to_sys_path, download_model, flavor_configuration

    local = download_model(model_uri, dst_path)
    add_code_to_sys_path(local, flavor_configuration(local, FLAVOR_NAME))
    return _load_model(local)


def _load_pyfunc(path: str) -> Any:
    return _LGBModelWrapper(_load_model(path))


class _LGBModelWrapper:
    def __init__(self, lgb_model: Any) -> None:
        self.lgb_model = lgb_model

    def get_raw_model(self) -> Any:
        return self.lgb_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.lgb_model.predict(data)


@autologging_integration(FLAVOR_NAME)
def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, Any] | None = None,
) -> None:
    """Enable (or disable) and configure autologging from LightGBM, as ``mlflow.lightgbm.autolog``.

    Logs the params of ``lightgbm.train``, per-iteration metrics (``<data name>-<eval name>``) at step =
    iteration, with early stopping ``stopped_iteration``, ``best_iteration`` and the best iteration's
    metrics at the next step, ``feature_importance_split`` / ``feature_importance_gain`` (JSON and PNG),
    and the model. The scikit-learn API (LGBMClassifier, LGBMRegressor...) is covered too.

    ``log_datasets`` is accepted but eventlog records no dataset inputs; ``registered_model_name`` is
    ignored with a warning (there is no model registry).
    """
    from eventlog._autolog._lightgbm import autolog_impl

    if registered_model_name is not None:
        _logger.warning(
            "eventlog has no model registry: registered_model_name=%r is ignored.", registered_model_name
        )
    autolog_impl(
        log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures,
        log_models=log_models,
        log_datasets=log_datasets,
        disable=disable,
        exclusive=exclusive,
        disable_for_unsupported_versions=disable_for_unsupported_versions,
        silent=silent,
        extra_tags=extra_tags,
    )
