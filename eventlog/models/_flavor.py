"""The steps of save_model / log_model / load_model that every flavor module shares, around a Flavor.

A flavor module (``eventlog.sklearn``, ``eventlog.xgboost``, ``eventlog.lightgbm``) spells out MLflow's
public signatures and hands each call's arguments over as they are, by name (the function's
``locals()``, taken before anything else is bound)::

    def save_model(sk_model, path, conda_env=None, ...):
        _flavor.save_model(_SklearnFlavor, **locals())

:func:`save_model` takes the arguments every flavor has (path, environment, code paths, signature,
input example, metadata, extra files) and builds the :class:`Flavor` subclass from the rest (the model
and the flavor's own options, such as ``serialization_format``). The subclass supplies only what
differs: its name, the model file(s) it writes and how it reads them back, its ``MLmodel`` section and
its default pip requirements. :func:`log_model` saves through the flavor's public ``save_model`` into a
temporary directory and logs that as the run's artifacts; :func:`load_model` finds the model's section
of ``MLmodel`` and lets the flavor load its file(s).
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from eventlog.models._model import Model, ModelInfo

__all__ = [
    "Flavor",
    "autolog",
    "class_name",
    "default_conda_env",
    "default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]

_logger = logging.getLogger("eventlog.models")


class Flavor(ABC):
    """One flavor's part of saving and loading a model: built per save from the model and the flavor's
    own ``save_model`` arguments (checks that must come before anything is written belong in
    ``__init__``); its class methods load."""

    name: ClassVar[str]  # the flavor's section of MLmodel: "sklearn"
    loader_module: ClassVar[str]  # the python_function loader: the flavor module
    wrapper: ClassVar[type[Any]]  # the python_function model; its predict infers signatures

    def __init__(self, model: Any) -> None:
        self.model = model

    @abstractmethod
    def write(self, path: str) -> str:
        """Write the model's file(s) into the model directory ``path``; the data file's name there."""
        raise NotImplementedError

    @abstractmethod
    def flavor_conf(self, data: str, code: str | None) -> dict[str, Any]:
        """The flavor's section of ``MLmodel`` (without ``extra_files``), ``code`` included."""
        raise NotImplementedError

    def pyfunc_conf(self, data: str) -> dict[str, Any] | None:
        """The flavor's own fields of the ``python_function`` section; None leaves the section out."""
        return {"data": data}

    @abstractmethod
    def default_requirements(self, data_path: str) -> list[str]:
        """The pip requirements written when the caller gives none (``eventlog`` itself comes first)."""
        raise NotImplementedError

    @classmethod
    @abstractmethod
    def load(cls, model_dir: str, conf: dict[str, Any]) -> Any:
        """The model saved in ``model_dir``, whose flavor section of ``MLmodel`` is ``conf``."""
        raise NotImplementedError

    @classmethod
    def load_pyfunc(cls, path: str) -> Any:
        """``_load_pyfunc`` of the flavor module: the model directory or its data file, wrapped."""
        from eventlog.models._model import flavor_configuration

        model_dir = os.path.dirname(path) if os.path.isfile(path) else path
        return cls.wrapper(cls.load(model_dir, flavor_configuration(model_dir, cls.name)))


def save_model(
    flavor: Callable[..., Flavor],
    *,
    path: str,
    conda_env: Any,
    code_paths: list[str] | None,
    mlflow_model: Model | None,
    signature: Any,
    input_example: Any,
    pip_requirements: Any,
    extra_pip_requirements: Any,
    metadata: dict[str, Any] | None,
    extra_files: list[str] | None,
    **flavor_arguments: Any,
) -> None:
    """Save a model into the directory ``path`` (which must not exist, or be empty) as MLflow lays it
    out; ``flavor(**flavor_arguments)`` writes the model file(s) and describes them."""
    from eventlog.models._env import validate_env_arguments, write_environment
    from eventlog.models._example import save_example
    from eventlog.models._model import (
        MLMODEL_FILE_NAME,
        add_pyfunc_flavor,
        copy_code_paths,
        copy_extra_files,
        directory_size,
        prepare_save_path,
    )
    from eventlog.models._signature import signature_from_example

    validate_env_arguments(conda_env, pip_requirements, extra_pip_requirements)
    saver = flavor(**flavor_arguments)
    path = prepare_save_path(path)
    code = copy_code_paths(code_paths, path)
    model = mlflow_model if mlflow_model is not None else Model()
    example = save_example(model, input_example, path)
    if signature is None and example is not None:
        signature = signature_from_example(example, saver.wrapper(saver.model).predict)
    elif signature is False:
        signature = None
    if signature is not None:
        model.signature = signature
    if metadata is not None:
        model.metadata = metadata
    data = saver.write(path)
    extra = copy_extra_files(extra_files, path)
    pyfunc = saver.pyfunc_conf(data)
    if pyfunc is not None:
        add_pyfunc_flavor(model, saver.loader_module, code=code, **pyfunc)
    model.add_flavor(saver.name, **saver.flavor_conf(data, code), **extra)
    model.model_size_bytes = directory_size(path)
    model.save(os.path.join(path, MLMODEL_FILE_NAME))
    # The defaults count only when neither conda_env nor pip_requirements replaces them.
    defaults = (
        saver.default_requirements(os.path.join(path, data))
        if conda_env is None and pip_requirements is None
        else []
    )
    write_environment(path, defaults, conda_env, pip_requirements, extra_pip_requirements)


