"""``eventlog.autolog()``: configure every supported integration, now or when its library is imported."""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType
from typing import Any

from eventlog._autolog import LIBRARY_TO_AUTOLOG_MODULE
from eventlog._autolog._config import (
    AUTOLOGGING_INTEGRATIONS,
    GLOBALLY_CONFIGURED,
    autologging_is_disabled,
    conf_lock,
    is_testing,
)
from eventlog._autolog._hooks import register_post_import_hook
from eventlog._autolog._warnings import logger

__all__ = ["configure"]


def configure(params: dict[str, Any], exclude_flavors: list[str] | None) -> None:
    excluded = {f"eventlog.{flavor}" for flavor in exclude_flavors or []}
    targets = {lib: mod for lib, mod in LIBRARY_TO_AUTOLOG_MODULE.items() if mod not in excluded}

    def setup_autologging(module: ModuleType) -> None:
        with conf_lock:
            accepted: dict[str, Any] | None = None
            try:
                flavor = importlib.import_module(targets[module.__name__])
                autolog_fn = flavor.autolog
                name = autolog_fn.integration_name
                previous = AUTOLOGGING_INTEGRATIONS.get(name)
                # A flavor the user configured with its own autolog() call keeps that configuration.
                if previous and not previous.get(GLOBALLY_CONFIGURED, False):
                    return
                wanted = inspect.signature(autolog_fn).parameters
                accepted = {k: v for k, v in params.items() if k in wanted}
                autolog_fn(**accepted)
                AUTOLOGGING_INTEGRATIONS[name][GLOBALLY_CONFIGURED] = True
                if not autologging_is_disabled(name) and not accepted.get("silent", False):
                    logger.info("Autologging successfully enabled for %s.", module.__name__)
            except Exception as exc:
                if is_testing():
                    raise
                if accepted is None or not accepted.get("silent", False):
                    logger.warning(
                        "Exception raised while enabling autologging for %s: %s", module.__name__, exc
                    )

    for library in sorted(targets):
        register_post_import_hook(setup_autologging, library, overwrite=True)
