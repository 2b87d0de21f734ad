"""search_experiments: MLflow's experiment filters (plus OR, parentheses, IN), ordering and paging.

The catalog is small, so the search runs on an eager Polars frame built from the experiments table.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

from eventlog.entities import Experiment, LifecycleStage, PagedList
from eventlog.exceptions import InvalidParameterValue, MlflowException

__all__ = ["decode_page_token", "encode_page_token", "search_experiments", "validate_max_results"]

SEARCH_MAX_RESULTS_THRESHOLD = 50000


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
        decoded = base64.b64decode(token)
    except (ValueError, TypeError):
        raise InvalidParameterValue("Invalid page token, could not base64-decode") from None
    try:
        doc = json.loads(decoded)
    except ValueError:
        raise InvalidParameterValue(f"Invalid page token, decoded value={decoded!r}") from None
    if not isinstance(doc, dict) or "offset" not in doc:
        raise InvalidParameterValue(f"Invalid page token, parsed value={doc}")
    offset = doc["offset"]
    if not isinstance(offset, int) or offset < 0:
        raise InvalidParameterValue(f"Invalid page token, offset must be a non-negative integer: {offset}")
    return offset


def search_experiments(
    experiments: list[Experiment],
    view_type: int,
    max_results: int | None,
    filter_string: str | None,
    order_by: Sequence[str] | None,
    page_token: str | bytes | None,
) -> PagedList[Experiment]:
    import polars as pl

    from eventlog.views.filter import (
        FilterError,
        order_by_exprs,
        parse_experiment_filter,
        parse_order_by,
        with_tiebreakers,
    )

    validate_max_results(max_results)
    try:
        predicate = parse_experiment_filter(filter_string or "")
        keys = with_tiebreakers(parse_order_by(list(order_by or []), "experiments"), "experiments")
    except FilterError as exc:
        raise MlflowException(str(exc), exc.error_code) from None
    stages = LifecycleStage.view_type_to_stages(view_type)
    candidates = [e for e in experiments if e.lifecycle_stage in stages]
    tag_columns = {f"tags.{k}" for e in candidates for k in e.tags} | {
        c for c in predicate.columns if c.startswith("tags.")
    }
    frame = pl.DataFrame(
        {
            "index": list(range(len(candidates))),
            "attributes.name": [e.name for e in candidates],
            "attributes.experiment_id": [int(e.experiment_id) for e in candidates],
            "attributes.creation_time": [e.creation_time for e in candidates],
            "attributes.last_update_time": [e.last_update_time for e in candidates],
            **{c: [e.tags.get(c[len("tags.") :]) for e in candidates] for c in sorted(tag_columns)},
        },
        schema_overrides={
            "attributes.name": pl.String,
            "attributes.experiment_id": pl.Int64,
            "attributes.creation_time": pl.Int64,
            "attributes.last_update_time": pl.Int64,
            **{c: pl.String for c in tag_columns},
        },
    )
    if not predicate.matches_all:
        frame = frame.filter(predicate.to_polars(frame.columns))
    spec = order_by_exprs(keys, frame.columns)
    frame = frame.sort(spec.by, descending=spec.descending, nulls_last=spec.nulls_last, maintain_order=True)
    ordered = [candidates[i] for i in frame.get_column("index").to_list()]
    offset = decode_page_token(page_token)
    if max_results is None:
        return PagedList(ordered[offset:], None)
    page = ordered[offset : offset + max_results]
    token = encode_page_token(offset + max_results) if offset + max_results < len(ordered) else None
    return PagedList(page, token)
