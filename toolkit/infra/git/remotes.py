"""Talking to a remote: listing its refs and pushing (atomic, never forced)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from toolkit.infra.errors import GitError
from toolkit.infra.git.run import run_git_remote, without_credentials


def remote_refs(repo: Path, remote: str, patterns: Sequence[str]) -> dict[str, str]:
    """The remote's refs matching `patterns` (ls-remote), by full name."""
    output = run_git_remote(
        repo, remote, "ls-remote", "--refs", "--end-of-options", remote, *patterns
    )
    refs = {}
    for line in output.stdout.decode().splitlines():
        sha, _, name = line.partition("\t")
        refs[name] = sha
    return refs


@dataclass(frozen=True)
class RefStatus:
    """One line of ``git push --porcelain``: the flag git printed and its summary."""

    ref: str
    flag: str
    summary: str

    @property
    def ok(self) -> bool:
        return self.flag in (" ", "*", "=", "+", "-")


@dataclass(frozen=True)
class PushResult:
    """What the remote said about each ref of one push, and git's stderr (hook output)."""

    statuses: tuple[RefStatus, ...]
    returncode: int
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and all(s.ok for s in self.statuses)


def push(repo: Path, remote: str, refspecs: Sequence[str]) -> PushResult:
    """Push explicit ``sha:refs/...`` refspecs all-or-nothing (--atomic), never forced.

    A rejected push is a result, not an exception: the caller decides whether to retry.
    """
    output = run_git_remote(
        repo,
        remote,
        "push",
        "--porcelain",
        "--atomic",
        "--end-of-options",
        remote,
        *refspecs,
        check=False,
    )
    statuses = []
    for line in output.stdout.decode(errors="replace").splitlines():
        # "<flag>\t<from>:<to>\t<summary>"; the "To <url>" and "Done" lines have no tab.
        parts = line.split("\t")
        if len(parts) >= 3 and len(parts[0]) == 1:
            statuses.append(RefStatus(parts[1].rpartition(":")[2], parts[0], parts[2]))
    stderr = output.stderr.decode(errors="replace")
    if output.returncode != 0 and not statuses:
        raise GitError(f"git push to {remote} failed:\n{without_credentials(output.describe())}")
    return PushResult(tuple(statuses), output.returncode, stderr)
