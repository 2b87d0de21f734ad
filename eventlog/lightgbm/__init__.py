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

FLAVOR_NAME = "lightgbm"
# Types skops may load for LightGBM's sklearn-API models without the caller trusting them explicitly.
_SKOPS_TRUSTED_TYPES = (
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
)
_BOOSTER_CLASS = "lightgbm.basic.Booster"


def get_default_pip_requirements(include_cloudpickle: bool = False, include_skops: bool = False) -> list[str]:
    return _flavor.default_pip_requirements("lightgbm", include_cloudpickle, include_skops)


def get_default_conda_env(include_cloudpickle: bool = False, include_skops: bool = False) -> dict[str, Any]:
    return _flavor.default_conda_env(get_default_pip_requirements(include_cloudpickle, include_skops))


class _LGBModelWrapper:
    def __init__(self, lgb_model: Any) -> None:
        self.lgb_model = lgb_model

    def get_raw_model(self) -> Any:
        return self.lgb_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.lgb_model.predict(data)


class _LGBFlavor(_flavor.Flavor):
    """A Booster in LightGBM's text format (``model.lgb``); a scikit-learn-API model serialized as
    ``eventlog.sklearn`` serializes models (``model.skops`` or ``model.pkl``)."""

    name = FLAVOR_NAME
    loader_module = __name__
    wrapper = _LGBModelWrapper

    def __init__(
        self,
        lgb_model: Any,
        serialization_format: str | None,
        skops_trusted_types: list[str] | None,
        kwargs: dict[str, Any],
    ) -> None:
        import lightgbm

        from eventlog import sklearn as sk_flavor

        super().__init__(lgb_model)
        self.lgb_version = lightgbm.__version__
        self.is_booster = isinstance(lgb_model, lightgbm.Booster)
        self.serialization_format = serialization_format or sk_flavor._default_serialization_format()
        if self.serialization_format == sk_flavor.SERIALIZATION_FORMAT_SKOPS:
            skops_trusted_types = sorted(set(_SKOPS_TRUSTED_TYPES) | set(skops_trusted_types or []))
        self.skops_trusted_types = skops_trusted_types

    def write(self, path: str) -> str:
        from eventlog import sklearn as sk_flavor

        if self.is_booster:
            self.model.save_model(os.path.join(path, "model.lgb"))
            return "model.lgb"
        data = sk_flavor._data_file(self.serialization_format)
        sk_flavor._check_format(self.serialization_format)
        if self.serialization_format != sk_flavor.SERIALIZATION_FORMAT_SKOPS:
            sk_flavor._warn_unsafe_format("the models")
        sk_flavor._dump(
            self.model, os.path.join(path, data), self.serialization_format, self.skops_trusted_types
        )
        return data

    def flavor_conf(self, data: str, code: str | None) -> dict[str, Any]:
        return {
            "lgb_version": self.lgb_version,
            "data": data,
            "model_class": _flavor.class_name(self.model),
            "code": code,
            "serialization_format": self.serialization_format,
            "skops_trusted_types": self.skops_trusted_types,
        }

    def default_requirements(self, data_path: str) -> list[str]:
        from eventlog import sklearn as sk_flavor

        return get_default_pip_requirements(
            include_cloudpickle=not self.is_booster
            and self.serialization_format == sk_flavor.SERIALIZATION_FORMAT_CLOUDPICKLE,
            include_skops=not self.is_booster
            and self.serialization_format == sk_flavor.SERIALIZATION_FORMAT_SKOPS,
        )

    @classmethod
    def load(cls, model_dir: str, conf: dict[str, Any]) -> Any:
        from eventlog import sklearn as sk_flavor

        data_path = os.path.join(model_dir, conf["data"])
        if conf.get("model_class", _BOOSTER_CLASS) == _BOOSTER_CLASS:
            import lightgbm

            return lightgbm.Booster(model_file=data_path)
        return sk_flavor._load_from_file(
            data_path, conf.get("serialization_format", "cloudpickle"), conf.get("skops_trusted_types")
        )


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
    _flavor.save_model(_LGBFlavor, **locals())


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
    """Log a LightGBM model under ``name`` (default ``model``) in the active run's artifacts (MLflow 3
    LoggedModel fields such as ``params`` and extra keywords are accepted and ignored)."""
    return _flavor.log_model(save_model, **locals())


def load_model(model_uri: str, dst_path: str | None = None) -> Any:
    """Load a LightGBM model (Booster or sklearn-API class, as saved) from a URI or path."""
    return _flavor.load_model(_LGBFlavor, model_uri, dst_path)


_load_pyfunc = _LGBFlavor.load_pyfunc


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
    settings = dict(locals())  # the arguments, taken before anything else is bound
    from eventlog._autolog._lightgbm import autolog_impl

    _flavor.autolog(autolog_impl, settings)
