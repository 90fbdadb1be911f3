"""Never backwards: which source commit an environment on the rendered branch came from, and
whether the current one is older. Decided from the branch itself (each environment's
`hydrator.metadata` and the watermark notes), with the history fetched as far as needed."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from toolkit.hydrate import metadata
from toolkit.hydrate.metadata import Metadata
from toolkit.infra import git
from toolkit.infra.errors import GitError

NOTES_REF = "refs/notes/toolkit"


def read_branch(
    repo: Path, notes: str | None, tip: str | None, envs: Sequence[str]
) -> tuple[dict[str, str], dict[str, Metadata | None]]:
    """What a branch tip says of each environment, from one git process: the watermarks noted
    on it, and each environment's metadata."""
    if tip is None:
        return {}, dict.fromkeys(envs)
    names = [f"{tip}:{metadata.path_of(env)}" for env in envs]
    if notes is not None:
        names += [f"{notes}:{path}" for path in git.note_paths(tip)]
    blobs = git.read_objects(repo, names)
    recorded = {
        env: metadata.parse(data) for env, data in zip(envs, blobs[: len(envs)], strict=True)
    }
    note = next((data for data in blobs[len(envs) :] if data is not None), None)
    return _marks(note), recorded


def _marks(data: bytes | None) -> dict[str, str]:
    """The watermarks of a note: per environment, the newest source commit a run hydrated that
    left its files unchanged (so its metadata still names an older one)."""
    if data is None:
        return {}
    try:
        marks = json.loads(data).get("drySha", {})
    except (ValueError, AttributeError):
        return {}
    if not isinstance(marks, dict):
        return {}
    # A note is anyone's text: only a full object name is taken as a commit (never an option).
    return {env: sha for env, sha in marks.items() if git.is_object_id(sha)}


def newer_than(repo: Path, remote: str | None, recorded: str, current: str, *, where: str) -> bool:
    """Whether `recorded` strictly descends from `current` (the branch is ahead of this run).

    Never a guess: a commit missing from a shallow clone is fetched, and when neither commit
    reaches the other the clone is unshallowed before "unrelated" is believed.
    """
    if recorded == current:
        return False
    present = git.has_commit(repo, recorded)
    if not present and remote is not None:
        with contextlib.suppress(GitError):  # a missing commit is reported below
            git.fetch_commits(repo, remote, [recorded])
        present = git.has_commit(repo, recorded)
    if not present:
        looked = f"on remote '{remote}'" if remote else "on a remote (there is none)"
        raise GitError(
            f"{where} was hydrated from {recorded}, which is neither in this clone nor "
            f"{looked}, so toolkit cannot tell whether {current[:12]} is older (was the source "
            "history rewritten?); fetch that commit, or remove the environment's directory "
            "from the rendered branch to start it afresh"
        )
    for _ in range(2):
        if git.is_ancestor(repo, current, recorded):
            return True
        if git.is_ancestor(repo, recorded, current) or not git.is_shallow(repo):
            return False
        if remote is None:
            raise GitError(
                f"{where}: this clone is shallow and has no remote to deepen it from, so "
                f"toolkit cannot tell whether {current[:12]} is older than {recorded[:12]}: "
                "clone with full history (fetch-depth: 0) or add the remote"
            )
        git.unshallow(repo, remote)
    return False


def notes_blob(marks: Mapping[str, str]) -> bytes:
    return (json.dumps({"drySha": dict(marks)}, indent=2, sort_keys=True) + "\n").encode()
