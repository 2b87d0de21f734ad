"""Patching library functions with exception-safe wrappers, and reverting them.

``safe_patch(integration, destination, name, patch_function)`` replaces ``destination.name`` (a class
method, a module function, or the ``fn`` of a descriptor object) with a wrapper that calls
``patch_function(original, *args, **kwargs)``, where ``original`` is the unpatched function:

- an exception raised by the *original* function propagates to the caller unchanged;
- an exception raised by the *autologging* code is logged as a warning and swallowed; the original
  function still runs (once) and its result is returned. In test mode (``EVENTLOG_AUTOLOGGING_TESTING``)
  it is raised instead;
- the original is called directly, with no logging at all, when the integration is disabled, when it
  is ``exclusive`` and a run the user started is active, inside ``disable_autologging()``, or when an
  earlier patch of the same autologging session failed;
- with ``manage_run=True`` a run tagged ``mlflow.autologging=<integration>`` is started when none is
  active and ended FINISHED after the call (FAILED if it raised, KeyboardInterrupt included).

Patches are layered per patch point: each integration has at most one layer on a point, every layer
wraps the true original (never another layer), and the attribute shows the newest layer. Reverting an
integration removes its layers; the point shows the next layer, or the original again (an attribute
that was only inherited is deleted from the class rather than copied into it).
"""

from __future__ import annotations

import functools
import inspect
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

from eventlog._autolog._config import (
    autologging_is_disabled,
    get_autologging_config,
    globally_disabled,
    is_testing,
)
from eventlog._autolog._warnings import logger, warnings_behavior

__all__ = [
    "AUTOLOGGING_TAG",
    "AutologgingSession",
    "new_training_session_class",
    "resolve_extra_tags",
    "revert_patches",
    "safe_patch",
]

AUTOLOGGING_TAG = "mlflow.autologging"

_MISSING: Any = object()
_lock = threading.RLock()


class _PatchPoint:
    __slots__ = ("destination", "layers", "name", "original")

    def __init__(self, destination: Any, name: str, original: Any) -> None:
        self.destination = destination
        self.name = name
        self.original = original  # the raw value in the destination's own namespace, or _MISSING
        self.layers: list[tuple[str, Any]] = []


_POINTS: dict[tuple[int, str], _PatchPoint] = {}
_BY_INTEGRATION: dict[str, set[tuple[int, str]]] = {}


def _own_namespace(obj: Any) -> Mapping[str, Any] | None:
    try:
        namespace = object.__getattribute__(obj, "__dict__")
    except AttributeError:
        return None
    return namespace if isinstance(namespace, (dict, type(type.__dict__))) else None


def get_original(destination: Any, name: str) -> Any:
    """The unpatched raw attribute (descriptors not applied), looking through every patch layer."""
    with _lock:
        if inspect.isclass(destination):
            for cls in inspect.getmro(destination):
                point = _POINTS.get((id(cls), name))
                if point is not None:
                    if point.original is not _MISSING:
                        return point.original
                    continue
                if name in cls.__dict__:
                    return cls.__dict__[name]
            raise AttributeError(f"{destination!r} has no attribute {name!r}")
        point = _POINTS.get((id(destination), name))
        if point is not None and point.original is not _MISSING:
            return point.original
        namespace = _own_namespace(destination)
        if namespace is not None and name in namespace:
            return namespace[name]
        return getattr(destination, name)


def _show(point: _PatchPoint) -> None:
    if point.layers:
        setattr(point.destination, point.name, point.layers[-1][1])
        return
    namespace = _own_namespace(point.destination)
    if point.original is _MISSING:
        if namespace is not None and point.name in namespace:
            delattr(point.destination, point.name)
    else:
        setattr(point.destination, point.name, point.original)
    _POINTS.pop((id(point.destination), point.name), None)


