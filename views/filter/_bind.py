"""Binding: raw syntax tree -> bound tree over the wide-frame columns of runs or experiments.

The checks, their order and their messages follow MLflow's: first, clause by clause, the identifier
(entity prefix, attribute key), the IS NULL restriction and the value literal; then, again clause by
clause, the comparator against the key's type. Messages that list a set print it in hash order, which varies
between processes; the sets are built as MLflow builds them so that most print identically in-process.

Extensions over MLflow (accepted here, rejected by MLflow): ``IN``/``NOT IN`` for params, tags and every
string attribute (runs) or ``name`` and tags (experiments), and case-insensitive comparators for
experiments (MLflow's SQL store only accepts upper-case ``LIKE``/``ILIKE``/``IN`` there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from eventlog.views.filter._ast import (
    MATCH_ALL,
    And,
    Compare,
    Node,
    Or,
    RawAnd,
    RawClause,
    RawNode,
    RawValue,
    conj,
    disj,
)
from eventlog.views.filter._errors import FilterError

__all__ = [
    "EXPERIMENT_ATTRIBUTE_KEYS",
    "RUN_ATTRIBUTE_KEYS",
    "Kind",
    "bind",
    "render",
    "split_identifier",
    "strip_quotes",
    "trim_backticks",
]

Kind = Literal["runs", "experiments"]

# --- MLflow's vocabulary ---------------------------------------------------------------------------

# Sets are built the way MLflow builds each of them (a display of constants, or one inserted item by item), so
# that within one process most of them print in the same order as MLflow's.
VALID_METRIC_COMPARATORS = {">", ">=", "!=", "=", "<", "<="}
VALID_PARAM_COMPARATORS = set(["!=", "=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"])
VALID_TAG_COMPARATORS = set(["!=", "=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"])
VALID_STRING_ATTRIBUTE_COMPARATORS = set(["!=", "=", "LIKE", "ILIKE", "IN", "NOT IN"])
VALID_NUMERIC_ATTRIBUTE_COMPARATORS = VALID_METRIC_COMPARATORS
VALID_DATASET_COMPARATORS = set(["!=", "=", "LIKE", "ILIKE", "IN", "NOT IN"])

_RUN_SEARCHABLE = ["artifact_uri", "end_time", "run_id", "run_name", "start_time", "status", "user_id"]
_ALTERNATE_NUMERIC_ATTRIBUTES = {"created", "Created"}
_ALTERNATE_STRING_ATTRIBUTES = {"run name", "Run name", "Run Name"}
RUN_NUMERIC_ATTRIBUTES = {"start_time", "end_time", *_ALTERNATE_NUMERIC_ATTRIBUTES}
RUN_ATTRIBUTE_KEYS = set(
    _RUN_SEARCHABLE + list(_ALTERNATE_NUMERIC_ATTRIBUTES) + list(_ALTERNATE_STRING_ATTRIBUTES)
)
RUN_ORDER_BY_ATTRIBUTE_KEYS = set(_RUN_SEARCHABLE + list(_ALTERNATE_NUMERIC_ATTRIBUTES))
DATASET_ATTRIBUTES = {"name", "digest", "context"}

_IDENTIFIERS = ["metric", "parameter", "tag", "attribute", "dataset"]
_ENTITY_ALIASES = {
    "metric": "metric",
    "metrics": "metric",
    "parameter": "parameter",
    "parameters": "parameter",
    "param": "parameter",
    "params": "parameter",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
    "dataset": "dataset",
    "datasets": "dataset",
}
_EXPERIMENT_ENTITIES = ("attribute", "tag", "tags")

EXPERIMENT_ATTRIBUTE_KEYS = {"name", "experiment_id", "creation_time", "last_update_time"}
EXPERIMENT_ORDER_BY_ATTRIBUTE_KEYS = {"name", "experiment_id", "creation_time", "last_update_time"}
EXPERIMENT_NUMERIC_ATTRIBUTES = {"creation_time", "last_update_time"}

_KEY_ALIASES = {
    "created": "start_time",
    "Created": "start_time",
    "run name": "run_name",
    "Run name": "run_name",
    "Run Name": "run_name",
}
_PREFIX = {"metric": "metrics", "parameter": "params", "tag": "tags", "attribute": "attributes"}
_INT64 = (-(2**63), 2**63 - 1)


def translate_key_alias(key: str) -> str:
    return _KEY_ALIASES.get(key, key)


# --- MLflow's string handling of identifiers and values -----------------------------------------


def _is_quoted(value: str, quote: str) -> bool:
    return len(value) >= 2 and value.startswith(quote) and value.endswith(quote)


def trim_backticks(value: str) -> str:
    return value[1:-1] if _is_quoted(value, "`") else value


def strip_quotes(value: str, *, expect_quoted: bool = False, position: int | None = None) -> str:
    if _is_quoted(value, "'") or _is_quoted(value, '"'):
        return value[1:-1]
    if expect_quoted:
        raise FilterError(
            "Parameter value is either not quoted or unidentified quote types used for string value "
            f"{value}. Use either single or double quotes.",
            position=position,
        )
    return value


def split_identifier(
    raw: str, kind: Kind, valid_attributes: set[str], position: int | None
) -> tuple[str, str]:
    """``(entity, key)`` of a raw identifier; entity is ``metric|parameter|tag|attribute|dataset``."""
    tokens = raw.split(".", 1)
    if len(tokens) == 1:
        entity, key = "attribute", tokens[0]
    else:
        prefix, key = tokens
        if kind == "experiments":
            if prefix not in _EXPERIMENT_ENTITIES:
                raise FilterError(
                    f"Invalid entity type '{prefix}'. Valid entity types are {_EXPERIMENT_ENTITIES}",
                    position=position,
                )
            entity = _ENTITY_ALIASES[prefix]
        else:
            prefix = trim_backticks(prefix)
            if prefix not in _ENTITY_ALIASES:
                raise FilterError(
                    f"Invalid entity type '{prefix}'. Valid values are {_IDENTIFIERS}", position=position
                )
            entity = _ENTITY_ALIASES[prefix]
    key = trim_backticks(strip_quotes(key))
    if entity == "attribute" and key not in valid_attributes:
        raise FilterError(
            f"Invalid attribute key '{key}' specified. Valid keys are '{valid_attributes}'", position=position
        )
    if entity == "dataset" and key not in DATASET_ATTRIBUTES:
        raise FilterError(
            f"Invalid dataset key '{key}' specified. Valid keys are '{DATASET_ATTRIBUTES}'", position=position
        )
    return entity, key


# --- binding --------------------------------------------------------------------------------------


@dataclass
class _Parsed:
    """One clause after MLflow's first pass."""

    clause: RawClause
    entity: str
    key: str
    comparator: str  # upper-cased
    value: object


