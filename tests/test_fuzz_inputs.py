"""Bad input gets a clear error and loses nothing (docs/architecture.md, invariant 9), fuzzed.

- Filter strings: 10,000 generated strings (a grammar of valid clauses, mutated, mixed with token soup and
  random text) through ``views.filter.parse_search_filter`` / ``parse_experiment_filter``: each parses or
  raises ``FilterError`` with INVALID_PARAMETER_VALUE, nothing else, within a time limit; 1,000 more through
  ``eventlog.search_runs`` on a small store, which must accept exactly what the parser accepts and raise
  ``MlflowException`` (INVALID_PARAMETER_VALUE, the parser's message) for the rest.
- Param, metric and tag keys (and values near the length limits): accepted exactly when MLflow's own
  validation (``mlflow.utils.validation``) accepts them, rejected with INVALID_PARAMETER_VALUE otherwise.
- Hostile artifact paths: refused with INVALID_PARAMETER_VALUE, and nothing written outside the run's root.
- A tracking URI naming a directory that is not an eventlog store: a clear error, nothing touched.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from eventlog.views.filter import FilterError, parse_experiment_filter, parse_search_filter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eventlog
from eventlog import MlflowClient, MlflowException

INVALID = "INVALID_PARAMETER_VALUE"
FUZZ_EXAMPLES = 10_000
SEARCH_EXAMPLES = 1_000
KEY_EXAMPLES = 400
EXAMPLE_TIME_LIMIT_S = 5.0
COUNTS: dict[str, int] = {}

FAST = settings(
    deadline=None,
    database=None,
    derandomize=True,  # the same cases on every run: CI stays deterministic
    suppress_health_check=list(HealthCheck),
)


@contextmanager
def time_limit(seconds: float = EXAMPLE_TIME_LIMIT_S) -> Iterator[None]:
    """Fail (instead of hanging) when the block runs longer than ``seconds``."""

    def expired(signum: int, frame: Any) -> None:
        raise TimeoutError(f"an input took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- a grammar of filter strings, and mutations of it -----------------------------------------------------

ENTITIES = ["metrics", "metric", "params", "param", "tags", "tag", "attributes", "attribute", "attr", "run"]
ENTITIES += ["datasets", "dataset", "Metrics", "TAGS", ""]
STRING_ATTRIBUTES = [
    "status",
    "run_name",
    "run_id",
    "user_id",
    "artifact_uri",
    "lifecycle_stage",
    "`Run name`",
]
NUMBER_ATTRIBUTES = ["start_time", "end_time", "created", "Created", "creation_time", "last_update_time"]
OTHER_ATTRIBUTES = ["experiment_id", "name", "dataset.name", "x"]
NUMBER_COMPARATORS = ["=", "!=", "<", "<=", ">", ">="]
STRING_COMPARATORS = ["=", "!=", "LIKE", "like", "ILIKE", "NOT LIKE", "not ilike"]
ODD_COMPARATORS = ["==", "<>", "RLIKE", "IS", "IS NOT", "IS NULL", "IS NOT NULL", "MATCH", "~", "=<", "! ="]
COMPARATORS = [*NUMBER_COMPARATORS, *STRING_COMPARATORS, "IN", "NOT IN", "in", *ODD_COMPARATORS]
CONNECTIVES = [" AND ", " and ", " OR ", " or ", " AND ", " AND ", " && ", " , ", " ", " AND NOT "]

KEYS = ["loss", "acc", "lr", "x", "a b", "x.y", "m-1", "ü", "名", "", "1", "_", "a:b", "a/b", "AND", "`", "'"]
keys_ = st.sampled_from(KEYS) | st.text(max_size=4)
QUOTES = {"plain": "{}", "backtick": "`{}`", "double": '"{}"', "single": "'{}'"}
quoting = st.sampled_from(["plain", "plain", "plain", "backtick", "double", "single"])


def _ident(entity: str, key: str, style: str) -> str:
    quoted = QUOTES[style].format(key)
    return f"{entity}.{quoted}" if entity else quoted


metric_idents = st.builds(_ident, st.sampled_from(["metrics", "metric"]), keys_, quoting)
text_idents = st.builds(_ident, st.sampled_from(["params", "param", "tags", "tag"]), keys_, quoting)
any_idents = st.one_of(
    st.builds(_ident, st.sampled_from(ENTITIES), keys_, quoting),
    st.sampled_from(STRING_ATTRIBUTES + NUMBER_ATTRIBUTES + OTHER_ATTRIBUTES),
)
number_values = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        ["1e3", "-1.5E-3", ".5", "5.", "0x1f", "1_000", "NaN", "inf", "-inf", "+1", "--1", "1 2"]
    ),
)
STRING_BODIES = ["", "x", "%a%", "_", "a''b", "a\\'b", 'a"b', "RUNNING", "FINISHED", "adam", "prod", "ü%"]
string_values = st.builds(
    lambda body, q: f"{q}{body}{q}",
    st.sampled_from(STRING_BODIES) | st.text(max_size=4),
    st.sampled_from(["'", "'", "'", '"', "`"]),
)
list_values = st.lists(string_values, max_size=3).map(lambda items: "(" + ", ".join(items) + ")")
any_values = st.one_of(
    number_values, string_values, list_values, st.sampled_from(["NULL", "null", "TRUE", "x", "()", "(", ""])
)


def _clause(ident: str, comparator: str, value: str) -> str:
    return f"{ident} {comparator} {value}"


clauses = st.one_of(
    st.builds(_clause, metric_idents, st.sampled_from(NUMBER_COMPARATORS), number_values),
    st.builds(_clause, text_idents, st.sampled_from(STRING_COMPARATORS), string_values),
    st.builds(_clause, text_idents, st.sampled_from(["IN", "NOT IN"]), list_values),
    st.builds(
        _clause,
        st.sampled_from(STRING_ATTRIBUTES).map(lambda a: f"attributes.{a}"),
        st.sampled_from([*STRING_COMPARATORS, "IN", "NOT IN"]),
        string_values | list_values,
    ),
    st.builds(
        _clause,
        st.sampled_from(NUMBER_ATTRIBUTES).map(lambda a: f"attributes.{a}"),
        st.sampled_from(NUMBER_COMPARATORS),
        st.integers(0, 2 * 10**12).map(str),
    ),
    st.builds(_clause, any_idents, st.sampled_from(COMPARATORS), any_values),  # anything goes
)


def _expression(parts: list[tuple[str, str, int]]) -> str:
    """Clauses joined by connectives; ``group`` opens a parenthesis before a clause (1) or closes one
    after it (2), unbalanced as often as not."""
    out = []
    for i, (clause, connective, group) in enumerate(parts):
        text = f"({clause}" if group == 1 else f"{clause})" if group == 2 else clause
        out.append(text if i == 0 else connective + text)
    return "".join(out)


expressions = st.lists(
    st.tuples(clauses, st.sampled_from(CONNECTIVES), st.sampled_from([0, 0, 0, 0, 1, 2])),
    min_size=1,
    max_size=4,
).map(_expression)

EDITS = ["insert", "delete", "duplicate", "truncate", "swap"]


def _mutate(text: str, edits: list[tuple[int, str, str]]) -> str:
    for position, edit, piece in edits:
        i = position % (len(text) + 1)
        if edit == "insert":
            text = text[:i] + piece + text[i:]
        elif edit == "delete":
            text = text[:i] + text[i + 1 + len(piece) :]
        elif edit == "duplicate":
            text = text[:i] + text[i : i + 1 + len(piece)] + text[i:]
        elif edit == "truncate":
            text = text[:i]
        elif edit == "swap" and 0 < i < len(text):
            text = text[: i - 1] + text[i] + text[i - 1] + text[i + 1 :]
    return text


mutated = st.builds(
    _mutate,
    expressions,
    st.lists(
        st.tuples(st.integers(0, 400), st.sampled_from(EDITS), st.text(max_size=3)), min_size=1, max_size=4
    ),
)
TOKENS = [*COMPARATORS, *CONNECTIVES, "(", ")", ",", "'", '"', "`", ".", "metrics", "params.x", "tags.`t`"]
token_soup = st.lists(st.sampled_from(TOKENS) | st.text(max_size=2), max_size=12).map("".join)


def _seeded_filter(seed: int) -> str:
    """The same grammar and mutations, driven by one drawn seed: cheap to generate (hypothesis spends
    about 4 ms per example drawing the structured strategies above), so most of the 10,000 cases come
    from here and the structured ones keep hypothesis' shrinking for the rest."""
    rng = random.Random(seed)

    def key() -> str:
        return rng.choice(KEYS) if rng.random() < 0.8 else "".join(rng.choice(ODD_CHARS) for _ in range(3))

    def ident(entities: list[str]) -> str:
        return _ident(rng.choice(entities), key(), rng.choice(list(QUOTES)))

    def number() -> str:
        return rng.choice(
            [str(rng.randint(-(10**6), 10**6)), repr(rng.uniform(-1e3, 1e3)), "1e3", "NaN", "-inf"]
        )

    def string() -> str:
        quote = rng.choice(["'", "'", '"', "`"])
        return quote + rng.choice(STRING_BODIES) + quote

    def clause() -> str:
        shape = rng.randrange(6)
        if shape == 0:
            return _clause(ident(["metrics", "metric"]), rng.choice(NUMBER_COMPARATORS), number())
        if shape == 1:
            return _clause(
                ident(["params", "tags", "param", "tag"]), rng.choice(STRING_COMPARATORS), string()
            )
        if shape == 2:
            items = ", ".join(string() for _ in range(rng.randrange(4)))
            return _clause(ident(["params", "tags"]), rng.choice(["IN", "NOT IN"]), f"({items})")
        if shape == 3:
            return _clause(
                f"attributes.{rng.choice(STRING_ATTRIBUTES)}", rng.choice(STRING_COMPARATORS), string()
            )
        if shape == 4:
            return _clause(
                f"attributes.{rng.choice(NUMBER_ATTRIBUTES)}",
                rng.choice(NUMBER_COMPARATORS),
                str(rng.randrange(10**13)),
            )
        value = rng.choice(
            [number, string, lambda: "(" + string() + ")", lambda: rng.choice(["NULL", "", "("])]
        )()
        return _clause(ident(ENTITIES), rng.choice(COMPARATORS), value)

    parts = [
        (clause(), rng.choice(CONNECTIVES), rng.choice([0, 0, 0, 0, 1, 2])) for _ in range(rng.randint(1, 4))
    ]
    text = _expression(parts)
    if rng.random() < 0.4:
        edits = [
            (
                rng.randrange(400),
                rng.choice(EDITS),
                "".join(rng.choice(ODD_CHARS) for _ in range(rng.randrange(3))),
            )
            for _ in range(rng.randint(1, 3))
        ]
        text = _mutate(text, edits)
    return text


