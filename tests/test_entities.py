"""eventlog.entities: shapes, dict()/repr/equality, compared with mlflow.entities where possible."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import eventlog.entities as ent
from eventlog.entities import (
    Experiment,
    ExperimentTag,
    FileInfo,
    LifecycleStage,
    Metric,
    PagedList,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
    RunTag,
    ViewType,
)
from eventlog.exceptions import MlflowException

RUN_INFO_ARGS: dict[str, Any] = {
    "run_id": "0123456789abcdef0123456789abcdef",
    "experiment_id": "0",
    "user_id": "root",
    "status": "FINISHED",
    "start_time": 1795707488616,
    "end_time": 1795707489605,
    "lifecycle_stage": "active",
    "artifact_uri": "/tmp/mlruns/0/0123456789abcdef0123456789abcdef/artifacts",
    "run_name": "amber-comet-269",
}


def _hashable(obj: object) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


# --- behaviour of our own entities ------------------------------------------------------------------------


def test_run_info_properties_and_dict() -> None:
    info = RunInfo(**RUN_INFO_ARGS)
    assert dict(info) == {name: RUN_INFO_ARGS[name] for name in sorted(RUN_INFO_ARGS)}
    assert list(dict(info)) == sorted(RUN_INFO_ARGS)
    assert not hasattr(info, "run_uuid")
    assert RunInfo.get_searchable_attributes() == [
        "artifact_uri",
        "end_time",
        "run_id",
        "run_name",
        "start_time",
        "status",
        "user_id",
    ]
    assert info == RunInfo(**RUN_INFO_ARGS)
    assert info != RunInfo(**{**RUN_INFO_ARGS, "status": "FAILED"})
    assert not _hashable(info)


@pytest.mark.parametrize("missing", ["experiment_id", "user_id", "status", "start_time"])
def test_run_info_required_fields(missing: str) -> None:
    with pytest.raises(Exception, match=f"^{missing} cannot be None$"):
        RunInfo(**{**RUN_INFO_ARGS, missing: None})


def test_run_info_copy_with_overrides_keeps_falsy() -> None:
    info = RunInfo(**RUN_INFO_ARGS)
    copy = info._copy_with_overrides(status="KILLED", end_time=None, run_name="renamed")
    assert (copy.status, copy.end_time, copy.run_name) == ("KILLED", info.end_time, "renamed")
    assert info.status == "FINISHED"


def test_run_data_dicts_from_lists() -> None:
    data = RunData(
        metrics=[Metric("loss", 0.5, 10, 1), Metric("acc", 0.9, 10, 1)],
        params=[Param("lr", "0.1")],
        tags=[RunTag("mlflow.runName", "r")],
    )
    assert data.metrics == {"loss": 0.5, "acc": 0.9}
    assert data.params == {"lr": "0.1"}
    assert data.tags == {"mlflow.runName": "r"}
    assert data.to_dictionary() == {"metrics": data.metrics, "params": data.params, "tags": data.tags}
    assert list(dict(data)) == ["metrics", "params", "tags"]
    empty = RunData()
    assert (empty.metrics, empty.params, empty.tags) == ({}, {}, {})


def test_run_wraps_parts_and_to_dictionary() -> None:
    info = RunInfo(**RUN_INFO_ARGS)
    run = Run(info, RunData(params=[Param("p", "1")]), RunInputs(), RunOutputs())
    assert run.info is info
    assert run.inputs is not None and run.inputs.dataset_inputs == [] and run.inputs.model_inputs == []
    assert run.outputs is not None and run.outputs.model_outputs == []
    assert run.to_dictionary() == {
        "info": dict(info),
        "data": {"metrics": {}, "params": {"p": "1"}, "tags": {}},
        "inputs": {"model_inputs": [], "dataset_inputs": []},
        "outputs": {"model_outputs": []},
    }
    assert Run(info, RunData()).to_dictionary().keys() == {"info", "data"}
    with pytest.raises(MlflowException, match="run_info cannot be None"):
        Run(None, RunData())  # type: ignore[arg-type]


def test_subclass_lists_only_its_own_properties() -> None:
    # MLflow's ActiveRun(Run) iterates as empty; the fluent API's ActiveRun relies on the same rule.
    class ActiveRunLike(Run):
        pass

    run = ActiveRunLike(RunInfo(**RUN_INFO_ARGS), RunData())
    assert dict(run) == {}
    assert repr(run) == "<ActiveRunLike: >"
    assert run.info.run_id == RUN_INFO_ARGS["run_id"]


def test_metric_equality_hash_and_dataset_pairing() -> None:
    a = Metric("m", 1.0, 5, 0)
    assert a == Metric("m", 1.0, 5, 0)
    assert a != Metric("m", 1.0, 5, 1)
    assert hash(a) == hash(Metric("m", 1.0, 5, 0))
    assert len({a, Metric("m", 1.0, 5, 0), Metric("m", 2.0, 5, 0)}) == 2
    with pytest.raises(MlflowException, match="Both dataset_name and dataset_digest") as info:
        Metric("m", 1.0, 5, 0, dataset_name="d")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    full = Metric("m", 1.0, 5, 0, model_id="mid", dataset_name="d", dataset_digest="x", run_id="r")
    assert Metric.from_dictionary(full.to_dictionary()) == full
    with pytest.raises(MlflowException, match=r"Missing required keys \['step'\] in metric dictionary"):
        Metric.from_dictionary({"key": "m", "value": 1.0, "timestamp": 5})


def test_param_equality_is_by_key_only() -> None:
    assert Param("k", "1") == Param("k", "2")
    assert hash(Param("k", "1")) == hash(Param("k", "2"))
    assert Param("k", "1") != Param("j", "1")
    assert len({Param("k", "1"), Param("k", "2")}) == 1


def test_tags_compare_all_fields_and_are_unhashable() -> None:
    assert RunTag("k", "v") == RunTag("k", "v")
    assert RunTag("k", "v") != RunTag("k", "w")
    assert RunTag("k", "v") != ExperimentTag("k", "v")
    assert not _hashable(RunTag("k", "v"))
    assert not _hashable(ExperimentTag("k", "v"))
    assert dict(RunTag("k", "v")) == {"key": "k", "value": "v"}
    assert dict(ExperimentTag("k", "v")) == {"key": "k", "value": "v"}


def test_experiment_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_WORKSPACE", raising=False)
    exp = Experiment("1", "exp", "/a", "active", tags=[ExperimentTag("t", "v")], creation_time=5)
    assert exp.tags == {"t": "v"}
    assert exp.workspace == "default"
    assert Experiment.DEFAULT_EXPERIMENT_NAME == "Default"
    assert list(dict(exp)) == [
        "artifact_location",
        "creation_time",
        "effective_trace_archival_retention",
        "experiment_id",
        "last_update_time",
        "lifecycle_stage",
        "name",
        "tags",
        "trace_location",
        "workspace",
    ]
    assert Experiment("1", "e", "/a", "active", tags={"a": "b"}).tags == {"a": "b"}
    assert Experiment("1", "e", "/a", "active", workspace="  team ").workspace == "team"
    monkeypatch.setenv("MLFLOW_WORKSPACE", "from-env")
    assert Experiment("1", "e", "/a", "active").workspace == "from-env"


def test_file_info() -> None:
    info = FileInfo("d/f.txt", False, 12)
    assert dict(info) == {"file_size": 12, "is_dir": False, "path": "d/f.txt"}
    assert info == FileInfo("d/f.txt", False, 12)
    assert info != FileInfo("d/f.txt", False, 13)


def test_paged_list() -> None:
    page: PagedList[int] = PagedList([1, 2], token="tok")
    assert page == [1, 2] and page.token == "tok" and page.to_list() == [1, 2]
    assert type(page.to_list()) is list
    assert PagedList([], None).token is None


def test_enums() -> None:
    assert (ViewType.ACTIVE_ONLY, ViewType.DELETED_ONLY, ViewType.ALL) == (1, 2, 3)
    assert ViewType.from_string("deleted_only") == 2 and ViewType.to_string(3) == "all"
    assert [RunStatus.from_string(s) for s in ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")] == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert RunStatus.all_status() == [1, 2, 3, 4, 5]
    assert [RunStatus.is_terminated(s) for s in range(1, 6)] == [False, False, True, True, True]
    with pytest.raises(Exception, match=r"Could not get run status corresponding to string BOGUS\. Valid"):
        RunStatus.from_string("BOGUS")
    assert LifecycleStage.view_type_to_stages(ViewType.ALL) == ["active", "deleted"]
    assert LifecycleStage.view_type_to_stages() == ["active", "deleted"]
    assert LifecycleStage.matches_view_type(ViewType.DELETED_ONLY, "deleted")
    assert not LifecycleStage.matches_view_type(ViewType.ACTIVE_ONLY, "deleted")
    with pytest.raises(MlflowException, match="Invalid lifecycle stage 'gone'"):
        LifecycleStage.matches_view_type(ViewType.ALL, "gone")


def test_repr_format() -> None:
    assert repr(Param("k", "v")) == "<Param: key='k', value='v'>"
    assert repr(Metric("m", 1.5, 2, 3)) == (
        "<Metric: dataset_digest=None, dataset_name=None, key='m', model_id=None, run_id=None, step=3, "
        "timestamp=2, value=1.5>"
    )


def test_entities_pickle() -> None:
    run = Run(RunInfo(**RUN_INFO_ARGS), RunData(metrics=[Metric("m", 1.0, 1, 0)]), RunInputs(), RunOutputs())
    clone = pickle.loads(pickle.dumps(run))
    assert clone.to_dictionary() == run.to_dictionary()


def test_public_surface() -> None:
    assert sorted(ent.__all__) == sorted(
        [
            "Experiment",
            "ExperimentTag",
            "FileInfo",
            "LifecycleStage",
            "Metric",
            "PagedList",
            "Param",
            "Run",
            "RunData",
            "RunInfo",
            "RunInputs",
            "RunOutputs",
            "RunStatus",
            "RunTag",
            "ViewType",
        ]
    )
    for name in ent.__all__:
        assert getattr(ent, name).__module__.startswith("eventlog.entities")


def test_importing_these_modules_pulls_no_heavy_dependency() -> None:
    code = (
        "import sys\n"
        "import eventlog.entities, eventlog.exceptions, eventlog._validation, eventlog._names\n"
        "heavy = [m for m in ('numpy', 'pandas', 'pyarrow', 'polars', 'mlflow') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


# --- differential against mlflow.entities -------------------------------------------------------------


@pytest.fixture(scope="module")
def me() -> Any:
    import mlflow.entities

    return mlflow.entities


def _both(me: Any, name: str, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    return getattr(ent, name)(*args, **kwargs), getattr(me, name)(*args, **kwargs)


def _same_surface(ours: Any, theirs: Any) -> None:
    assert repr(ours).replace(type(ours).__name__, "X", 1) == repr(theirs).replace(
        type(theirs).__name__, "X", 1
    )
    assert list(dict(ours)) == list(dict(theirs))
    assert _hashable(ours) == _hashable(theirs)


@pytest.mark.mlflow
def test_run_info_matches_mlflow(me: Any) -> None:
    ours, theirs = _both(me, "RunInfo", **RUN_INFO_ARGS)
    assert dict(ours) == dict(theirs)
    _same_surface(ours, theirs)
    assert RunInfo.get_searchable_attributes() == me.RunInfo.get_searchable_attributes()
    assert RunInfo.get_orderable_attributes() == me.RunInfo.get_orderable_attributes()
    assert hasattr(ours, "run_uuid") == hasattr(theirs, "run_uuid")
    running, theirs_running = _both(me, "RunInfo", **{**RUN_INFO_ARGS, "end_time": None, "run_name": None})
    assert dict(running) == dict(theirs_running)
    assert repr(running) == repr(theirs_running)


@pytest.mark.mlflow
def test_run_matches_mlflow(me: Any) -> None:
    metrics = [Metric("loss", 0.25, 3, 7), Metric("acc", float("nan"), 3, 7)]
    their_metrics = [me.Metric("loss", 0.25, 3, 7), me.Metric("acc", float("nan"), 3, 7)]
    params = [(f"p{i:02d}", "value-" * 3) for i in range(8)]  # long enough for pprint to wrap lines
    tags = [("mlflow.runName", "amber-comet-269"), ("mlflow.user", "root")]
    ours = Run(
        RunInfo(**RUN_INFO_ARGS),
        RunData(metrics, [Param(*p) for p in params], [RunTag(*t) for t in tags]),
        RunInputs([], []),
        RunOutputs([]),
    )
    theirs = me.Run(
        me.RunInfo(**RUN_INFO_ARGS),
        me.RunData(their_metrics, [me.Param(*p) for p in params], [me.RunTag(*t) for t in tags]),
        me.RunInputs([], []),
        me.RunOutputs([]),
    )
    assert repr(ours) == repr(theirs)
    assert "\n" in repr(ours)
    assert list(dict(ours)) == list(dict(theirs)) == ["data", "info", "inputs", "outputs"]
    ours_dict, theirs_dict = ours.to_dictionary(), theirs.to_dictionary()
    assert math.isnan(ours_dict["data"]["metrics"].pop("acc"))
    assert math.isnan(theirs_dict["data"]["metrics"].pop("acc"))
    assert ours_dict == theirs_dict
    bare, their_bare = (
        Run(RunInfo(**RUN_INFO_ARGS), RunData()),
        me.Run(me.RunInfo(**RUN_INFO_ARGS), me.RunData()),
    )
    assert repr(bare) == repr(their_bare)
    assert bare.to_dictionary() == their_bare.to_dictionary()
    assert (bare == Run(bare.info, bare.data)) == (their_bare == me.Run(their_bare.info, their_bare.data))


@pytest.mark.mlflow
def test_experiment_matches_mlflow(me: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_WORKSPACE", raising=False)
    args: dict[str, Any] = {
        "experiment_id": "3",
        "name": "zeta",
        "artifact_location": "/tmp/mlruns/3",
        "lifecycle_stage": "deleted",
        "creation_time": 10,
        "last_update_time": 20,
    }
    ours = Experiment(**args, tags=[ExperimentTag("a", "1"), ExperimentTag("b", "2")])
    theirs = me.Experiment(**args, tags=[me.ExperimentTag("a", "1"), me.ExperimentTag("b", "2")])
    assert dict(ours) == dict(theirs)
    _same_surface(ours, theirs)
    assert (ours == Experiment(**args)) == (theirs == me.Experiment(**args))
    for workspace in (None, "", "  ws  "):
        assert (
            Experiment(**args, workspace=workspace).workspace
            == me.Experiment(**args, workspace=workspace).workspace
        )
    monkeypatch.setenv("MLFLOW_WORKSPACE", "envws")
    assert dict(Experiment(**args)) == dict(me.Experiment(**args))


@pytest.mark.mlflow
@pytest.mark.parametrize(
    ("name", "args", "kwargs"),
    [
        ("Metric", ("m", 1.5, 100, 2), {}),
        ("Metric", ("m", 1.5, 100, 2), {"model_id": "x", "dataset_name": "d", "dataset_digest": "g"}),
        ("Metric", ("m", 1.5, 100, 2), {"run_id": "r"}),
        ("Param", ("lr", "0.1"), {}),
        ("RunTag", ("t", "v"), {}),
        ("ExperimentTag", ("t", "v"), {}),
        ("FileInfo", ("d", True, None), {}),
        ("FileInfo", ("f.txt", False, 1), {}),
        ("RunInputs", ([], []), {}),
        ("RunOutputs", ([],), {}),
        ("RunData", (), {}),
    ],
)
def test_simple_entities_match_mlflow(
    me: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    ours, theirs = _both(me, name, *args, **kwargs)
    assert dict(ours) == dict(theirs)
    _same_surface(ours, theirs)
    if hasattr(theirs, "to_dictionary"):
        assert ours.to_dictionary() == theirs.to_dictionary()


@pytest.mark.mlflow
def test_metric_errors_match_mlflow(me: Any) -> None:
    from mlflow.exceptions import MlflowException as TheirException

    with pytest.raises(TheirException) as theirs:
        me.Metric("m", 1.0, 1, 0, dataset_digest="only")
    with pytest.raises(MlflowException) as ours:
        Metric("m", 1.0, 1, 0, dataset_digest="only")
    assert (ours.value.message, ours.value.error_code) == (theirs.value.message, theirs.value.error_code)
    with pytest.raises(TheirException) as theirs:
        me.Metric.from_dictionary({"value": 1.0})
    with pytest.raises(MlflowException) as ours:
        Metric.from_dictionary({"value": 1.0})
    assert (ours.value.message, ours.value.error_code) == (theirs.value.message, theirs.value.error_code)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=30),
)


@pytest.mark.mlflow
@settings(max_examples=200, deadline=None)
@given(
    key=st.text(max_size=40),
    value=scalars,
    other_value=scalars,
    timestamp=scalars,
    step=scalars,
)
def test_equality_and_repr_match_mlflow_for_generated_values(
    me: Any, key: str, value: Any, other_value: Any, timestamp: Any, step: Any
) -> None:
    pairs = [
        (Metric(key, value, timestamp, step), me.Metric(key, value, timestamp, step),
         Metric(key, other_value, timestamp, step), me.Metric(key, other_value, timestamp, step)),
        (Param(key, value), me.Param(key, value), Param(key, other_value), me.Param(key, other_value)),
        (RunTag(key, value), me.RunTag(key, value), RunTag(key, other_value), me.RunTag(key, other_value)),
    ]  # fmt: skip
    for ours, theirs, ours2, theirs2 in pairs:
        assert repr(ours) == repr(theirs)
        assert (ours == ours2) == (theirs == theirs2)
        assert (ours == theirs) is False  # different classes never compare equal
        if _hashable(theirs):
            assert (hash(ours) == hash(ours2)) == (hash(theirs) == hash(theirs2))


@pytest.mark.mlflow
def test_enums_match_mlflow(me: Any) -> None:
    for name in ("ACTIVE_ONLY", "DELETED_ONLY", "ALL"):
        assert getattr(ViewType, name) == getattr(me.ViewType, name)
    for view in (1, 2, 3):
        assert ViewType.to_string(view) == me.ViewType.to_string(view)
        assert ViewType.from_string(ViewType.to_string(view)) == view
        assert LifecycleStage.view_type_to_stages(view) == me.LifecycleStage.view_type_to_stages(view)
        for stage in ("active", "deleted"):
            assert LifecycleStage.matches_view_type(view, stage) == me.LifecycleStage.matches_view_type(
                view, stage
            )
    assert LifecycleStage.view_type_to_stages(99) == me.LifecycleStage.view_type_to_stages(99)
    for name in ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"):
        assert getattr(RunStatus, name) == getattr(me.RunStatus, name)
        number = RunStatus.from_string(name)
        assert number == me.RunStatus.from_string(name)
        assert RunStatus.to_string(number) == me.RunStatus.to_string(number)
        assert RunStatus.is_terminated(number) == me.RunStatus.is_terminated(number)
    assert RunStatus.all_status() == me.RunStatus.all_status()
    assert (LifecycleStage.ACTIVE, LifecycleStage.DELETED) == (
        me.LifecycleStage.ACTIVE,
        me.LifecycleStage.DELETED,
    )
    for bad_call in (
        lambda m: m.RunStatus.from_string("BOGUS"),
        lambda m: m.RunStatus.to_string(9),
        lambda m: m.ViewType.from_string("everything"),
        lambda m: m.ViewType.to_string(0),
    ):
        with pytest.raises(Exception) as theirs:
            bad_call(me)
        with pytest.raises(Exception) as ours:
            bad_call(ent)
        assert type(ours.value) is type(theirs.value) is Exception
        assert str(ours.value) == str(theirs.value)
    for args in ((ViewType.ALL, "gone"), (7, "active")):
        with pytest.raises(Exception) as theirs:
            me.LifecycleStage.matches_view_type(*args)
        with pytest.raises(MlflowException) as ours:
            LifecycleStage.matches_view_type(*args)
        their_error: Any = theirs.value
        assert (ours.value.message, ours.value.error_code) == (their_error.message, their_error.error_code)


@pytest.mark.mlflow
def test_paged_list_matches_mlflow() -> None:
    from mlflow.store.entities.paged_list import PagedList as TheirPagedList

    ours, theirs = PagedList([3, 1], b"tok"), TheirPagedList([3, 1], b"tok")
    assert ours == theirs and ours.token == theirs.token and ours.to_list() == theirs.to_list()
