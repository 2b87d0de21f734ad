"""search_experiments: filter, order and page a list of experiments the way MLflow does.

The filter string is parsed by the shared filter language (``views.filter``) with the experiment
schema; evaluation here is over entity objects, since the catalog is small.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Sequence
from typing import Any

from eventlog.entities import Experiment, LifecycleStage, PagedList
from eventlog.exceptions import InvalidParameterValue

__all__ = ["decode_page_token", "encode_page_token", "search_experiments", "validate_max_results"]

SEARCH_MAX_RESULTS_THRESHOLD = 50000
_ORDER_KEYS = ("name", "experiment_id", "creation_time", "last_update_time")


def validate_max_results(max_results: int | None) -> None:
    if max_results is None:
        return
    if not isinstance(max_results, int) or max_results < 1:
        raise InvalidParameterValue(
            f"Invalid value {max_results} for parameter 'max_results' supplied. It must be a positive integer"
        )
    if max_results > SEARCH_MAX_RESULTS_THRESHOLD:
        raise InvalidParameterValue(
            f"Invalid value {max_results} for parameter 'max_results' supplied. It must be at most "
            f"{SEARCH_MAX_RESULTS_THRESHOLD}"
        )


def encode_page_token(offset: int) -> bytes:
    return base64.b64encode(json.dumps({"offset": offset}).encode())


def decode_page_token(token: str | bytes | None) -> int:
    if not token:
        return 0
    try:
        doc = json.loads(base64.b64decode(token))
    except (ValueError, TypeError):
        raise InvalidParameterValue("Invalid page token, could not base64-decode") from None
    if not isinstance(doc, dict) or "offset" not in doc:
        raise InvalidParameterValue(f"Invalid page token, parsed value={doc}")
    offset = doc["offset"]
    if not isinstance(offset, int) or offset < 0:
        raise InvalidParameterValue(f"Invalid page token, offset must be a non-negative integer: {offset}")
    return offset


def _sort_key(order_by: Sequence[str] | None) -> list[tuple[str, bool]]:
    keys: list[tuple[str, bool]] = []
    for clause in order_by or []:
        parts = clause.strip().split()
        if not parts or len(parts) > 2:
            raise InvalidParameterValue(f"Invalid order_by clause '{clause}'. Could not be parsed.")
        field = parts[0].strip('`"')
        if field.startswith(("attribute.", "attributes.", "attr.")):
            field = field.split(".", 1)[1]
        if field not in _ORDER_KEYS:
            raise InvalidParameterValue(
                f"Invalid order by key '{field}' specified. Valid keys are '{set(_ORDER_KEYS)}'"
            )
        direction = parts[1].upper() if len(parts) == 2 else "ASC"
        if direction not in ("ASC", "DESC"):
            raise InvalidParameterValue(f"Invalid ordering key in order_by clause '{clause}'.")
        keys.append((field, direction == "DESC"))
    if not keys:
        keys = [("creation_time", True)]
    if not any(field == "experiment_id" for field, _ in keys):
        keys.append(("experiment_id", False))
    return keys


def _value(experiment: Experiment, field: str) -> Any:
    if field == "experiment_id":
        return int(experiment.experiment_id)
    return getattr(experiment, field)


def search_experiments(
    experiments: list[Experiment],
    view_type: int,
    max_results: int | None,
    filter_string: str | None,
    order_by: Sequence[str] | None,
    page_token: str | bytes | None,
) -> PagedList[Experiment]:
    from views.filter import parse_experiment_filter

    validate_max_results(max_results)
    stages = LifecycleStage.view_type_to_stages(view_type)
    predicate = parse_experiment_filter(filter_string or "")
    selected = [e for e in experiments if e.lifecycle_stage in stages and predicate.matches(e)]
    # Stable sorts applied from the last key to the first give a multi-key sort with per-key direction;
    # missing values (None) go last in either direction.
    for field, descending in reversed(_sort_key(order_by)):
        present = [e for e in selected if _value(e, field) is not None]
        absent = [e for e in selected if _value(e, field) is None]
        present.sort(key=functools.partial(_value, field=field), reverse=descending)
        selected = present + absent
    offset = decode_page_token(page_token)
    if max_results is None:
        return PagedList(selected[offset:], None)
    page = selected[offset : offset + max_results]
    token = encode_page_token(offset + max_results) if offset + max_results < len(selected) else None
    return PagedList(page, token)
