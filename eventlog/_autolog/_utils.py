"""Helpers shared by the integrations: call arguments as params, input examples and signatures, and
the name of the variable a value came from."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from eventlog._autolog._warnings import logger

__all__ = [
    "ENSURE_AUTOLOGGING_ENABLED_TEXT",
    "INPUT_EXAMPLE_SAMPLE_ROWS",
    "InputExampleInfo",
    "arg_names",
    "fn_args_as_params",
    "inspect_original_var_name",
    "instance_method_first_arg",
    "resolve_input_example_and_signature",
]

INPUT_EXAMPLE_SAMPLE_ROWS = 5
ENSURE_AUTOLOGGING_ENABLED_TEXT = "please ensure that autologging is enabled before constructing the dataset."


class InputExampleInfo:
    """An input example sampled when a dataset object was built (the data can't be read back later),
    or the reason it could not be."""

    def __init__(self, input_example: Any = None, error_msg: str | None = None) -> None:
        self.input_example = input_example
        self.error_msg = error_msg


def arg_names(fn: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(fn).parameters)


def fn_args_as_params(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], unlogged: list[str]
) -> dict[str, Any]:
    """The call's arguments by name: positional ones, keyword ones, then defaults of the rest."""
    params = [p for p in inspect.signature(fn).parameters.values() if p.name != "self"]
    out = {p.name: value for p, value in zip(params[: len(args)], args, strict=False)}
    out.update(kwargs)
    out.update({p.name: p.default for p in params[len(args) :] if p.name not in kwargs})
    return {k: v for k, v in out.items() if k not in unlogged}


def instance_method_first_arg(
    method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """The first argument after ``self`` of a method call, given positionally or by name."""
    if args:
        return args[0]
    names = arg_names(method)
    return kwargs.get(names[1]) if len(names) > 1 else None


def inspect_original_var_name(var: Any, fallback_name: str) -> str:
    """The name the caller's outermost frame holding ``var`` gives it (walking up past frames that
    received it as an argument), or ``fallback_name``."""
    if var is None:
        return fallback_name
    try:
        frame = inspect.currentframe()
        frame = frame.f_back if frame is not None else None
        while frame is not None:
            info = inspect.getargvalues(frame)
            passed = [info.locals[name] for name in info.args if name in info.locals]
            if info.varargs and info.varargs in info.locals:
                passed.extend(info.locals[info.varargs])
            if info.keywords and info.keywords in info.locals:
                passed.extend(info.locals[info.keywords].values())
            if any(var is arg for arg in passed):
                frame = frame.f_back
                continue
            for name, value in frame.f_locals.items():
                if value is var:
                    return str(name)
            break
        return fallback_name
    except Exception:
        return fallback_name


def resolve_input_example_and_signature(
    get_input_example: Callable[[], Any],
    infer_model_signature: Callable[[Any], Any],
    log_input_example: bool,
    log_model_signature: bool,
) -> tuple[Any, Any]:
    """(input example or None, signature / None / False) as MLflow resolves them for autologging.

    The example is sampled even when it is not logged, because the signature is inferred from it.
    ``False`` as the signature tells ``log_model`` not to infer one from the example either.
    """
    input_example = None
    example_failure = None
    if log_input_example or log_model_signature:
        try:
            input_example = get_input_example()
        except Exception as exc:
            example_failure = str(exc)
    signature: Any = None
    signature_failure = None
    if log_model_signature:
        try:
            if input_example is None:
                raise Exception(f"could not sample data to infer model signature: {example_failure}")
            signature = infer_model_signature(input_example)
        except Exception as exc:
            signature_failure = f"Failed to infer model signature: {exc}"
    if (
        signature is None
        and input_example is not None
        and (not log_model_signature or signature_failure is not None)
    ):
        signature = False
    if log_input_example and example_failure is not None:
        logger.warning("Failed to gather input example: %s", example_failure)
    if log_model_signature and signature_failure is not None:
        logger.warning(signature_failure)
    return (input_example if log_input_example else None), signature
