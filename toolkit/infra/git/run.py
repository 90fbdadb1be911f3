"""How git is run: the one command line (`run_git`, `run_git_remote` for calls that talk to
a remote: timeouts, no prompts, no credentials in messages) and the object names that may
become its arguments."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from toolkit.infra import process, runmemo
from toolkit.infra.errors import GitError

TIMEOUT_ENV = "TOOLKIT_GIT_TIMEOUT"
DEFAULT_TIMEOUT = 300.0  # seconds for one network git call: a fetch, a push, a listing
STALL_SECONDS = 60  # over HTTP(S), a transfer that moves nothing this long has stopped
_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")  # the user:token@ of a URL
# No lock git can do without (`git status` rewrites the index to refresh it): a git ended by
# Ctrl-C while it held one would leave `.git/index.lock`, and every git after it refused.
_NO_OPTIONAL_LOCKS = {"GIT_OPTIONAL_LOCKS": "0"}


def without_credentials(text: str) -> str:
    """`text` with the credentials of every URL in it left out."""
    return _CREDENTIALS.sub("", text)


def run_git(
    repo: Path,
    *args: str,
    input: bytes | IO[bytes] | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    spool_stdout: bool = False,
) -> process.Output:
    try:
        return process.run(
            ("git", *args),
            cwd=repo,
            input=input,
            env={**_NO_OPTIONAL_LOCKS, **(env or {})},
            check=check,
            spool_stdout=spool_stdout,
        )
    except process.ProcessError as exc:
        raise GitError(f"git {args[0]} failed in {repo}:\n{exc.output.describe()}") from exc


def run_git_remote(repo: Path, remote: str, *args: str, check: bool = True) -> process.Output:
    """A git call that talks to `remote`: it may take $TOOLKIT_GIT_TIMEOUT seconds (and over
    HTTP(S) stall for a minute) and never prompts; a failure names the remote."""
    seconds = process.seconds_setting(TIMEOUT_ENV, DEFAULT_TIMEOUT)
    stall = max(1, round(min(seconds, STALL_SECONDS)))
    command = ("git", "-c", "http.lowSpeedLimit=1", "-c", f"http.lowSpeedTime={stall}", *args)
    try:
        return process.run(
            command,
            cwd=repo,
            env={**_NO_OPTIONAL_LOCKS, "GIT_TERMINAL_PROMPT": "0"},
            check=check,
            timeout=seconds,
        )
    except process.ProcessTimeout:
        raise GitError(
            f"the remote '{remote}' ({_where(repo, remote)}) did not answer: git {args[0]} was "
            f"stopped after {seconds:g} seconds; check that it is up and reachable from here, "
            f"or allow more time with {TIMEOUT_ENV}"
        ) from None
    except process.ProcessError as exc:
        raise GitError(
            f"git {args[0]} with the remote '{remote}' ({_where(repo, remote)}) failed:\n"
            f"{without_credentials(exc.output.describe())}"
        ) from exc


def _where(repo: Path, remote: str) -> str:
    url = remote_url(repo, remote)
    return without_credentials(url) if url else "no such remote"


def text_of(output: process.Output) -> str:
    return output.stdout.decode().strip()


_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256 repositories


def is_object_id(text: object) -> bool:
    """Whether `text` is a full object name, as git prints one (never an option, a ref or an
    abbreviation): what a sha read from a remote, a note or a metadata file must be."""
    return isinstance(text, str) and _OBJECT_ID.fullmatch(text) is not None


def checked_ids(*shas: str) -> tuple[str, ...]:
    """`shas`, each checked to be a full object name before it becomes an argument of git."""
    for sha in shas:
        if not is_object_id(sha):
            raise GitError(f"{sha!r} is not a git object name (40 or 64 hexadecimal digits)")
    return shas


def remote_url(repo: Path, remote: str = "origin") -> str | None:
    """The fetch URL of a remote, or None when there is no such remote (asked once a run:
    a hydrate needs it for the provenance it records and to know where it pushes)."""

    def ask() -> str | None:
        output = run_git(repo, "remote", "get-url", "--", remote, check=False)
        return text_of(output) if output.returncode == 0 else None

    return runmemo.remembered(("git remote url", os.path.abspath(repo), remote), ask)


LITERAL_PATHSPECS = {"GIT_LITERAL_PATHSPECS": "1"}
