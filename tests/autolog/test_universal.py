"""``eventlog.autolog()``: every supported framework, including ones imported after the call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from typing import Any

import pytest


@pytest.mark.mlflow
def test_autolog_configures_imported_frameworks(differential: Any) -> None:
    """``autolog()`` with sklearn, xgboost and lightgbm already imported configures all three, passing
    each the arguments its own autolog() takes (extra_tags, log_models...)."""

    def scenario(m: Any, ctx: Any) -> Any:
        import lightgbm as lgb
        import xgboost as xgb
        from sklearn.datasets import load_diabetes
        from sklearn.linear_model import Ridge

        X, y = load_diabetes(return_X_y=True)
        m.autolog(log_models=False, extra_tags={"via": "autolog"})
        Ridge().fit(X, y)
        xgb.train({"max_depth": 2, "nthread": 1}, xgb.DMatrix(X, label=y), num_boost_round=3)
        lgb.train({"verbose": -1, "num_threads": 1}, lgb.Dataset(X, label=y), num_boost_round=3)

    differential(scenario)


@pytest.mark.mlflow
def test_explicit_flavor_configuration_wins(differential: Any) -> None:
    """A flavor configured with its own autolog() keeps that configuration through ``autolog()``;
    ``autolog(disable=True)`` turns the globally configured ones off."""

    def scenario(m: Any, ctx: Any) -> Any:
        import xgboost as xgb
        from sklearn.datasets import load_diabetes
        from sklearn.linear_model import Ridge

        X, y = load_diabetes(return_X_y=True)
        m.sklearn.autolog(log_models=False, extra_tags={"explicit": "yes"})
        m.autolog(extra_tags={"explicit": "no"}, log_models=False)
        Ridge().fit(X, y)
        m.autolog(disable=True)
        xgb.train({"max_depth": 2, "nthread": 1}, xgb.DMatrix(X, label=y), num_boost_round=2)
        Ridge(alpha=2.0).fit(X, y)  # sklearn was configured explicitly: still on

    differential(scenario)


@pytest.mark.mlflow
def test_exclude_flavors(differential: Any) -> None:
    def scenario(m: Any, ctx: Any) -> Any:
        import xgboost as xgb
        from sklearn.datasets import load_diabetes
        from sklearn.linear_model import Ridge

        X, y = load_diabetes(return_X_y=True)
        m.autolog(exclude_flavors=["sklearn"], log_models=False)
        Ridge().fit(X, y)
        xgb.train({"max_depth": 2, "nthread": 1}, xgb.DMatrix(X, label=y), num_boost_round=2)

    differential(scenario)


def test_framework_imported_after_autolog(tmp_path: Any) -> None:
    """In a fresh interpreter: ``eventlog.autolog()`` before sklearn is imported; the import hook
    patches sklearn when it is first imported, and a fit is logged."""
    script = textwrap.dedent(
        f"""
        import json, sys
        import eventlog
        assert "sklearn" not in sys.modules
        eventlog.set_tracking_uri({str(tmp_path / "store")!r})
        eventlog.autolog(log_models=False)
        assert "sklearn" not in sys.modules
        from sklearn.datasets import load_iris
        from sklearn.tree import DecisionTreeClassifier
        X, y = load_iris(return_X_y=True)
        DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
        run = eventlog.last_active_run()
        print(json.dumps({{"tags": run.data.tags, "metrics": sorted(run.data.metrics),
                          "xgboost_loaded": "xgboost" in sys.modules}}))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "EVENTLOG_"))}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["tags"]["mlflow.autologging"] == "sklearn"
    assert result["tags"]["estimator_name"] == "DecisionTreeClassifier"
    assert "training_accuracy_score" in result["metrics"]
    assert result["xgboost_loaded"] is False  # hooks never import a framework themselves


def test_post_import_hook_fires_once_on_first_import(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from eventlog._autolog._hooks import register_post_import_hook

    package = tmp_path / "el_hook_probe"
    package.mkdir()
    (package / "__init__.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen: list[Any] = []

    def probe_hook(module: types.ModuleType) -> None:
        seen.append(module.VALUE)

    register_post_import_hook(probe_hook, "el_hook_probe")
    assert seen == []
    import el_hook_probe

    assert seen == [42]
    assert el_hook_probe.__spec__ is not None
    assert type(el_hook_probe.__spec__.loader).__name__ != "_HookLoader"
    register_post_import_hook(probe_hook, "el_hook_probe")  # already imported: runs at once
    assert seen == [42, 42]
    monkeypatch.delitem(sys.modules, "el_hook_probe")


def test_import_eventlog_stays_light() -> None:
    """``import eventlog`` loads no framework and no flavor module; ``eventlog.sklearn`` is lazy."""
    script = textwrap.dedent(
        """
        import sys, time
        t = time.perf_counter()
        import eventlog
        elapsed = time.perf_counter() - t
        heavy = [m for m in ("sklearn", "xgboost", "lightgbm", "numpy", "pandas", "yaml") if m in sys.modules]
        assert not heavy, heavy
        assert hasattr(eventlog, "sklearn") and hasattr(eventlog, "autolog")
        assert "sklearn" not in sys.modules
        assert eventlog.sklearn.FLAVOR_NAME == "sklearn"
        assert "sklearn" not in sys.modules
        import eventlog.xgboost
        assert eventlog.xgboost.FLAVOR_NAME == "xgboost" and "xgboost" not in sys.modules
        print(elapsed)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
