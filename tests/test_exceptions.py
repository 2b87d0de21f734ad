"""eventlog.exceptions: the MLflow-compatible error code interface and the typed subclass tree."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from eventlog import exceptions as ex
from eventlog.exceptions import (
    BackgroundFlushError,
    InvalidParameterValue,
    InvalidState,
    MlflowException,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
    StoreError,
)

TYPED = [
    (InvalidParameterValue, "INVALID_PARAMETER_VALUE", 400),
    (ResourceDoesNotExist, "RESOURCE_DOES_NOT_EXIST", 404),
    (ResourceAlreadyExists, "RESOURCE_ALREADY_EXISTS", 400),
    (InvalidState, "INVALID_STATE", 500),
    (StoreError, "INTERNAL_ERROR", 500),
    (BackgroundFlushError, "INTERNAL_ERROR", 500),
]


def test_default_code_is_internal_error() -> None:
    error = MlflowException("boom")
    assert type(error) is MlflowException
    assert error.error_code == "INTERNAL_ERROR"
    assert error.message == "boom"
    assert str(error) == "boom"
    assert error.json_kwargs == {}
    assert error.get_http_status_code() == 500


def test_code_given_as_string_keyword_and_positional() -> None:
    by_keyword = MlflowException("bad", error_code="INVALID_PARAMETER_VALUE")
    positional = MlflowException("bad", "INVALID_PARAMETER_VALUE")
    for error in (by_keyword, positional):
        assert error.error_code == "INVALID_PARAMETER_VALUE"
        assert error.get_http_status_code() == 400
        assert isinstance(error, MlflowException)


def test_code_given_as_proto_number() -> None:
    assert MlflowException("x", error_code=3002).error_code == "RESOURCE_DOES_NOT_EXIST"
    assert MlflowException("x", 1000).error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("code", ["NOT_A_CODE", 987654, None, 1.5, True])
def test_unknown_code_becomes_internal_error(code: Any) -> None:
    assert MlflowException("x", error_code=code).error_code == "INTERNAL_ERROR"


def test_exception_as_message_is_stringified() -> None:
    error = MlflowException(ValueError("inner problem"), error_code=ex.INVALID_STATE)
    assert error.message == "inner problem"
    assert error.error_code == "INVALID_STATE"


def test_json_kwargs_are_serialized() -> None:
    error = MlflowException("m", ex.RESOURCE_DOES_NOT_EXIST, run_id="abc", n=3)
    assert error.json_kwargs == {"run_id": "abc", "n": 3}
    assert json.loads(error.serialize_as_json()) == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": "m",
        "sqlstate": "KAM00",
        "error_class": "RESOURCE_NOT_FOUND",
        "run_id": "abc",
        "n": 3,
    }


@pytest.mark.parametrize(("cls", "code", "status"), TYPED)
def test_typed_subclasses_fix_their_code(cls: type[MlflowException], code: str, status: int) -> None:
    error = cls("msg")
    assert isinstance(error, MlflowException)
    assert error.error_code == code
    assert error.get_http_status_code() == status
    # A conflicting explicit code does not change what the class stands for.
    assert cls("msg", error_code="NOT_FOUND").error_code == code
    with pytest.raises(MlflowException, match=r"^msg$"):
        raise cls("msg")


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("INVALID_PARAMETER_VALUE", InvalidParameterValue),
        ("RESOURCE_DOES_NOT_EXIST", ResourceDoesNotExist),
        ("RESOURCE_ALREADY_EXISTS", ResourceAlreadyExists),
        ("INVALID_STATE", InvalidState),
        (3002, ResourceDoesNotExist),
    ],
)
def test_base_class_with_code_is_catchable_as_typed_subclass(code: Any, cls: type[MlflowException]) -> None:
    with pytest.raises(cls) as info:
        raise MlflowException("raised the MLflow way", error_code=code)
    assert info.value.message == "raised the MLflow way"


@pytest.mark.parametrize("code", ["INTERNAL_ERROR", "NOT_FOUND", "BAD_REQUEST", "PERMISSION_DENIED"])
def test_codes_without_subclass_stay_base_class(code: str) -> None:
    error = MlflowException("x", error_code=code)
    assert type(error) is MlflowException
    assert error.error_code == code


def test_user_subclass_is_not_redirected() -> None:
    class MyError(MlflowException):
        pass

    error = MyError("x", error_code="RESOURCE_DOES_NOT_EXIST")
    assert type(error) is MyError
    assert error.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert type(MyError.invalid_parameter_value("y")) is MyError


def test_invalid_parameter_value_classmethod() -> None:
    error = MlflowException.invalid_parameter_value("nope", extra=1)
    assert isinstance(error, InvalidParameterValue)
    assert error.error_code == "INVALID_PARAMETER_VALUE"
    assert error.json_kwargs == {"extra": 1}
    # On a subclass fixed to another code it still yields an INVALID_PARAMETER_VALUE error.
    assert ResourceDoesNotExist.invalid_parameter_value("z").error_code == "INVALID_PARAMETER_VALUE"


def test_sqlstate_and_error_class_overrides() -> None:
    error = MlflowException("x", ex.INVALID_PARAMETER_VALUE, error_class="SCHEMA_ENFORCEMENT_FAILED")
    assert error.error_class == "SCHEMA_ENFORCEMENT_FAILED"
    assert error.sqlstate == "KAM01"
    explicit = MlflowException("x", sqlstate="ZZZ99", error_class="CUSTOM")
    assert (explicit.sqlstate, explicit.error_class) == ("ZZZ99", "CUSTOM")
    unclassified = MlflowException("x", ex.NOT_IMPLEMENTED)
    assert unclassified.sqlstate is None and unclassified.error_class is None
    assert "sqlstate" not in json.loads(unclassified.serialize_as_json())


@pytest.mark.parametrize("cls", [MlflowException, *(row[0] for row in TYPED)])
def test_pickle_round_trip_keeps_type_code_and_kwargs(cls: type[MlflowException]) -> None:
    error = cls("pickled", "INVALID_STATE", key="k")
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error)
    assert (clone.message, clone.error_code, clone.json_kwargs) == (
        error.message,
        error.error_code,
        error.json_kwargs,
    )


def test_background_flush_error_chains_the_cause() -> None:
    cause = OSError(28, "No space left on device")
    error = BackgroundFlushError.from_cause(cause)
    assert error.__cause__ is cause
    assert error.error_code == "INTERNAL_ERROR"
    assert "OSError" in error.message and "No space left on device" in error.message
    with pytest.raises(BackgroundFlushError) as info:
        raise error
    assert info.value.__cause__ is cause


def test_public_surface() -> None:
    for name in ex.__all__:
        assert hasattr(ex, name), name
    for constant in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST", "BAD_REQUEST", "NOT_FOUND"):
        assert getattr(ex, constant) == constant


# --- differential against the real mlflow ----------------------------------------------------------------


@pytest.fixture(scope="module")
def mlflow_exc() -> Any:
    from mlflow import exceptions

    return exceptions


@pytest.fixture(scope="module")
def error_code_enum() -> Any:
    from mlflow.protos.databricks_pb2 import ErrorCode

    return ErrorCode


ALL_CODE_NAMES = sorted(ex._CODE_NUMBERS)


@pytest.mark.mlflow
def test_code_numbers_match_mlflow_proto(error_code_enum: Any) -> None:
    for name, number in ex._CODE_NUMBERS.items():
        assert error_code_enum.Value(name) == number, name


@pytest.mark.mlflow
@pytest.mark.parametrize("name", ALL_CODE_NAMES)
def test_same_document_and_status_as_mlflow(name: str, mlflow_exc: Any, error_code_enum: Any) -> None:
    theirs = mlflow_exc.MlflowException("the message", error_code=error_code_enum.Value(name), detail="d")
    for ours in (
        MlflowException("the message", error_code=name, detail="d"),
        MlflowException("the message", error_code=error_code_enum.Value(name), detail="d"),
    ):
        assert ours.error_code == theirs.error_code
        assert ours.message == theirs.message
        assert str(ours) == str(theirs)
        assert ours.sqlstate == theirs.sqlstate
        assert ours.error_class == theirs.error_class
        assert ours.json_kwargs == theirs.json_kwargs
        assert ours.serialize_as_json() == theirs.serialize_as_json()
        assert ours.get_http_status_code() == theirs.get_http_status_code()


@pytest.mark.mlflow
def test_http_table_matches_mlflow(mlflow_exc: Any) -> None:
    assert ex.ERROR_CODE_TO_HTTP_STATUS == mlflow_exc.ERROR_CODE_TO_HTTP_STATUS


@pytest.mark.mlflow
def test_defaults_match_mlflow(mlflow_exc: Any) -> None:
    theirs = mlflow_exc.MlflowException(KeyError("k"))
    ours = MlflowException(KeyError("k"))
    assert (ours.error_code, ours.message, ours.serialize_as_json()) == (
        theirs.error_code,
        theirs.message,
        theirs.serialize_as_json(),
    )
    theirs_ipv = mlflow_exc.MlflowException.invalid_parameter_value("bad", a=1)
    ours_ipv = MlflowException.invalid_parameter_value("bad", a=1)
    assert ours_ipv.serialize_as_json() == theirs_ipv.serialize_as_json()
    # An unknown proto number falls back to INTERNAL_ERROR in both.
    assert MlflowException("x", 424242).error_code == mlflow_exc.MlflowException("x", 424242).error_code