ODD_CHARS = "()'\"`., =<>!%_-\\\0\n\tüé名🙂\u00a0\u200bAaNDoRxyz019"
seeded = st.integers(0, 2**64 - 1).map(_seeded_filter)
filter_inputs = st.one_of(
    expressions,
    mutated,
    token_soup,
    st.text(max_size=60),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
    *[seeded] * 25,
)


def _parse_or_reject(parse: Callable[[str], Any], text: str) -> bool:
    """True if ``text`` parses; False if it is rejected the documented way; anything else fails."""
    try:
        parse(text)
    except FilterError as exc:
        assert exc.error_code == INVALID, (text, exc.error_code)
        assert str(exc), text
        return False
    return True


def test_filter_parser_fuzzed() -> None:
    seen = {"cases": 0, "accepted": 0}

    @settings(FAST, max_examples=FUZZ_EXAMPLES)
    @given(filter_inputs)
    def check(text: str) -> None:
        seen["cases"] += 1
        with time_limit():
            accepted = _parse_or_reject(parse_search_filter, text)
            _parse_or_reject(parse_experiment_filter, text)
        seen["accepted"] += int(accepted)

    check()
    COUNTS.update({"filter_cases": seen["cases"], "filter_accepted": seen["accepted"]})
    assert seen["cases"] >= FUZZ_EXAMPLES
    # The grammar is worth its name: a fair share of the cases are valid filters.
    assert seen["accepted"] >= FUZZ_EXAMPLES // 20, seen


