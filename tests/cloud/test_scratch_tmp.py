from __future__ import annotations
import json
from pathlib import Path
import pytest
from click.testing import CliRunner
import eventlog
from eventlog import MlflowClient
from eventlog.cli import main as cli
from .conftest import Backend, backend_params

@pytest.mark.parametrize("backend", backend_params(("s3","gcs","azure")), indirect=True)
def test_artifact_prefix(backend: Backend, tmp_path: Path) -> None:
    eventlog.set_tracking_uri(backend.uri, storage_options=backend.storage_options)
    f = tmp_path / "model.pkl"; f.write_bytes(b"x")
    with eventlog.start_run() as run:
        eventlog.log_artifact(str(f))
    c = MlflowClient(backend.uri, storage_options=backend.storage_options)
    print(backend.name, [(x.path, x.is_dir) for x in c.list_artifacts(run.info.run_id, "model")])
    print(backend.name, [(x.path, x.is_dir) for x in c.list_artifacts(run.info.run_id, "model.pkl")])
    try:
        print(backend.name, c.download_artifacts(run.info.run_id, "model", str(tmp_path/"dl")))
    except Exception as e: print(backend.name, "download", type(e).__name__, e)

def test_cli_env(s3: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    eventlog.set_tracking_uri(s3.uri, storage_options=s3.storage_options)
    eventlog.set_experiment("visible")
    from eventlog._reset import reset_process_state; reset_process_state()
    monkeypatch.setenv("EVENTLOG_TRACKING_URI", s3.uri)
    monkeypatch.setenv("EVENTLOG_STORAGE_OPTIONS", json.dumps(s3.storage_options))
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x"); monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    import time; t=time.time()
    r = CliRunner().invoke(cli, ["experiments", "--json"])
    print("experiments", r.exit_code, repr(r.output[:300]), repr(r.stderr[:300]), time.time()-t)
    r = CliRunner().invoke(cli, ["compact", "--json"])
    print("compact noarg", r.exit_code, r.output[:300])
    r = CliRunner().invoke(cli, ["compact", s3.uri, "--json"])
    print("compact uri", r.exit_code, repr(r.output[:300]), repr(r.stderr[:300]), time.time()-t)
