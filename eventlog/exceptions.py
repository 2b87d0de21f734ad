"""Errors raised by eventlog, compatible with ``mlflow.exceptions.MlflowException``.

MLflow scripts catch ``MlflowException`` and compare ``e.error_code`` with a code *name* such as
``"RESOURCE_DOES_NOT_EXIST"``; that string is the compatible interface. On top of it sits a small tree of
typed subclasses, so new code can ``except`` on the kind of failure instead of comparing strings::

    Exception
     └── MlflowException                      error_code given, default INTERNAL_ERROR
          ├── InvalidParameterValue           INVALID_PARAMETER_VALUE  (HTTP 400)
          ├── ResourceDoesNotExist            RESOURCE_DOES_NOT_EXIST  (HTTP 404)
          ├── ResourceAlreadyExists           RESOURCE_ALREADY_EXISTS  (HTTP 400)
          ├── InvalidState                    INVALID_STATE            (HTTP 500, as in MLflow)
          ├── StoreError                      INTERNAL_ERROR: a store file is missing, corrupt or unreadable
          └── BackgroundFlushError            INTERNAL_ERROR: a background flush failed; raised on the
                                              caller's next call, chained (``__cause__``) to the failure

``MlflowException(msg, error_code="RESOURCE_DOES_NOT_EXIST")`` builds a ``ResourceDoesNotExist``: the four
code-named subclasses are picked from the code, so ``except ResourceDoesNotExist`` also catches errors
raised the MLflow way. ``error_code`` may be a code name or MLflow's protobuf number
(``mlflow.protos.databricks_pb2``); an unknown code becomes ``INTERNAL_ERROR``, as in MLflow.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ABORTED",
    "ALREADY_EXISTS",
    "BAD_REQUEST",
    "CANCELLED",
    "CUSTOMER_UNAUTHORIZED",
    "DATA_LOSS",
    "DEADLINE_EXCEEDED",
    "ENDPOINT_NOT_FOUND",
    "ERROR_CODE_TO_HTTP_STATUS",
    "FEATURE_DISABLED",
    "INTERNAL_ERROR",
    "INVALID_PARAMETER_VALUE",
    "INVALID_STATE",
    "NOT_FOUND",
    "NOT_IMPLEMENTED",
    "PERMISSION_DENIED",
    "REQUEST_LIMIT_EXCEEDED",
    "RESOURCE_ALREADY_EXISTS",
    "RESOURCE_CONFLICT",
    "RESOURCE_DOES_NOT_EXIST",
    "RESOURCE_EXHAUSTED",
    "TEMPORARILY_UNAVAILABLE",
    "UNAUTHENTICATED",
    "BackgroundFlushError",
    "InvalidParameterValue",
    "InvalidState",
    "MlflowException",
    "ResourceAlreadyExists",
    "ResourceDoesNotExist",
    "StoreError",
]

# Code names, spelled as in MLflow's ErrorCode proto enum.
INTERNAL_ERROR = "INTERNAL_ERROR"
TEMPORARILY_UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"
BAD_REQUEST = "BAD_REQUEST"
DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
CANCELLED = "CANCELLED"
RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
ABORTED = "ABORTED"
NOT_FOUND = "NOT_FOUND"
ALREADY_EXISTS = "ALREADY_EXISTS"
UNAUTHENTICATED = "UNAUTHENTICATED"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
INVALID_STATE = "INVALID_STATE"
PERMISSION_DENIED = "PERMISSION_DENIED"
FEATURE_DISABLED = "FEATURE_DISABLED"
CUSTOMER_UNAUTHORIZED = "CUSTOMER_UNAUTHORIZED"
REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
RESOURCE_CONFLICT = "RESOURCE_CONFLICT"
NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
DATA_LOSS = "DATA_LOSS"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"

# The general-purpose part of MLflow's ErrorCode enum (name -> proto number). Numbers are accepted so that
# code written against ``mlflow.protos.databricks_pb2`` constants keeps working.
_CODE_NUMBERS: dict[str, int] = {
    INTERNAL_ERROR: 1,
    TEMPORARILY_UNAVAILABLE: 2,
    "IO_ERROR": 3,
    BAD_REQUEST: 4,
    "SERVICE_UNDER_MAINTENANCE": 5,
    "WORKSPACE_TEMPORARILY_UNAVAILABLE": 6,
    DEADLINE_EXCEEDED: 7,
    CANCELLED: 8,
    RESOURCE_EXHAUSTED: 9,
    ABORTED: 10,
    NOT_FOUND: 11,
    ALREADY_EXISTS: 12,
    UNAUTHENTICATED: 13,
    INVALID_PARAMETER_VALUE: 1000,
    ENDPOINT_NOT_FOUND: 1001,
    "MALFORMED_REQUEST": 1002,
    INVALID_STATE: 1003,
    PERMISSION_DENIED: 1004,
    FEATURE_DISABLED: 1005,
    CUSTOMER_UNAUTHORIZED: 1006,
    REQUEST_LIMIT_EXCEEDED: 1007,
    RESOURCE_CONFLICT: 1008,
    "UNPARSEABLE_HTTP_ERROR": 1009,
    NOT_IMPLEMENTED: 1010,
    DATA_LOSS: 1011,
    "INVALID_STATE_TRANSITION": 2001,
    "COULD_NOT_ACQUIRE_LOCK": 2002,
    RESOURCE_ALREADY_EXISTS: 3001,
    RESOURCE_DOES_NOT_EXIST: 3002,
    "QUOTA_EXCEEDED": 4001,
    "MAX_BLOCK_SIZE_EXCEEDED": 4002,
    "MAX_READ_SIZE_EXCEEDED": 4003,
    "PARTIAL_DELETE": 4004,
    "MAX_LIST_SIZE_EXCEEDED": 4005,
    "DRY_RUN_FAILED": 5001,
    "RESOURCE_LIMIT_EXCEEDED": 5002,
}
_CODE_NAMES: dict[int, str] = {number: name for name, number in _CODE_NUMBERS.items()}

# MLflow's code -> HTTP status table; anything absent maps to 500.
ERROR_CODE_TO_HTTP_STATUS: dict[str, int] = {
    INTERNAL_ERROR: 500,
    INVALID_STATE: 500,
    DATA_LOSS: 500,
    NOT_IMPLEMENTED: 501,
    TEMPORARILY_UNAVAILABLE: 503,
    DEADLINE_EXCEEDED: 504,
    REQUEST_LIMIT_EXCEEDED: 429,
    CANCELLED: 499,
    RESOURCE_EXHAUSTED: 429,
    ABORTED: 409,
    RESOURCE_CONFLICT: 409,
    ALREADY_EXISTS: 409,
    NOT_FOUND: 404,
    ENDPOINT_NOT_FOUND: 404,
    RESOURCE_DOES_NOT_EXIST: 404,
    PERMISSION_DENIED: 403,
    CUSTOMER_UNAUTHORIZED: 401,
    UNAUTHENTICATED: 401,
    BAD_REQUEST: 400,
    RESOURCE_ALREADY_EXISTS: 400,
    INVALID_PARAMETER_VALUE: 400,
}

# MLflow 3.17 adds an error class and a SQLSTATE to every exception's JSON; these are its client-side
# defaults per code, kept so that serialize_as_json() produces the same document.
_CLIENT_CLASSIFICATION: dict[str, tuple[str, str]] = {
    BAD_REQUEST: ("INVALID_PARAMETER_VALUE", "KAM00"),
    CUSTOMER_UNAUTHORIZED: ("PERMISSION_DENIED", "KAM00"),
    ENDPOINT_NOT_FOUND: ("RESOURCE_NOT_FOUND", "KAM00"),
    FEATURE_DISABLED: ("FEATURE_DISABLED", "KAM00"),
    INTERNAL_ERROR: ("CLIENT_INTERNAL_ERROR", "XXM00"),
    INVALID_PARAMETER_VALUE: ("INVALID_PARAMETER_VALUE", "KAM00"),
    INVALID_STATE: ("CLIENT_INTERNAL_ERROR", "XXM00"),
    NOT_FOUND: ("RESOURCE_NOT_FOUND", "KAM00"),
    PERMISSION_DENIED: ("PERMISSION_DENIED", "KAM00"),
    RESOURCE_ALREADY_EXISTS: ("RESOURCE_ALREADY_EXISTS", "KAM00"),
    RESOURCE_DOES_NOT_EXIST: ("RESOURCE_NOT_FOUND", "KAM00"),
    TEMPORARILY_UNAVAILABLE: ("CLIENT_INTERNAL_ERROR", "XXM00"),
}
# Error classes whose SQLSTATE is more specific than the one derived from the code.
_CLASS_SQLSTATE: dict[str, str] = {
    "ATTRIBUTE_NOT_FOUND": "KAM04",
    "MODEL_SERIALIZATION_FAILED": "KAM03",
    "PREDICTION_FUNCTION_FAILED": "KAM02",
    "SCHEMA_ENFORCEMENT_FAILED": "KAM01",
}


def _code_name(error_code: object) -> str:
    """Normalise a code name or proto number to a code name; unknown codes become INTERNAL_ERROR."""
    if isinstance(error_code, str):
        return error_code if error_code in _CODE_NUMBERS else INTERNAL_ERROR
    if isinstance(error_code, int) and not isinstance(error_code, bool):
        return _CODE_NAMES.get(error_code, INTERNAL_ERROR)
    return INTERNAL_ERROR


class MlflowException(Exception):
    """The root of every error eventlog raises on purpose; carries an MLflow error code name."""

    # Set by subclasses that stand for exactly one code; None means "whatever the caller passed".
    _FIXED_CODE: ClassVar[str | None] = None

    def __new__(cls, *args: Any, **kwargs: Any) -> MlflowException:
        # Building the base class with a code that has a typed subclass yields that subclass, so
        # ``except ResourceDoesNotExist`` works however the error was raised. Explicit subclasses
        # (ours or a user's) are never redirected.
        target: type[MlflowException] = cls
        if cls is MlflowException:
            code = args[1] if len(args) > 1 else kwargs.get("error_code", INTERNAL_ERROR)
            target = _SUBCLASS_BY_CODE.get(_code_name(code), MlflowException)
        return super().__new__(target)

    def __init__(
        self,
        message: str | BaseException,
        error_code: str | int = INTERNAL_ERROR,
        sqlstate: str | None = None,
        error_class: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.error_code: str = self._FIXED_CODE or _code_name(error_code)
        self.message: str = str(message)
        derived_class, derived_sqlstate = _CLIENT_CLASSIFICATION.get(self.error_code, (None, None))
        self.error_class: str | None = error_class if error_class is not None else derived_class
        if sqlstate is None and self.error_class is not None:
            sqlstate = _CLASS_SQLSTATE.get(self.error_class)
        self.sqlstate: str | None = sqlstate if sqlstate is not None else derived_sqlstate
        self.json_kwargs: dict[str, Any] = kwargs
        super().__init__(self.message)

    def serialize_as_json(self) -> str:
        """The error as MLflow's REST error document: error_code, message, sqlstate, error_class, extras."""
        import json  # only error paths serialise; keep it off the import path

        document: dict[str, Any] = {"error_code": self.error_code, "message": self.message}
        if self.sqlstate is not None:
            document["sqlstate"] = self.sqlstate
        if self.error_class is not None:
            document["error_class"] = self.error_class
        document.update(self.json_kwargs)
        return json.dumps(document)

    def get_http_status_code(self) -> int:
        return ERROR_CODE_TO_HTTP_STATUS.get(self.error_code, 500)

    @classmethod
    def invalid_parameter_value(
        cls, message: str, sqlstate: str | None = None, error_class: str | None = None, **kwargs: Any
    ) -> MlflowException:
        """An INVALID_PARAMETER_VALUE error (of ``cls`` unless ``cls`` is fixed to another code)."""
        target = cls if cls._FIXED_CODE in (None, INVALID_PARAMETER_VALUE) else InvalidParameterValue
        return target(message, INVALID_PARAMETER_VALUE, sqlstate=sqlstate, error_class=error_class, **kwargs)