def test_search_runs_accepts_exactly_what_the_parser_accepts(store_uri: str) -> None:
    eventlog.set_tracking_uri(store_uri)
    eventlog.set_experiment("fuzzed")
    for i in range(3):
        with eventlog.start_run(run_name=f"r{i}"):
            eventlog.log_params({"x": i, "a b": "v"})
            eventlog.log_metrics({"loss": i / 3, "acc": 1 - i / 3})
            eventlog.set_tag("t", "prod" if i else "dev")
    seen = {"cases": 0, "accepted": 0}

    @settings(FAST, max_examples=SEARCH_EXAMPLES)
    @given(st.one_of(expressions, expressions, expressions, mutated, token_soup))
    def check(text: str) -> None:
        seen["cases"] += 1
        try:
            parse_search_filter(text)
            expected: str | None = None
        except FilterError as exc:
            expected = str(exc)
        with time_limit():
            try:
                runs = eventlog.search_runs(filter_string=text, output_format="list")
            except MlflowException as exc:
                assert exc.error_code == INVALID, (text, exc.error_code, exc.message)
                assert expected is not None, f"search_runs rejected what the parser accepts: {text!r}: {exc}"
                assert exc.message == expected, text
                return
        assert expected is None, f"search_runs accepted {text!r}, which the parser rejects: {expected}"
        assert len(runs) <= 3
        seen["accepted"] += 1

    check()
    COUNTS.update({"search_cases": seen["cases"], "search_accepted": seen["accepted"]})
    assert seen["cases"] >= SEARCH_EXAMPLES


