"""Object-store emulators and the storage backends the cloud tests run on.

The emulators are real servers on 127.0.0.1, started once per session on free ports by
``scripts/emulators.py`` (moto for S3, fake-gcs-server for GCS, Azurite for Azure Blob), probed until they
answer, and stopped by their process ids at the end. An emulator that cannot start fails the tests that
need it, with its log: no test is skipped for want of one.

``backend`` is one fixture parametrized over local disk, ``memory://``, S3, GCS and Azure; each test gets
a fresh prefix (``uri``) with the ``storage_options`` that reach it, and the environment a child process
needs to log there (``child_env``).
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# gcsfs reads this once, at import: its default (true) makes every bucket lookup try a gRPC API that no
# emulator has, each failing after a 60 s timeout. It must be set before anything imports gcsfs.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
# Never reach AWS' instance-metadata service looking for credentials.
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
# The emulators are on 127.0.0.1: never through a proxy.
os.environ["NO_PROXY"] = ",".join(filter(None, [os.environ.get("NO_PROXY", ""), "127.0.0.1,localhost"]))

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from scripts import emulators  # noqa: E402

BUCKET = "eventlog-tests"
S3_REGION = "eu-west-1"  # not us-east-1: s3fs sends it as LocationConstraint, which S3 rejects for us-east-1
CLOUD = ("s3", "gcs", "azure")
BACKENDS = ("local", "memory", *CLOUD)


def backend_params(names: tuple[str, ...] = BACKENDS) -> list[Any]:
    """pytest params for ``backend``: the cloud ones are marked ``cloud``."""
    return [
        pytest.param(n, marks=pytest.mark.cloud, id=n) if n in CLOUD else pytest.param(n, id=n) for n in names
    ]


# -- emulators (one each per session) ---------------------------------------------------------------------
@pytest.fixture(scope="session")
def emulator_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("emulators")


def _started(start: Callable[[Path], emulators.Emulator], logs: Path) -> Iterator[emulators.Emulator]:
    try:
        emulator = start(logs)
    except emulators.EmulatorError as exc:
        pytest.fail(f"could not start the emulator: {exc}", pytrace=False)
    try:
        yield emulator
    finally:
        emulator.stop()
        assert not emulator.alive()


@pytest.fixture(scope="session")
def moto_server(emulator_logs: Path) -> Iterator[emulators.Emulator]:
    yield from _started(emulators.start_moto, emulator_logs)


@pytest.fixture(scope="session")
def gcs_server(emulator_logs: Path) -> Iterator[emulators.Emulator]:
    yield from _started(emulators.start_fake_gcs, emulator_logs)


@pytest.fixture(scope="session")
def azurite_server(emulator_logs: Path) -> Iterator[emulators.Emulator]:
    yield from _started(emulators.start_azurite, emulator_logs)


def s3_options(endpoint: str) -> dict[str, Any]:
    return {
        "key": "testing",
        "secret": "testing",
        "endpoint_url": endpoint,
        "client_kwargs": {"region_name": S3_REGION},
    }


def gcs_options(endpoint: str) -> dict[str, Any]:
    return {"endpoint_url": endpoint, "token": "anon", "project": "eventlog-tests"}


def azure_options(endpoint: str) -> dict[str, Any]:
    return {"connection_string": emulators.azurite_connection_string(endpoint)}


def _raw_fs(protocol: str, options: dict[str, Any]) -> Any:
    """A filesystem of our own (not fsspec's cached instance), with fsspec's default listings cache."""
    import fsspec

    return fsspec.filesystem(protocol, skip_instance_cache=True, **options)


@pytest.fixture(scope="session")
def s3_bucket(moto_server: emulators.Emulator) -> dict[str, Any]:
    options = s3_options(moto_server.endpoint)
    fs = _raw_fs("s3", options)
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)
    return options


@pytest.fixture(scope="session")
def gcs_bucket(gcs_server: emulators.Emulator) -> dict[str, Any]:
    options = gcs_options(gcs_server.endpoint)
    fs = _raw_fs("gs", options)
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)
    return options


@pytest.fixture(scope="session")
def azure_container(azurite_server: emulators.Emulator) -> dict[str, Any]:
    options = azure_options(azurite_server.endpoint)
    fs = _raw_fs("az", options)
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)
    return options


@pytest.fixture(autouse=True)
def _fresh_filesystem_instances() -> Iterator[None]:
    """fsspec caches filesystem instances by their constructor arguments, not by the environment a driver
    read when it was built: drop them after each test, so that one test's endpoint variables never serve
    another test."""
    yield
    for module, name in (
        ("s3fs", "S3FileSystem"),
        ("gcsfs", "GCSFileSystem"),
        ("adlfs", "AzureBlobFileSystem"),
    ):
        cls = getattr(sys.modules.get(module), name, None)
        if cls is not None:
            cls.clear_instance_cache()


# -- backends ---------------------------------------------------------------------------------------------
@dataclass
class Backend:
    """A fresh, empty prefix on one backend."""

    name: str
    uri: str
    storage_options: dict[str, Any] = field(default_factory=dict)
    protocol: str = "file"

    @property
    def is_cloud(self) -> bool:
        return self.name in CLOUD

    def location(self) -> Any:
        from eventlog.storage import open_location

        return open_location(self.uri, self.storage_options)

    def child_env(self, **extra: str) -> dict[str, str]:
        """The environment of a child process that logs here: the store and its options come from
        EVENTLOG_TRACKING_URI and EVENTLOG_STORAGE_OPTIONS only."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTLOG_", "MLFLOW_"))}
        env["EVENTLOG_TRACKING_URI"] = self.uri
        if self.storage_options:
            env["EVENTLOG_STORAGE_OPTIONS"] = json.dumps(self.storage_options)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
        env.update(extra)
        return env

    def other_process_fs(self) -> Any:
        """A second, independent filesystem on the same store, as another process would have: its own
        instance, with fsspec's default listings cache."""
        extra = {"auto_mkdir": True} if self.protocol == "file" else {}
        return _raw_fs(self.protocol, {**self.storage_options, **extra})


def make_backend(request: pytest.FixtureRequest, name: str, tmp_path: Path) -> Backend:
    prefix = f"t-{uuid.uuid4().hex[:12]}"
    if name == "local":
        return Backend(name, str(tmp_path / "store"))
    if name == "memory":
        return Backend(name, f"memory://{prefix}", protocol="memory")
    if name == "s3":
        return Backend(name, f"s3://{BUCKET}/{prefix}", request.getfixturevalue("s3_bucket"), "s3")
    if name == "gcs":
        return Backend(name, f"gs://{BUCKET}/{prefix}", request.getfixturevalue("gcs_bucket"), "gs")
    if name == "azure":
        return Backend(name, f"az://{BUCKET}/{prefix}", request.getfixturevalue("azure_container"), "az")
    raise ValueError(name)


@pytest.fixture(params=backend_params())
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return make_backend(request, request.param, tmp_path)


@pytest.fixture
def s3(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return make_backend(request, "s3", tmp_path)
