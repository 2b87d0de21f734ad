"""eventlog beside the other local-first trackers: trackio, TensorBoard (tensorboardX), Aim, W&B offline.

Each peer is installed, at a pinned version, into its own virtualenv under ``.bench/peers/<name>/`` (made
here with ``venv`` and ``pip``, the project's pip settings applying; a stamp file records what was
installed, so a later run reuses it and a changed pin reinstalls), so that their dependencies never mix
with each other or with eventlog's. Every figure is one fresh child process (bench/_peer_child.py) that
logs single scalar points, one call a point, and stops the clock when the tracker's own flush or close has
returned: every point is on disk when the time is taken, for eventlog too (its ``flush()`` is inside the
clock here, unlike the in-process core figure). Each child then counts the points it finds on disk, and a
short count is a failed figure.

A peer that cannot be installed or run here is reported as such, with the reason (pip's or the child's
last error line), and the others still run; it fails ``--check`` only through the eventlog row's own
budget, never because a peer is missing (the project cannot fix a peer's packaging).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench import _generate as gen
from bench._machine import load_line
from bench._versus import Comparison

__all__ = ["PEERS", "Peer", "ensure_venv", "format_peer_rows", "peer_figures"]

PEERS_DIR = gen.CACHE_DIR / "peers"
RESULT_PREFIX = "BENCH-RESULT "


@dataclass(frozen=True)
class Peer:
    name: str  # the tracker's name in bench/_peer_child.TRACKERS
    label: str  # as the table prints it
    requirements: tuple[str, ...]  # pinned
    points: int  # points logged per figure at --scale 1


PEERS = (
    Peer("trackio", "trackio", ("trackio==0.43.0",), 50_000),
    Peer("tensorboardX", "TensorBoard (tensorboardX)", ("tensorboardX==2.6.5",), 20_000),
    Peer("aim", "Aim", ("aim==3.29.1",), 10_000),
    Peer("wandb", "W&B offline", ("wandb==0.31.0",), 10_000),
)
EVENTLOG_POINTS = 1_000_000


def _stamp(peer: Peer) -> str:
    return json.dumps({"python": sys.version.split()[0], "requirements": list(peer.requirements)})


def ensure_venv(peer: Peer) -> Path:
    """The peer's virtualenv python, installed if missing or stale. Raises RuntimeError with pip's reason."""
    home = PEERS_DIR / peer.name
    python = home / "bin" / "python"
    stamp = home / ".installed"
    if stamp.exists() and stamp.read_text() == _stamp(peer) and python.exists():
        return python
    shutil.rmtree(home, ignore_errors=True)
    print(f"  [peers] installing {' '.join(peer.requirements)} into {home} ...", flush=True)
    steps = [
        [sys.executable, "-m", "venv", str(home)],
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *peer.requirements],
    ]
    for argv in steps:
        done = subprocess.run(argv, capture_output=True, text=True, env=_install_env())
        if done.returncode != 0:
            shutil.rmtree(home, ignore_errors=True)
            raise RuntimeError(
                f"`{' '.join(argv[2:5])} ...` failed: {_last_error(done.stderr or done.stdout)}"
            )
    stamp.write_text(_stamp(peer))
    return python


def _install_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def _last_error(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()] or ["(no output)"]
    return next((line for line in reversed(lines) if "rror" in line), lines[-1])[:300]


def _run(python: Path | str, tracker: str, points: int) -> dict[str, Any]:
    with gen.scratch(f"peer-{tracker}") as scratch:
        child = gen.run_child(
            [
                str(python),
                "-m",
                "bench._peer_child",
                tracker,
                json.dumps({"scratch": str(scratch), "points": points}),
            ]
        )
    lines = [line for line in child.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        raise RuntimeError(f"{tracker}: {_last_error(child.stderr or child.stdout)}")
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_PREFIX) :])
    if result["on_disk"] != points:
        raise RuntimeError(
            f"{tracker}: {result['on_disk']:,} of {points:,} points found on disk after the clock stopped"
        )
    return result


def peer_figures(scale: float = 1.0, budget: float | None = None) -> list[Comparison]:
    """One row per peer: eventlog's rate and the peer's, points flushed to disk when the clock stops."""
    print(f"  [peers] before: {load_line()}", flush=True)
    points = max(10_000, round(EVENTLOG_POINTS * scale))
    rows: list[Comparison] = []
    eventlog_error = ""
    try:
        mine = _run(sys.executable, "eventlog", points)
        eventlog_rate: float | None = points / mine["seconds"]
        eventlog_note = f"eventlog {points:,} points in {mine['seconds']:.2f} s"
    except (RuntimeError, KeyError, ValueError) as exc:
        eventlog_rate, eventlog_note = None, f"eventlog failed: {exc}"
        eventlog_error = eventlog_note
    for peer in PEERS:
        n = max(1_000, round(peer.points * scale))
        row = Comparison(
            f"log one point a call, flushed: vs {peer.label}",
            "points/s",
            eventlog_rate,
            None,
            f"eventlog {points:,} / {peer.label} {n:,} points, {' '.join(peer.requirements)}",
            budget=budget,
            error=eventlog_error,  # eventlog's own figure failing fails --check; a peer's never does
        )
        try:
            python = ensure_venv(peer)
            theirs = _run(python, peer.name, n)
            row = replace(
                row,
                mlflow=n / theirs["seconds"],
                note=f"{eventlog_note}; {peer.label} {theirs['version']}: {theirs['seconds']:.2f} s",
            )
        except (RuntimeError, KeyError, ValueError, OSError) as exc:
            row = replace(row, note=f"{peer.label} not measured: {exc}")
        rows.append(row)
    print(f"  [peers] after: {load_line()}", flush=True)
    return rows


def format_peer_rows(rows: list[Comparison]) -> list[str]:
    """The table: eventlog, the peer, eventlog's advantage (ratio); the sizes and notes under each row."""
    from bench._versus import _ratio, _value

    width = max(len(r.name) for r in rows)
    head = f"{'eventlog vs local-first trackers':<{width}}  {'eventlog':>18}  {'peer':>18}  {'ratio':>8}"
    lines = [head, "-" * (len(head) + 4)]
    for r in rows:
        ratio = "-" if r.ratio is None else _ratio(r.ratio)
        lines.append(
            f"{r.name:<{width}}  {_value(r.eventlog, r.unit):>18}  {_value(r.mlflow, r.unit):>18}  {ratio:>8}"
        )
        lines.append(f"    {'; '.join(x for x in (r.workload, r.note) if x)}")
    return lines