def log_model(
    save: Callable[..., None],
    forward_kwargs: bool = False,
    *,
    name: str | None,
    artifact_path: str | None,
    registered_model_name: str | None,
    metadata: dict[str, Any] | None,
    await_registration_for: int | None,
    params: dict[str, Any] | None,
    tags: dict[str, Any] | None,
    model_type: str | None,
    step: int,
    model_id: str | None,
    kwargs: dict[str, Any],
    **save_arguments: Any,
) -> ModelInfo:
    """Log a model under ``name`` (default ``model``) in the active run's artifacts, saved by the
    flavor's ``save`` with ``save_arguments``.

    ``await_registration_for`` and the MLflow 3 LoggedModel fields (``params``, ``tags``,
    ``model_type``, ``step``, ``model_id``), which eventlog does not have, are accepted and ignored; so
    are the flavor's extra keywords (``kwargs``) unless ``forward_kwargs`` passes them on to ``save``."""
    from eventlog.models._model import log_model as log_saved

    if forward_kwargs:
        save_arguments.update(kwargs)
    return log_saved(
        save,
        name,
        artifact_path,
        registered_model_name=registered_model_name,
        metadata=metadata,
        **save_arguments,
    )


def load_model(flavor: type[Flavor], model_uri: str, dst_path: str | None = None) -> Any:
    """The model at ``model_uri`` (``runs:/<run_id>/<path>``, a local path or a URL), loaded by
    ``flavor``; its code paths go on ``sys.path`` first."""
    from eventlog.models._model import add_code_to_sys_path, download_model, flavor_configuration

    local = download_model(model_uri, dst_path)
    conf = flavor_configuration(local, flavor.name)
    add_code_to_sys_path(local, conf)
    return flavor.load(local, conf)


def default_pip_requirements(
    package: str, include_cloudpickle: bool = False, include_skops: bool = False
) -> list[str]:
    """``package`` pinned to its installed version, then cloudpickle and skops when asked for."""
    from eventlog.models._env import pinned_requirement

    wanted = [package]
    if include_cloudpickle:
        wanted.append("cloudpickle")
    if include_skops:
        wanted.append("skops")
    return [pinned_requirement(dist) for dist in wanted]


def default_conda_env(pip_requirements: list[str]) -> dict[str, Any]:
    """The conda environment of a flavor's default requirements (eventlog first)."""
    from eventlog.models._env import _conda_env, pinned_requirement

    return _conda_env([pinned_requirement("eventlog"), *pip_requirements])


def class_name(obj: Any) -> str:
    """The qualified name of the model's class (``xgboost.sklearn.XGBClassifier``), recorded in
    ``MLmodel`` to restore the same class."""
    return f"{obj.__class__.__module__}.{obj.__class__.__name__}"


def autolog(impl: Callable[..., None], settings: Mapping[str, Any]) -> None:
    """Run an integration's ``autolog_impl`` with the arguments of its flavor's ``autolog()``.

    eventlog has no model registry: ``registered_model_name`` is not passed on, and is warned about."""
    settings = dict(settings)
    registered_model_name = settings.pop("registered_model_name", None)
    if registered_model_name is not None:
        _logger.warning(
            "eventlog has no model registry: registered_model_name=%r is ignored.", registered_model_name
        )
    impl(**settings)
