"""`--push` for a promotion's (or a rollback's) commit: onto the remote's branch of the same name,
with its tag, all at once, with hydrate's retry (hydrate/push.py).

On a lost race the remote is read again and the commit rebuilt on its new tip (the same files,
the same message), unless the commits that arrived changed one of those files: then the
promotion was planned against a state that is gone, and it is refused instead of overwriting
them. The local branch keeps the commit as made; after a rebuild the caller says how to follow.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from toolkit.hydrate import push, tags
from toolkit.infra import git
from toolkit.infra.errors import GitError, InputError

# Promotion tags live in a sequence of their own, apart from hydrate's deploy tags `<env>/<n>`:
# one marks a source change (the promotion commit), the other a deployed state.
TAG_SEQUENCE = "promote/{env}"


@dataclass(frozen=True)
class Pushed:
    commit: str  # the commit on the remote: the local one, or the one rebuilt on a newer tip
    tag: str | None


def tag_sequence(environment: str) -> str:
    """The name tags of promotions into ``environment`` are numbered under, ``promote/<env>``."""
    return TAG_SEQUENCE.format(env=environment)


def next_tag(repo: Path, environment: str, remote_names: Sequence[str] = ()) -> str:
    """``promote/<env>/<n>``, n past every local tag of the sequence and ``remote_names``."""
    sequence = tag_sequence(environment)
    local = git.ref_names(repo, f"{tags.TAGS_PREFIX}{sequence}/")
    return tags.next_tag(sequence, [*local, *remote_names])


def check_push(repo: Path, remote: str, branch: str | None) -> str:
    """The branch to push (``branch``, else the one checked out), before anything is written."""
    if git.remote_url(repo, remote) is None:
        raise InputError(
            f"--push: there is no git remote '{remote}': add it (git remote add {remote} URL) "
            "or name another with --remote"
        )
    name = branch or git.current_branch(repo)
    if name is None:
        raise InputError(
            "--push: HEAD is detached, so there is no branch to push: check one "
            "out or pass --branch NAME"
        )
    return name


def push_commit(
    repo: Path,
    *,
    remote: str,
    branch: str,
    base: str,
    commit: str,
    paths: Sequence[str],
    tag_environment: str | None,
    message: str,
    author: git.Identity | None,
    notify: Callable[[str], None],
) -> Pushed:
    """Push ``commit`` (made on ``base``, changing ``paths`` from the top of the work tree) to
    ``remote``'s ``branch``, with the next promotion tag when ``tag_environment`` is given."""
    branch_ref = f"refs/heads/{branch}"
    sequence = f"{tags.TAGS_PREFIX}{tag_sequence(tag_environment)}/" if tag_environment else None
    rebuilt: dict[str, str] = {}  # remote tip -> the commit rebuilt on it
    committer = git.identity(repo, "committer")

    def on_tip(tip: str | None) -> str:
        if tip is None or tip == base or git.is_ancestor(repo, tip, base):
            return commit
        if not git.is_ancestor(repo, base, tip):
            raise GitError(
                f"'{remote}/{branch}' and the local branch have diverged; nothing was pushed: "
                f"{_start_over(remote, branch, commit)}"
            )
        if tip not in rebuilt:
            rebuilt[tip] = _rebuild(
                repo,
                remote,
                branch,
                base,
                commit,
                tip,
                paths,
                message,
                author or git.identity(repo, "author"),
                committer,
            )
        return rebuilt[tip]

    def build(snapshot: push.Snapshot) -> list[push.RefUpdate]:
        tip = snapshot.get(branch_ref)
        target = on_tip(tip)
        updates = [push.RefUpdate(branch_ref, target, tip)]
        if tag_environment and sequence:
            name = next_tag(repo, tag_environment, snapshot.names(sequence))
            tag = git.make_tag(repo, name=name, target=target, tagger=committer, message=message)
            updates.append(push.RefUpdate(f"{tags.TAGS_PREFIX}{name}", tag, None))
        return updates

    wanted = [branch_ref, *([f"{sequence}*"] if sequence else [])]
    then = (
        f"the commit {commit[:12]} is on the local branch; push it (git push {remote} "
        f"HEAD:{branch}{' and tag it' if tag_environment else ''}) once that is fixed"
    )
    landed = push.push_with_retry(
        repo, remote, wanted, [branch_ref], build, notify=notify, then=then
    )
    push.follow_locally(repo, [u for u in landed if u.ref != branch_ref])  # the tag
    tag_ref = next((u.ref for u in landed if u.ref != branch_ref), None)
    return Pushed(landed[0].new, tag_ref.removeprefix(tags.TAGS_PREFIX) if tag_ref else None)


def _start_over(remote: str, branch: str, commit: str) -> str:
    return (
        f"the commit {commit[:12]} stays on the local branch; drop it (git reset --keep HEAD^), "
        f"pull (git pull --rebase {remote} {branch}) and promote again"
    )


def _rebuild(
    repo: Path,
    remote: str,
    branch: str,
    base: str,
    commit: str,
    tip: str,
    paths: Sequence[str],
    message: str,
    author: git.Identity,
    committer: git.Identity,
) -> str:
    """``commit``'s files on ``tip`` instead of ``base``; refused when ``tip`` changed them."""
    arrived = set(git.paths_between(repo, base, tip) or ())
    clash = sorted(arrived.intersection(paths))
    if clash:
        listed = ", ".join(clash[:10])
        raise GitError(
            f"'{remote}/{branch}' changed {listed} since this was planned; nothing was pushed: "
            f"{_start_over(remote, branch, commit)}"
        )
    data = git.read_blobs(repo, commit, list(paths))
    directories = sorted({posixpath.dirname(path) for path in paths})
    modes = {
        entry.path: entry.mode
        for directory in directories
        for entry in git.list_tree(repo, commit, directory)
        if entry.path in data
    }
    return git.write_commit(
        repo,
        parent=tip,
        message=message,
        author=author,
        committer=committer,
        delete=[path for path, blob in data.items() if blob is None],
        files={path: blob for path, blob in data.items() if blob is not None},
        executable={path for path, mode in modes.items() if mode == "100755"},
    )