class InvalidParameterValue(MlflowException):
    """A caller passed a bad key, value, id, filter string or argument combination."""

    _FIXED_CODE = INVALID_PARAMETER_VALUE


class ResourceDoesNotExist(MlflowException):
    """The experiment, run, tag or artifact asked for does not exist."""

    _FIXED_CODE = RESOURCE_DOES_NOT_EXIST


class ResourceAlreadyExists(MlflowException):
    """An experiment with that name (active or deleted) already exists."""

    _FIXED_CODE = RESOURCE_ALREADY_EXISTS


class InvalidState(MlflowException):
    """The object exists but is in a state that forbids the operation (e.g. renaming a deleted experiment)."""

    _FIXED_CODE = INVALID_STATE


class StoreError(MlflowException):
    """The store itself is at fault: a file is missing, truncated, corrupt or of an unknown format version."""

    _FIXED_CODE = INTERNAL_ERROR


class BackgroundFlushError(MlflowException):
    """A background flush of buffered events failed; raised on the caller's next call."""

    _FIXED_CODE = INTERNAL_ERROR

    @classmethod
    def from_cause(cls, cause: BaseException) -> BackgroundFlushError:
        """Wrap the failure of a background flush; the original stays reachable as ``__cause__``."""
        error = cls(f"A background flush of logged data failed: {type(cause).__name__}: {cause}")
        error.__cause__ = cause
        return error


_SUBCLASS_BY_CODE: dict[str, type[MlflowException]] = {
    INVALID_PARAMETER_VALUE: InvalidParameterValue,
    RESOURCE_DOES_NOT_EXIST: ResourceDoesNotExist,
    RESOURCE_ALREADY_EXISTS: ResourceAlreadyExists,
    INVALID_STATE: InvalidState,
}
