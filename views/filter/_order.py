"""order_by clauses: ``"<identifier> [ASC|DESC]"`` -> ``OrderKey``.

MLflow first requires the clause to be a single SQL identifier (optionally followed by a direction or
another identifier), then splits it with ``shlex`` after turning backticks into double quotes; two
words whose second is not asc/desc give "Invalid ordering key", more than two "Could not be parsed".
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from eventlog.views.filter._bind import (
    EXPERIMENT_ORDER_BY_ATTRIBUTE_KEYS,
    RUN_ORDER_BY_ATTRIBUTE_KEYS,
    Kind,
    split_identifier,
    translate_key_alias,
)
from eventlog.views.filter._errors import INTERNAL_ERROR, FilterError
from eventlog.views.filter._lexer import Kind as Tok
from eventlog.views.filter._lexer import Lexer
from eventlog.views.filter._parser import scan_identifier

__all__ = ["OrderKey", "parse_order_by", "with_tiebreakers"]

_PREFIX = {"metric": "metrics", "parameter": "params", "tag": "tags", "attribute": "attributes"}


@dataclass(frozen=True)
class OrderKey:
    """One sort key: a wide-frame column, its direction and its entity
    (``metric``, ``parameter``, ``tag`` or ``attribute``: decides the NULL/NaN placement)."""

    column: str
    descending: bool
    entity: str


def _unparsable(clause: str) -> FilterError:
    return FilterError(f"Invalid order_by clause '{clause}'. Could not be parsed.")


def _check_shape(clause: str) -> None:
    """The clause must be one identifier, optionally followed by a direction or further words."""
    lexer = Lexer(clause)
    tok = lexer.at(0)
    if tok.kind not in (Tok.NAME, Tok.BQ, Tok.DQ) or tok.sub == "func":
        raise _unparsable(clause)
    pos = scan_identifier(lexer, tok)
    while pos < len(clause):
        ws = lexer.at(pos)
        if ws.kind is not Tok.WS:
            raise _unparsable(clause)
        tok = lexer.at(ws.end)
        if tok.kind is Tok.ORDER:
            pos = tok.end
        elif tok.kind in (Tok.NAME, Tok.BQ, Tok.DQ) and tok.sub != "func":
            pos = scan_identifier(lexer, tok)
        else:
            raise _unparsable(clause)


def _parse_one(clause: str, kind: Kind) -> tuple[str, str, bool]:
    if not isinstance(clause, str):
        raise FilterError(f"Invalid order_by clause '{clause}'. Could not be parsed.")
    _check_shape(clause)
    try:
        words = shlex.split(clause.replace("`", '"'))
    except ValueError:
        raise _unparsable(clause) from None
    ascending = True
    token_value = clause
    if len(words) > 2:
        raise _unparsable(clause)
    if len(words) == 2:
        direction = words[1].lower()
        if direction not in ("asc", "desc"):
            raise FilterError(f"Invalid ordering key in order_by clause '{clause}'.")
        ascending = direction == "asc"
        token_value = words[0]
    valid = RUN_ORDER_BY_ATTRIBUTE_KEYS if kind == "runs" else EXPERIMENT_ORDER_BY_ATTRIBUTE_KEYS
    entity, key = split_identifier(token_value.strip(), kind, valid, None)
    return entity, key, ascending


def parse_order_by(clauses: Sequence[str] | None, kind: Kind) -> list[OrderKey]:
    """Parse MLflow order_by clauses for ``runs`` or ``experiments`` (no tie-breakers added)."""
    if kind not in ("runs", "experiments"):
        raise ValueError(f"kind must be 'runs' or 'experiments', not {kind!r}")
    keys: list[OrderKey] = []
    seen: set[tuple[str, str]] = set()
    for clause in clauses or ():
        entity, key, ascending = _parse_one(clause, kind)
        if kind == "experiments":
            if entity != "attribute":
                raise FilterError(f"Invalid order_by entity: {entity}")
        else:
            key = translate_key_alias(key)
            if entity == "dataset":
                raise FilterError(f"Invalid identifier type '{entity}'")
            if (entity, key) in seen:
                raise FilterError(
                    f"`order_by` contains duplicate fields: {list(clauses or ())}", error_code=INTERNAL_ERROR
                )
            seen.add((entity, key))
        keys.append(OrderKey(f"{_PREFIX[entity]}.{key}", not ascending, entity))
    return keys


def with_tiebreakers(keys: Sequence[OrderKey], kind: Kind) -> list[OrderKey]:
    """``keys`` followed by MLflow's implicit ordering.

    Runs: ``start_time DESC`` unless start_time is already a key, then ``run_id ASC`` (always).
    Experiments: with no keys the default ``creation_time DESC, experiment_id ASC``; otherwise
    ``experiment_id`` appended unless present, **descending** (MLflow's SQL and file stores both append
    it as descending; only the default order has it ascending).
    """
    out = list(keys)
    if kind == "runs":
        if not any(k.column == "attributes.start_time" for k in out):
            out.append(OrderKey("attributes.start_time", True, "attribute"))
        out.append(OrderKey("attributes.run_id", False, "attribute"))
        return out
    if not out:
        return [
            OrderKey("attributes.creation_time", True, "attribute"),
            OrderKey("attributes.experiment_id", False, "attribute"),
        ]
    if not any(k.column == "attributes.experiment_id" for k in out):
        out.append(OrderKey("attributes.experiment_id", True, "attribute"))
    return out