# -- keys and values --------------------------------------------------------------------------------------

KEY_CHARS = "abcXYZ019_-. :/\\\0\n\t'\"`%üß名🙂"
keys = st.one_of(
    st.text(alphabet=KEY_CHARS, max_size=12),
    st.text(max_size=12),
    st.sampled_from(["", ".", "..", "a/../b", "../a", "/a", "a/", "a//b", "./a", "a/.", " ", "a b", "C:/x"]),
    st.integers(245, 255).map(lambda n: "k" * n),
)


def _mlflow_accepts(validate: Callable[[], Any]) -> tuple[bool, str]:
    from mlflow.exceptions import MlflowException as MlflowsException

    try:
        validate()
    except MlflowsException as exc:
        return False, exc.message
    return True, ""


def _ours(call: Callable[[], Any]) -> tuple[bool, str]:
    try:
        call()
    except MlflowException as exc:
        assert exc.error_code == INVALID, exc
        return False, exc.message
    return True, ""


@pytest.mark.parametrize("kind", ["param", "metric", "tag"])
def test_keys_are_accepted_exactly_when_mlflow_accepts_them(kind: str) -> None:
    from mlflow.utils import validation as mlflow_validation

    eventlog.set_tracking_uri("memory://fuzzed-keys")
    run = eventlog.start_run()
    seen = {"cases": 0, "rejected": 0}

    @settings(FAST, max_examples=KEY_EXAMPLES)
    @given(keys)
    def check(key: str) -> None:
        seen["cases"] += 1
        if kind == "param":
            expected = _mlflow_accepts(lambda: mlflow_validation._validate_param(key, "v"))
            got = _ours(lambda: eventlog.log_param(key, "v"))
        elif kind == "metric":
            expected = _mlflow_accepts(lambda: mlflow_validation._validate_metric(key, 1.0, 1, 0))
            got = _ours(lambda: eventlog.log_metric(key, 1.0, step=0, timestamp=1))
        else:
            expected = _mlflow_accepts(lambda: mlflow_validation._validate_tag(key, "v"))
            got = _ours(lambda: eventlog.set_tag(key, "v"))
        assert got[0] == expected[0], (key, got, expected)
        seen["rejected"] += int(not got[0])

    check()
    eventlog.flush()
    data = eventlog.get_run(run.info.run_id).data
    everything: dict[str, dict[str, Any]] = {"param": data.params, "metric": data.metrics, "tag": data.tags}
    stored = everything[kind]
    assert all(isinstance(k, str) for k in stored)
    eventlog.end_run()
    COUNTS[f"{kind}_key_cases"] = seen["cases"]
    assert seen["rejected"] > 0 and seen["rejected"] < seen["cases"], seen