def _add_layer(integration: str, destination: Any, name: str, obj: Any) -> None:
    key = (id(destination), name)
    with _lock:
        point = _POINTS.get(key)
        if point is None:
            namespace = _own_namespace(destination)
            original = namespace[name] if namespace is not None and name in namespace else _MISSING
            point = _POINTS[key] = _PatchPoint(destination, name, original)
        point.layers = [layer for layer in point.layers if layer[0] != integration]
        point.layers.append((integration, obj))
        _BY_INTEGRATION.setdefault(integration, set()).add(key)
        _show(point)


def revert_patches(integration: str) -> None:
    """Remove every patch ``integration`` applied."""
    with _lock:
        for key in _BY_INTEGRATION.pop(integration, set()):
            point = _POINTS.get(key)
            if point is None:
                continue
            point.layers = [layer for layer in point.layers if layer[0] != integration]
            _show(point)


# -- sessions --------------------------------------------------------------------------------------------
class AutologgingSession:
    """One top-level patched call and everything it calls; ``state`` is running/succeeded/failed."""

    def __init__(self, integration: str) -> None:
        self.integration = integration
        self.id = uuid.uuid4().hex
        self.state = "running"


class _SessionManager:
    # Process-wide, as MLflow's: a patched call made from a worker thread of a patched call belongs to
    # the same session.
    session: AutologgingSession | None = None

    @classmethod
    @contextmanager
    def start(cls, integration: str) -> Iterator[AutologgingSession]:
        created = cls.session is None
        if created:
            cls.session = AutologgingSession(integration)
        assert cls.session is not None
        try:
            yield cls.session
        finally:
            if created:
                cls.session = None


def active_session() -> AutologgingSession | None:
    return _SessionManager.session


_training_session_classes: list[Any] = []


def new_training_session_class() -> Any:
    """A class of nested training sessions: ``with cls(estimator, allow_children) as s: s.should_log()``.

    A session logs if it is the outermost one, or if its parent allows children and no session up the
    stack trains the same estimator (a ``fit_predict`` that calls ``fit`` logs once). ``allow_children``
    is inherited: a child of a session that disallows children disallows them too.
    """

    class _TrainingSession:
        _stack: ClassVar[list[_TrainingSession]] = []

        def __init__(self, estimator: Any, allow_children: bool = True) -> None:
            self.estimator = estimator
            self.allow_children = allow_children
            self._parent: _TrainingSession | None = None

        def __enter__(self) -> _TrainingSession:
            stack = _TrainingSession._stack
            if stack:
                self._parent = stack[-1]
                self.allow_children = stack[-1].allow_children and self.allow_children
            stack.append(self)
            return self

        def __exit__(self, *exc: object) -> None:
            _TrainingSession._stack.pop()

        def should_log(self) -> bool:
            for session in _TrainingSession._stack:
                if session is self:
                    break
                if session.estimator is self.estimator:
                    return False
            return self._parent is None or self._parent.allow_children

        @staticmethod
        def is_active() -> bool:
            return bool(_TrainingSession._stack)

        @staticmethod
        def get_current_session() -> _TrainingSession | None:
            stack = _TrainingSession._stack
            return stack[-1] if stack else None

    _training_session_classes.append(_TrainingSession)
    return _TrainingSession


def has_active_training_session() -> bool:
    return any(cls.is_active() for cls in _training_session_classes)


# -- run management --------------------------------------------------------------------------------------
def resolve_extra_tags(integration: str, extra_tags: Any) -> dict[str, Any]:
    from eventlog.exceptions import MlflowException

    tags: dict[str, Any] = {AUTOLOGGING_TAG: integration}
    if extra_tags:
        if not isinstance(extra_tags, dict):
            raise MlflowException.invalid_parameter_value(
                f"Invalid `extra_tags` type: expecting dictionary, received `{type(extra_tags).__name__}`"
            )
        if AUTOLOGGING_TAG in extra_tags:
            extra_tags.pop(AUTOLOGGING_TAG)
            logger.warning(
                "Tag `%s` is ignored as it is a reserved tag by autologging.",
                AUTOLOGGING_TAG,
            )
        tags.update(extra_tags)
    return tags