def _list_items(value: RawValue) -> tuple[str, ...]:
    items = value.items
    if len(items) == 0:
        raise FilterError(
            "While parsing a list in the query, expected a non-empty list of string values, "
            "but got empty list",
            position=value.pos,
        )
    if not all(isinstance(x, str) for x in items):
        raise FilterError(
            "While parsing a list in the query, expected string value, punctuation, or whitespace, but got "
            f"different type in list: {items}",
            position=value.pos,
        )
    return tuple(str(x) for x in items)


def _is_list_op(comparator: str) -> bool:
    return comparator in ("IN", "NOT IN")


def _get_value(kind: Kind, entity: str, key: str, comparator: str, value: RawValue) -> object:
    """MLflow's ``_get_value`` plus the IN extension."""
    pos = value.pos
    stringy = value.kind in ("string", "ident")
    if entity == "metric":
        if value.kind != "number":
            raise FilterError(f"Expected numeric value type for metric. Found {value.text}", position=pos)
        return value.text
    if entity in ("parameter", "tag"):
        if stringy:
            return strip_quotes(value.text, expect_quoted=True, position=pos)
        if value.kind == "list" and _is_list_op(comparator):
            return _list_items(value)
        raise FilterError(
            f"Expected a quoted string value for {entity} (e.g. 'my-value'). Got value {value.text}",
            position=pos,
        )
    if entity == "attribute":
        numeric = RUN_NUMERIC_ATTRIBUTES if kind == "runs" else EXPERIMENT_NUMERIC_ATTRIBUTES
        if key in numeric:
            if value.kind != "number":
                raise FilterError(
                    f"Expected numeric value type for numeric attribute: {key}. Found {value.text}",
                    position=pos,
                )
            return int(value.text) if value.sub == "int" else float(value.text)
        if stringy:
            return strip_quotes(value.text, expect_quoted=True, position=pos)
        if value.kind == "list":
            list_key = "run_id" if kind == "runs" else "experiment_id"
            if key != list_key and not _is_list_op(comparator):
                raise FilterError(
                    f"Only ['{list_key}'] attributes support comparison with a list of quoted string values.",
                    position=pos,
                )
            return _list_items(value)
        raise FilterError(
            f"Expected a quoted string value for attributes. Got value {value.text}", position=pos
        )
    # dataset
    if key in DATASET_ATTRIBUTES and stringy:
        return strip_quotes(value.text, expect_quoted=True, position=pos)
    if value.kind == "list":
        return _list_items(value)
    raise FilterError(
        f"Expected a quoted string value for dataset attributes. Got value {value.text}", position=pos
    )