@pytest.mark.parametrize("kind, limit", [("param", 6000), ("tag", 8000)])
def test_long_values_follow_mlflow(kind: str, limit: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow truncates long param and tag values (MLFLOW_TRUNCATE_LONG_VALUES, default on) or refuses
    them (off); the stored value is MLflow's."""
    from mlflow.utils import validation as mlflow_validation

    eventlog.set_tracking_uri("memory://long-values")
    for truncate in ("true", "false"):
        monkeypatch.setenv("MLFLOW_TRUNCATE_LONG_VALUES", truncate)
        with eventlog.start_run() as run:
            for i, n in enumerate([limit - 1, limit, limit + 1, 3 * limit]):
                value = ("é\0x" * n)[:n]
                key = f"k{i}"
                if kind == "param":
                    expected = _mlflow_accepts(partial(mlflow_validation._validate_param, key, value))
                    got = _ours(partial(eventlog.log_param, key, value))
                else:
                    expected = _mlflow_accepts(partial(mlflow_validation._validate_tag, key, value))
                    got = _ours(partial(eventlog.set_tag, key, value))
                assert got[0] == expected[0], (truncate, n)
        data = eventlog.get_run(run.info.run_id).data
        stored = data.params if kind == "param" else {k: v for k, v in data.tags.items() if k.startswith("k")}
        for value in stored.values():
            assert len(value) <= limit


# -- hostile artifact paths -------------------------------------------------------------------------------

HOSTILE = [
    "../x",
    "../../escape",
    "a/../../b",
    "a/../..",
    "..",
    "./..",
    "x/./../../y",
    "a//b",
    "a\0b",
    "\0",
    "a/\0/b",
]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _assert_invalid(call: Callable[[], Any]) -> None:
    with pytest.raises(MlflowException) as info:
        call()
    assert info.value.error_code == INVALID, info.value


@pytest.mark.parametrize("path", [*HOSTILE, "ABSOLUTE"], ids=[*[repr(p) for p in HOSTILE], "absolute"])
def test_hostile_artifact_paths_are_refused_and_write_nothing(path: str, tmp_path: Path) -> None:
    # An absolute path into this test's own directory stands for /etc/passwd: nothing outside tmp_path is
    # ever at risk, even if the refusal were broken. (memory:// below takes the literal /etc/passwd.)
    victim = tmp_path / "outside" / "victim.txt"
    victim.parent.mkdir()
    victim.write_text("do not touch")
    if path == "ABSOLUTE":
        path = str(victim)
    source = tmp_path / "payload.txt"
    source.write_text("payload")
    store = tmp_path / "store"
    eventlog.set_tracking_uri(str(store))
    with eventlog.start_run() as run:
        pass
    eventlog.flush()
    before = _files(tmp_path)

    _assert_invalid(lambda: eventlog.log_artifact(str(source), artifact_path=path, run_id=run.info.run_id))
    if path != "a//b":  # an artifact_file is normalised first, as in MLflow: "a//b" is the legal "a/b"
        _assert_invalid(lambda: eventlog.log_text("payload", path, run_id=run.info.run_id))
        _assert_invalid(lambda: eventlog.log_dict({"a": 1}, f"{path}/x.json", run_id=run.info.run_id))
    client = MlflowClient(str(store))
    if path.startswith(("..", "/", "./..", "a/../..", "x/./../..")) or "\0" in path:
        _assert_invalid(lambda: client.list_artifacts(run.info.run_id, path))
        _assert_invalid(lambda: client.download_artifacts(run.info.run_id, path, str(tmp_path / "dl")))
    eventlog.flush()
    after = _files(tmp_path)
    new = {p for p in after if p not in before or after[p] != before[p]}
    # Only the store's own event files may change (the run's segments), never anything else.
    assert all(
        p.startswith(str(store / "experiments")) or p.startswith(str(store / "catalog")) for p in new
    ), new
    assert victim.read_text() == "do not touch"
    assert not any("payload" in content.decode(errors="replace") for p, content in after.items() if p in new)


def test_literal_etc_passwd_is_refused_on_a_memory_store(tmp_path: Path) -> None:
    source = tmp_path / "payload.txt"
    source.write_text("payload")
    eventlog.set_tracking_uri("memory://hostile")
    with eventlog.start_run() as run:
        for path in ("/etc/passwd", "/etc", "//etc/passwd"):
            _assert_invalid(partial(eventlog.log_artifact, str(source), artifact_path=path))
            _assert_invalid(partial(eventlog.log_text, "payload", path))
    assert MlflowClient("memory://hostile").list_artifacts(run.info.run_id) == []


@pytest.mark.parametrize(
    "artifact_path",
    ["ünïcode/dïr", "模型/权重", "emoji-🙂", "spaces in name", "a" * 200, "x/" * 30 + "deep"],
    ids=["latin", "cjk", "emoji", "spaces", "long-name", "deep"],
)
def test_unusual_but_legal_artifact_paths_stay_inside_the_run_root(
    artifact_path: str, tmp_path: Path
) -> None:
    source = tmp_path / "payload.txt"
    source.write_text("payload")
    store = tmp_path / "store"
    eventlog.set_tracking_uri(str(store))
    with eventlog.start_run() as run:
        eventlog.log_artifact(str(source), artifact_path=artifact_path)
    root = Path(eventlog.get_run(run.info.run_id).info.artifact_uri.removeprefix("file://"))
    written = [p for p in root.rglob("*") if p.is_file()]
    assert [p.relative_to(root).as_posix() for p in written] == [f"{artifact_path}/payload.txt"]
    dst = MlflowClient(str(store)).download_artifacts(run.info.run_id, artifact_path, str(tmp_path / "dl"))
    assert Path(dst, "payload.txt").read_text() == "payload"


def test_overlong_artifact_path_gets_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "payload.txt"
    source.write_text("payload")
    store = tmp_path / "store"
    eventlog.set_tracking_uri(str(store))
    with eventlog.start_run() as run:
        pass
    before = _files(tmp_path)
    for path in ("n" * 5000, "/".join(["d" * 255] * 20)):
        with pytest.raises((MlflowException, OSError)) as info:
            eventlog.log_artifact(str(source), artifact_path=path, run_id=run.info.run_id)
        assert "name too long" in str(info.value).lower() or getattr(info.value, "error_code", "") == INVALID
    after = _files(tmp_path)
    assert {p for p in after if p not in before} <= {p for p in after if "/experiments/" in p}


# -- a directory that is not an eventlog store ------------------------------------------------------------


def _snapshot(root: Path) -> dict[str, tuple[bytes | None, int]]:
    out: dict[str, tuple[bytes | None, int]] = {}
    for p in [root, *root.rglob("*")]:
        stat = p.stat()
        out[str(p)] = (p.read_bytes() if p.is_file() else None, stat.st_mtime_ns)
    return out


FOREIGN = {
    "notes.txt": b"my notes",
    "data/train.csv": b"a,b\n1,2\n",
    "0/meta.yaml": b"name: Default\n",  # an MLflow file store
}


@pytest.mark.parametrize(
    "call",
    [
        lambda: eventlog.set_experiment("x"),
        lambda: eventlog.start_run(),
        lambda: eventlog.search_runs(search_all_experiments=True),
        lambda: eventlog.search_experiments(),
        lambda: MlflowClient().create_experiment("x"),
    ],
    ids=["set_experiment", "start_run", "search_runs", "search_experiments", "client"],
)
@pytest.mark.parametrize("layout", ["files", "mlflow-file-store"])
def test_tracking_uri_at_a_foreign_directory_is_refused_and_untouched(
    call: Callable[[], Any], layout: str, tmp_path: Path
) -> None:
    foreign = tmp_path / "not-a-store"
    items = (
        FOREIGN if layout == "mlflow-file-store" else {k: v for k, v in FOREIGN.items() if "meta" not in k}
    )
    for rel, data in items.items():
        (foreign / rel).parent.mkdir(parents=True, exist_ok=True)
        (foreign / rel).write_bytes(data)
    before = _snapshot(foreign)
    eventlog.set_tracking_uri(str(foreign))
    with pytest.raises(MlflowException) as info:
        call()
    assert info.value.error_code == INVALID
    assert "not an eventlog store" in info.value.message or "holds" in info.value.message
    assert "touched nothing" in info.value.message
    if layout == "mlflow-file-store":
        assert "MLflow file store" in info.value.message
    assert _snapshot(foreign) == before
    assert not (tmp_path / "mlruns").exists()


@pytest.fixture(scope="module", autouse=True)
def _report_counts() -> Iterator[None]:
    yield
    path = os.environ.get("EVENTLOG_FUZZ_REPORT")
    if path:
        import json

        Path(path).write_text(json.dumps(COUNTS, indent=2))
