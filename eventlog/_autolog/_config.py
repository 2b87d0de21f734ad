"""The autologging configuration registry and the ``@autologging_integration`` decorator.

Every integration's ``autolog()`` is wrapped by :func:`autologging_integration`: a call stores the full
configuration (defaults filled in) under the integration's name, reverts the integration's previous
patches, and, unless ``disable=True``, runs the integration's set-up, which applies new patches. Patched
functions read their configuration from the registry on every call (``exclusive``, ``silent``,
``disable``...), so a later ``autolog()`` call reconfigures them.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from eventlog._autolog import _versions
from eventlog._autolog._warnings import logger, warnings_behavior

__all__ = [
    "AUTOLOGGING_INTEGRATIONS",
    "GLOBALLY_CONFIGURED",
    "autologging_integration",
    "autologging_is_disabled",
    "conf_lock",
    "disable_autologging",
    "get_autologging_config",
    "globally_disabled",
    "is_testing",
]

AUTOLOGGING_INTEGRATIONS: dict[str, dict[str, Any]] = {}
GLOBALLY_CONFIGURED = "globally_configured"
conf_lock = threading.RLock()

_globally_disabled = False

F = TypeVar("F", bound=Callable[..., Any])


def is_testing() -> bool:
    """Test mode: errors in autologging code are raised instead of warned about (as MLflow's
    ``MLFLOW_AUTOLOGGING_TESTING``; ``EVENTLOG_AUTOLOGGING_TESTING`` takes precedence)."""
    value = os.environ.get("EVENTLOG_AUTOLOGGING_TESTING")
    if value is None:
        value = os.environ.get("MLFLOW_AUTOLOGGING_TESTING", "false")
    return value.strip().lower() in ("true", "1")


def get_autologging_config(integration: str, key: str, default: Any = None) -> Any:
    config = AUTOLOGGING_INTEGRATIONS.get(integration)
    if config is None:
        return default
    return config.get(key, default)


def autologging_is_disabled(integration: str) -> bool:
    """Disabled explicitly, never configured, or configured to skip an unsupported library version."""
    if get_autologging_config(integration, "disable", True):
        return True
    return bool(
        integration in _versions.SUPPORTED_VERSIONS
        and get_autologging_config(integration, "disable_for_unsupported_versions", False)
        and not _versions.is_supported(integration)
    )


def globally_disabled() -> bool:
    return _globally_disabled


@contextlib.contextmanager
def disable_autologging() -> Iterator[None]:
    """Turn every integration off for the block (process-wide, as in MLflow)."""
    global _globally_disabled
    _globally_disabled = True
    try:
        yield
    finally:
        _globally_disabled = False


def _warn_if_unsupported(integration: str) -> None:
    # As MLflow: only the minimum is checked for the warning (maxima lag behind library releases).
    if (
        integration in _versions.SUPPORTED_VERSIONS
        and not get_autologging_config(integration, "disable", True)
        and not get_autologging_config(integration, "disable_for_unsupported_versions", False)
        and not _versions.is_supported(integration, check_max_version=False)
    ):
        _, dist, low, _ = _versions.SUPPORTED_VERSIONS[integration]
        logger.warning(
            "eventlog %s autologging is known to be compatible with %s <= %s, but the installed "
            "version is %s. If you encounter errors during autologging, try upgrading / downgrading "
            "%s to a compatible version.",
            integration,
            low,
            dist,
            _versions.installed_version(integration),
            dist,
        )


def autologging_integration(name: str) -> Callable[[F], F]:
    """Register ``name``'s ``autolog()``: store its configuration, revert its patches, re-apply them."""

    def decorator(fn: F) -> F:
        parameters = inspect.signature(fn).parameters
        for required in ("disable", "silent"):
            if required not in parameters or parameters[required].default is not False:
                raise TypeError(
                    f"Invalid `autolog()` function for integration '{name}'. `autolog()` functions "
                    f"must specify a '{required}' argument with default value 'False'"
                )
        defaults = {p.name: p.default for p in parameters.values()}
        names = list(parameters)

        @functools.wraps(fn)
        def autolog(*args: Any, **kwargs: Any) -> Any:
            from eventlog._autolog import _patch

            with conf_lock:
                config = dict(defaults)
                config.update(zip(names, args, strict=False))
                config.update(kwargs)
                AUTOLOGGING_INTEGRATIONS[name] = config
                _patch.revert_patches(name)
                if config.get("disable"):
                    return None
                silent = bool(config.get("silent"))
                with warnings_behavior(
                    own_disabled=silent,
                    own_rerouted=False,
                    other_disabled=silent,
                    other_rerouted=True,
                    silent_logs=silent,
                ):
                    _warn_if_unsupported(name)
                    return fn(*args, **kwargs)

        autolog.integration_name = name  # type: ignore[attr-defined]
        return autolog  # type: ignore[return-value]

    return decorator
