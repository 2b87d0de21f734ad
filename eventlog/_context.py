"""System tags MLflow records on every run started through the fluent API: user, source, git."""

from __future__ import annotations

import functools
import getpass
import os
import subprocess
import sys

__all__ = ["resolve_context_tags"]

_GIT_TIMEOUT_S = 2.0


def _main_file() -> str | None:
    return sys.argv[0] if sys.argv and sys.argv[0] else None


def _user() -> str:
    try:
        return getpass.getuser()
    except (ImportError, KeyError, OSError):
        return "unknown"


def _git(directory: str, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", directory, *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    value = out.stdout.strip()
    return value if out.returncode == 0 and value else None


def _git_succeeds(directory: str, *args: str) -> bool:
    try:
        out = subprocess.run(
            ["git", "-C", directory, *args], capture_output=True, timeout=_GIT_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0


@functools.lru_cache(maxsize=8)
def _git_tags(main_file: str) -> dict[str, str]:
    # MLflow looks for the repository that holds the script being run; `python -c` has no such file.
    if not os.path.isfile(main_file):
        return {}
    directory = os.path.dirname(os.path.abspath(main_file))
    commit = _git(directory, "rev-parse", "HEAD")
    if commit is None:
        return {}
    if _git_succeeds(directory, "check-ignore", "-q", os.path.abspath(main_file)):
        return {}  # MLflow records no git tags for a git-ignored script
    tags = {"mlflow.source.git.commit": commit}
    branch = _git(directory, "symbolic-ref", "--short", "-q", "HEAD")
    if branch:
        tags["mlflow.source.git.branch"] = branch
    remotes = _git(directory, "remote")
    if remotes:
        url = _git(directory, "remote", "get-url", remotes.splitlines()[0])
        if url:
            tags["mlflow.source.git.repoURL"] = _strip_credentials(url)
    return tags


def _strip_credentials(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return url


def resolve_context_tags(user_tags: dict[str, str] | None = None) -> dict[str, str]:
    """The context tags merged under the user's tags (the user's win, as in MLflow)."""
    main_file = _main_file()
    tags = {
        "mlflow.user": _user(),
        "mlflow.source.name": main_file if main_file is not None else "<console>",
        "mlflow.source.type": "LOCAL",
    }
    if main_file is not None:
        tags.update(_git_tags(main_file))
    if user_tags:
        tags.update(user_tags)
    return tags