def _first_pass(kind: Kind, clause: RawClause) -> _Parsed:
    valid = RUN_ATTRIBUTE_KEYS if kind == "runs" else EXPERIMENT_ATTRIBUTE_KEYS
    entity, key = split_identifier(clause.ident, kind, valid, clause.ident_pos)
    comparator = clause.op.upper()
    if clause.value is None:  # IS [NOT] NULL
        if kind == "runs" and entity not in ("tag", "parameter"):
            raise FilterError(
                f"IS NULL / IS NOT NULL is only supported for tags and params, not for '{entity}' '{key}'",
                position=clause.op_pos,
            )
        if kind == "experiments" and entity != "tag":
            raise FilterError(
                f"IS NULL / IS NOT NULL is only supported for tags, not for attribute '{key}'",
                position=clause.op_pos,
            )
        return _Parsed(clause, entity, key, comparator, None)
    value = _get_value(kind, entity, key, comparator, clause.value)
    return _Parsed(clause, entity, key, comparator, value)


def _bad_comparator(comparator: str, valid: set[str], pos: int, *, closing_quote: bool = True) -> FilterError:
    end = "'" if closing_quote else ""
    return FilterError(f"Invalid comparator '{comparator}' not one of '{valid}{end}", position=pos)


def _require_scalar(p: _Parsed) -> None:
    if isinstance(p.value, tuple):
        raise FilterError(
            f"A parenthesised list can only be compared with IN or NOT IN, not with '{p.clause.op}', "
            f"at position {p.clause.op_pos}",
            position=p.clause.op_pos,
        )


