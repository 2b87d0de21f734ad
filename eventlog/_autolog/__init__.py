"""Autologging: ``eventlog.autolog()`` and the machinery the framework integrations share.

``import eventlog`` stays light: this module only defines :func:`autolog` and makes
``eventlog.sklearn``, ``eventlog.xgboost``, ``eventlog.lightgbm`` and ``eventlog.models`` lazy submodules
(loaded on first attribute access, as ``mlflow.sklearn`` is after ``import mlflow``). The rest lives in
submodules loaded on use:

- ``_config``: the per-integration configuration registry and the ``@autologging_integration`` decorator;
- ``_patch``: exception-safe patching (``safe_patch``), reverting, sessions and managed runs;
- ``_hooks``: post-import hooks (a ``sys.meta_path`` finder);
- ``_warnings``: silent mode and warning rerouting;
- ``_client``: queued, truncating logging; ``_utils``: input examples, signatures, argument names;
- ``_sklearn`` / ``_sklearn_content``: scikit-learn autologging (shared with the sklearn APIs of
  XGBoost and LightGBM); ``_gbm``: what the XGBoost and LightGBM integrations share.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["autolog"]

# The libraries eventlog.autolog() enables autologging for, and the module that does it.
LIBRARY_TO_AUTOLOG_MODULE = {
    "sklearn": "eventlog.sklearn",
    "xgboost": "eventlog.xgboost",
    "lightgbm": "eventlog.lightgbm",
}
_LAZY_SUBMODULES = ("sklearn", "xgboost", "lightgbm", "models")


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    log_traces: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: dict[str, str] | None = None,
    exclude_flavors: list[str] | None = None,
) -> None:
    """Enable (or disable) and configure autologging for every supported library, as ``mlflow.autolog``.

    Supported: scikit-learn, XGBoost and LightGBM. A library imported already is configured at once; one
    imported later is configured when its import completes (a post-import hook). Each integration gets
    the arguments its own ``autolog()`` accepts; an integration whose ``autolog()`` the user called
    explicitly keeps that configuration. ``exclude_flavors`` names flavors to leave alone (e.g.
    ``["lightgbm"]``). ``log_traces`` is accepted for compatibility (eventlog records no traces).
    """
    from eventlog._autolog._universal import configure

    configure(
        {
            "log_input_examples": log_input_examples,
            "log_model_signatures": log_model_signatures,
            "log_models": log_models,
            "log_datasets": log_datasets,
            "log_traces": log_traces,
            "disable": disable,
            "exclusive": exclusive,
            "disable_for_unsupported_versions": disable_for_unsupported_versions,
            "silent": silent,
            "extra_tags": extra_tags,
        },
        exclude_flavors,
    )


def _install_lazy_submodules() -> None:
    """Make ``eventlog.<flavor>`` usable after a plain ``import eventlog`` without loading it yet."""
    import importlib.util

    package = sys.modules.get("eventlog")
    if package is None:
        return
    for name in _LAZY_SUBMODULES:
        full = f"eventlog.{name}"
        module: Any = sys.modules.get(full)
        if module is None:
            spec = importlib.util.find_spec(full)
            if spec is None or spec.loader is None:
                continue
            spec.loader = importlib.util.LazyLoader(spec.loader)
            module = importlib.util.module_from_spec(spec)
            sys.modules[full] = module
            spec.loader.exec_module(module)
        setattr(package, name, module)


_install_lazy_submodules()