def _with_managed_run(
    integration: str, patch_function: Callable[..., Any], tags: dict[str, Any]
) -> Callable[..., Any]:
    def patch_with_managed_run(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        import eventlog

        managed = None
        # A worker thread of a patched call has no active run of its own: it must not start one.
        if eventlog.active_run() is None and not has_active_training_session():
            managed = eventlog.start_run(tags=tags)
            logger.info(
                "Created eventlog autologging run with ID '%s', which will track hyperparameters, "
                "performance metrics, model artifacts, and lineage information for the current %s "
                "workflow",
                managed.info.run_id,
                integration,
            )
        try:
            result = patch_function(original, *args, **kwargs)
        except (Exception, KeyboardInterrupt):
            if managed is not None:
                eventlog.end_run("FAILED")
            raise
        if managed is not None:
            eventlog.end_run("FINISHED")
        return result

    return patch_with_managed_run


def _wrap_like(wrapper: Callable[..., Any], wrapped: Any) -> Callable[..., Any]:
    """``functools.update_wrapper`` plus the wrapped signature (libraries inspect fit signatures)."""
    functools.update_wrapper(wrapper, wrapped)
    try:
        wrapper.__signature__ = inspect.signature(wrapped)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        pass
    return wrapper


def safe_patch(
    integration: str,
    destination: Any,
    name: str,
    patch_function: Callable[..., Any],
    manage_run: bool = False,
    extra_tags: dict[str, Any] | None = None,
) -> None:
    """Patch ``destination.name`` with an exception-safe call of ``patch_function`` (see module doc)."""
    if manage_run:
        patch_function = _with_managed_run(
            integration, patch_function, resolve_extra_tags(integration, extra_tags)
        )
    raw = get_original(destination, name)
    if isinstance(raw, (staticmethod, classmethod, property)) or not callable(raw):
        raise TypeError(f"Unsupported patch on {destination!r}.{name}: {type(raw).__name__}")
    original: Callable[..., Any] = raw

    def safe_patch_function(*args: Any, **kwargs: Any) -> Any:
        import eventlog

        silent = bool(get_autologging_config(integration, "silent", False))
        with warnings_behavior(
            own_disabled=silent,
            own_rerouted=True,
            other_disabled=silent,
            other_rerouted=True,
            silent_logs=silent,
        ):
            session = active_session()
            exclusive = get_autologging_config(integration, "exclusive", False)
            user_run_active = eventlog.active_run() is not None and session is None
            if (
                (session is not None and session.state == "failed")
                or autologging_is_disabled(integration)
                or (user_run_active and exclusive)
                or globally_disabled()
            ):
                with warnings_behavior(other_disabled=False, other_rerouted=False):
                    return original(*args, **kwargs)

            called = False
            result: Any = None
            failed_in_original = False
            patch_error: Exception | None = None

            with _SessionManager.start(integration) as current:

                def call_original(*og_args: Any, **og_kwargs: Any) -> Any:
                    nonlocal called, result, failed_in_original
                    called = True
                    try:
                        with warnings_behavior(other_disabled=False, other_rerouted=False):
                            result = original(*og_args, **og_kwargs)
                    except BaseException:
                        failed_in_original = True
                        raise
                    return result

                _wrap_like(call_original, original)
                try:
                    patch_function(call_original, *args, **kwargs)
                    current.state = "succeeded"
                except Exception as exc:
                    current.state = "failed"
                    patch_error = exc
                    if failed_in_original or is_testing():
                        raise
                try:
                    if called:
                        return result
                    with warnings_behavior(other_disabled=False, other_rerouted=False):
                        return original(*args, **kwargs)
                finally:
                    if patch_error is not None and not failed_in_original:
                        logger.warning(
                            "Encountered unexpected error during %s autologging: %s",
                            integration,
                            patch_error,
                        )

    _add_layer(integration, destination, name, _wrap_like(safe_patch_function, original))


def exception_safe(function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a callback handed to a library (e.g. a training callback) so its errors only warn."""

    def safe_function(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            if is_testing():
                raise
            logger.warning("Encountered unexpected error during autologging: %s", exc)
            return None

    return functools.update_wrapper(safe_function, function)