def _second_pass_runs(p: _Parsed) -> Compare:
    comparator, entity = p.comparator, p.entity
    pos = p.clause.op_pos
    if entity == "attribute":
        key = translate_key_alias(p.key)
        if key in RUN_NUMERIC_ATTRIBUTES:
            if comparator not in VALID_NUMERIC_ATTRIBUTE_COMPARATORS:
                raise _bad_comparator(
                    comparator, VALID_STRING_ATTRIBUTE_COMPARATORS, pos, closing_quote=False
                )
            assert isinstance(p.value, (int, float))
            return Compare(f"attributes.{key}", comparator, p.value, "int")
        if comparator not in VALID_STRING_ATTRIBUTE_COMPARATORS:
            raise _bad_comparator(comparator, VALID_STRING_ATTRIBUTE_COMPARATORS, pos)
        if not _is_list_op(comparator):
            _require_scalar(p)
        return Compare(f"attributes.{key}", comparator, _str_value(p.value), "str")
    if entity == "metric":
        if comparator not in VALID_METRIC_COMPARATORS:
            raise _bad_comparator(comparator, VALID_METRIC_COMPARATORS, pos, closing_quote=False)
        assert isinstance(p.value, str)
        return Compare(f"metrics.{p.key}", comparator, float(p.value), "float")
    if entity in ("parameter", "tag"):
        valid = VALID_PARAM_COMPARATORS if entity == "parameter" else VALID_TAG_COMPARATORS
        if comparator not in valid and not _is_list_op(comparator):
            raise _bad_comparator(comparator, valid, pos, closing_quote=entity == "parameter")
        return Compare(f"{_PREFIX[entity]}.{p.key}", comparator, _str_value(p.value), "str")
    # dataset
    if comparator not in VALID_DATASET_COMPARATORS:
        raise _bad_comparator(comparator, VALID_DATASET_COMPARATORS, pos, closing_quote=False)
    raise FilterError(
        f"Filtering on dataset inputs ('dataset.{p.key}') is not supported, at position {p.clause.ident_pos}",
        position=p.clause.ident_pos,
    )


def _str_value(value: object) -> str | tuple[str, ...] | None:
    assert value is None or isinstance(value, (str, tuple))
    return value


def _parse_experiment_id(value: str, pos: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise FilterError(
            f"Invalid experiment ID '{value}'. Experiment ID must be a valid integer.", position=pos
        ) from None
    if not _INT64[0] <= number <= _INT64[1]:
        raise FilterError(f"Experiment ID {value!r} is out of range, at position {pos}", position=pos)
    return number


def _second_pass_experiments(p: _Parsed) -> Compare:
    comparator, raw_comparator = p.comparator, p.clause.op
    pos = p.clause.op_pos
    if p.entity == "attribute":
        if p.key == "experiment_id":
            if comparator not in ("=", "!=", "IN", "NOT IN"):
                raise FilterError(f"Invalid comparator for experiment_id: {raw_comparator}", position=pos)
            if isinstance(p.value, tuple):
                if not _is_list_op(comparator):
                    _require_scalar(p)
                ids = tuple(_parse_experiment_id(v, pos) for v in p.value)
                return Compare("attributes.experiment_id", comparator, ids, "int")
            assert isinstance(p.value, str)
            return Compare("attributes.experiment_id", comparator, _parse_experiment_id(p.value, pos), "int")
        if p.key in EXPERIMENT_NUMERIC_ATTRIBUTES:
            if comparator not in VALID_NUMERIC_ATTRIBUTE_COMPARATORS:
                raise _bad_comparator(
                    raw_comparator, VALID_STRING_ATTRIBUTE_COMPARATORS, pos, closing_quote=False
                )
            if isinstance(p.value, float):
                raise FilterError(
                    f"Invalid value for numeric attribute '{p.key}': {str(p.value)!r}", position=pos
                )
            assert isinstance(p.value, int)
            return Compare(f"attributes.{p.key}", comparator, p.value, "int")
        if comparator not in VALID_STRING_ATTRIBUTE_COMPARATORS:
            raise _bad_comparator(raw_comparator, VALID_STRING_ATTRIBUTE_COMPARATORS, pos)
        if not _is_list_op(comparator):
            _require_scalar(p)
        return Compare(f"attributes.{p.key}", comparator, _str_value(p.value), "str")
    # tag
    if comparator not in ("=", "!=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL", "IN", "NOT IN"):
        raise FilterError(f"Invalid comparator for tag: {raw_comparator}", position=pos)
    return Compare(f"tags.{p.key}", comparator, _str_value(p.value), "str")


def bind(raw: RawNode, kind: Kind, extensions: set[str] | None = None) -> Node:
    """Check a raw tree against the runs or experiments vocabulary and build the bound tree.

    The names of the MLflow extensions the tree uses are added to ``extensions`` when given:
    ``IN`` (IN/NOT IN where MLflow has none) and ``case-insensitive comparator`` (experiments).
    """
    clauses: list[RawClause] = []
    _collect(raw, clauses)
    parsed = {id(c): _first_pass(kind, c) for c in clauses}
    second = _second_pass_runs if kind == "runs" else _second_pass_experiments
    bound = {key: second(p) for key, p in parsed.items()}
    if extensions is not None:
        mlflow_list_column = "attributes.run_id" if kind == "runs" else "attributes.experiment_id"
        for key, p in parsed.items():
            node = bound[key]
            if node.op in ("IN", "NOT IN") and node.column != mlflow_list_column:
                extensions.add("IN")
            if kind == "experiments" and p.clause.op != p.comparator:
                extensions.add("case-insensitive comparator")

    def build(node: RawNode) -> Node:
        if isinstance(node, RawClause):
            return bound[id(node)]
        if isinstance(node, RawAnd):
            return conj([build(n) for n in node.items]) if node.items else MATCH_ALL
        return disj([build(n) for n in node.items])

    return build(raw)


def _collect(node: RawNode, out: list[RawClause]) -> None:
    if isinstance(node, RawClause):
        out.append(node)
    else:
        for item in node.items:
            _collect(item, out)


# --- rendering ------------------------------------------------------------------------------------


class Unrenderable(ValueError):
    """The bound tree holds a key or value the filter language has no spelling for."""


def _quote_key(key: str) -> str:
    if _is_quoted(key, "`"):
        raise Unrenderable(f"a key that starts and ends with a backtick cannot be written: {key!r}")
    if "`" not in key:
        return f"`{key}`"
    for quote in ('"', "'"):
        if quote not in key and not key.endswith("\\"):
            return f"{quote}{key}{quote}"
    raise Unrenderable(f"no quoting can express the key {key!r}")


def _quote_string(value: str) -> str:
    for quote in ("'", '"'):
        if quote not in value and not value.endswith("\\"):
            return f"{quote}{value}{quote}"
    raise Unrenderable(f"no quoting can express the string value {value!r}")


def _python_string(value: str) -> str:
    out = ["'"]
    for c in value:
        if c == "\\":
            out.append("\\\\")
        elif c == "'":
            out.append("\\'")
        elif ord(c) < 32 or ord(c) == 127:
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(c)
    out.append("'")
    return "".join(out)


def _number(value: float | int) -> str:
    if isinstance(value, int):
        return str(value)
    if value != value:
        raise Unrenderable("NaN has no literal")
    if value in (float("inf"), float("-inf")):
        return "1e999" if value > 0 else "-1e999"
    text = repr(value)
    return text.replace("e+", "e")


def _render_compare(node: Compare, kind: Kind) -> str:
    prefix, _, key = node.column.partition(".")
    lhs = key if prefix == "attributes" else f"{prefix}.{_quote_key(key)}"
    op, value = node.op, node.value
    if value is None:
        return f"{lhs} {op}"
    if isinstance(value, tuple):
        items = [_python_string(str(v)) for v in value]
        return f"{lhs} {op} ({', '.join(items)})"
    if node.column == "attributes.experiment_id" and kind == "experiments":
        return f"{lhs} {op} '{value}'"
    if isinstance(value, str):
        return f"{lhs} {op} {_quote_string(value)}"
    return f"{lhs} {op} {_number(value)}"


def render(node: Node, kind: Kind = "runs") -> str:
    """A filter string that parses back to ``node`` (raises ``Unrenderable`` when there is none)."""
    if isinstance(node, Compare):
        return _render_compare(node, kind)
    if isinstance(node, Or):
        return " OR ".join(
            f"({render(n, kind)})" if isinstance(n, Or) else render(n, kind) for n in node.items
        )
    assert isinstance(node, And)
    return " AND ".join(
        f"({render(n, kind)})" if isinstance(n, (And, Or)) else render(n, kind) for n in node.items
    )
