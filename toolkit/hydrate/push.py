"""Moving refs: locally in one transaction, or onto a remote with fetch, rebuild and retry.

The caller supplies `build`, which turns a snapshot of where the refs stand into the updates it
wants; on a push that loses a race the snapshot is taken again and `build` runs again, so the
work of every concurrent run lands on top of the others', never instead of it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from toolkit.infra import git
from toolkit.infra.errors import GitError

ATTEMPTS = 10
BACKOFF_START = 0.05  # seconds; doubled each attempt, capped, and jittered (full jitter)
BACKOFF_CAP = 3.0

# Reasons git gives when a push lost a race with another one: worth a fetch and a rebuild.
_RACE_REASONS = (
    "fetch first",
    "non-fast-forward",
    "already exists",
    "atomic push failed",
    "atomic transaction failed",
    "cannot lock ref",
    "failed to update ref",
    "incorrect old value",
    "stale info",
)


@dataclass(frozen=True)
class RefUpdate:
    """Move `ref` to `new`, expecting it at `old` (None: expecting it not to exist)."""

    ref: str
    new: str
    old: str | None


@dataclass(frozen=True)
class Snapshot:
    """Where refs stand when an attempt starts (only refs that exist are listed)."""

    refs: Mapping[str, str]
    remote: str | None

    def get(self, ref: str) -> str | None:
        return self.refs.get(ref)

    def names(self, prefix: str) -> list[str]:
        return sorted(ref for ref in self.refs if ref.startswith(prefix))


Build = Callable[[Snapshot], Sequence[RefUpdate]]


def _matches(ref: str, wanted: Sequence[str]) -> bool:
    return any(ref.startswith(w[:-1]) if w.endswith("*") else ref == w for w in wanted)


def _refuse_non_commits(
    repo: Path,
    snapshot: Snapshot,
    tips: Sequence[str],
    kinds: Mapping[str, str | None] | None = None,
) -> None:
    """Each of `tips` that exists must name a commit: anything else (a blob pushed to the notes
    ref, say) would reach git as a parent and crash it half-way. `kinds`: what each object is,
    when known (else git is asked)."""
    shas = {ref: sha for ref in tips if (sha := snapshot.get(ref)) is not None}
    if kinds is None:
        kinds = git.object_types(repo, list(shas.values()))
    for ref, sha in shas.items():
        kind = kinds[sha]
        if kind == "commit":
            continue
        where = f"on remote '{snapshot.remote}'" if snapshot.remote else "in this repository"
        drop = (
            f"git push {snapshot.remote} :{ref}" if snapshot.remote else f"git update-ref -d {ref}"
        )
        raise GitError(
            f"{ref} {where} points at {f'a {kind}' if kind else 'a missing object'} ({sha}), "
            f"not a commit, so toolkit cannot build on it: point it at a commit, or delete it "
            f"({drop}) if nothing else keeps data there"
        )


def local_snapshot(
    repo: Path, wanted: Sequence[str], *, tips: Sequence[str] = (), remote: str | None = None
) -> Snapshot:
    """The local refs among `wanted` (full names, or prefixes ending in ``*``); each of `tips`
    that exists must name a commit."""
    refs = git.local_refs(repo, wanted)
    snapshot = Snapshot({ref: sha for ref, (sha, _) in refs.items()}, remote)
    _refuse_non_commits(repo, snapshot, tips, dict(refs.values()))
    return snapshot


def with_remote_tracking(
    repo: Path, snapshot: Snapshot, tips: Sequence[str], remote: str | None
) -> Snapshot:
    """`snapshot`, with each branch among `tips` that it lacks taken from `remote`'s tracking
    ref (refs/remotes/<remote>/<branch>, as a clone fetched it) where there is one: a fresh
    clone is judged against the rendered branch it was cloned with, as `diff` reads it."""
    if remote is None:
        return snapshot
    added = {
        tip: sha
        for tip in tips
        if tip.startswith("refs/heads/")
        and tip not in snapshot.refs
        and (sha := git.commit_of(repo, f"refs/remotes/{remote}/{tip.removeprefix('refs/heads/')}"))
    }
    return replace(snapshot, refs={**snapshot.refs, **added}) if added else snapshot


def remote_snapshot(
    repo: Path, remote: str, wanted: Sequence[str], *, fetch: Sequence[str]
) -> Snapshot:
    """The remote's refs among `wanted`; the commits of those named in `fetch` are fetched (and
    each must be a commit)."""
    if git.remote_url(repo, remote) is None:
        raise GitError(
            f"there is no git remote '{remote}' in {repo}: add it (git remote add {remote} URL) "
            "or name another with --remote"
        )
    listed = git.remote_refs(repo, remote, wanted)
    refs = {ref: sha for ref, sha in listed.items() if _matches(ref, wanted)}
    missing = sorted({refs[r] for r in fetch if r in refs and not git.has_commit(repo, refs[r])})
    if missing:
        git.fetch_commits(repo, remote, missing)
    snapshot = Snapshot(refs, remote)
    _refuse_non_commits(repo, snapshot, fetch)
    return snapshot


def apply_locally(repo: Path, updates: Sequence[RefUpdate]) -> None:
    """All updates in one transaction; an error when a ref moved under us."""
    if updates and not git.update_refs(repo, [(u.ref, u.new, u.old) for u in updates]):
        names = ", ".join(u.ref for u in updates)
        raise GitError(f"{names} moved while hydrating (another toolkit run?): run hydrate again")


def follow_locally(repo: Path, updates: Sequence[RefUpdate]) -> list[str]:
    """After a push, move the local refs along where that loses nothing; say which were left."""
    left = []
    for update in updates:
        local = git.rev_parse(repo, update.ref)
        if local == update.new:
            continue
        fast_forward = local is None or (
            not update.ref.startswith("refs/tags/") and git.is_ancestor(repo, local, update.new)
        )
        if fast_forward and git.update_refs(repo, [(update.ref, update.new, local)]):
            continue
        left.append(update.ref)
    return left


def _describe(result: git.PushResult) -> str:
    lines = [f"    {s.ref}: {s.summary}" for s in result.statuses if not s.ok]
    remote_lines = [line for line in result.stderr.splitlines() if line.startswith("remote:")]
    return "\n".join(lines + [f"    {line}" for line in remote_lines])


def _lost_race(result: git.PushResult) -> bool:
    refused = [s for s in result.statuses if not s.ok]
    return bool(refused) and all(any(r in s.summary for r in _RACE_REASONS) for s in refused)


def push_with_retry(
    repo: Path,
    remote: str,
    wanted: Sequence[str],
    fetch: Sequence[str],
    build: Build,
    *,
    attempts: int = ATTEMPTS,
    notify: Callable[[str], None] = lambda message: None,
    then: str = "the local branches are unchanged; run hydrate again",
) -> Sequence[RefUpdate]:
    """Snapshot the remote, build, push atomically; on a lost race, back off and start over.

    Returns the updates that landed. A refusal that is not a race (a hook, a protected branch,
    no permission) ends at once: retrying cannot change the remote's mind. ``then`` says what
    is left locally and what to do once the cause is fixed.
    """
    for attempt in range(attempts):
        snapshot = remote_snapshot(repo, remote, wanted, fetch=fetch)
        updates = build(snapshot)
        if not updates:
            return updates
        result = git.push(repo, remote, [f"{u.new}:{u.ref}" for u in updates])
        if result.ok:
            return updates
        if not _lost_race(result):
            raise GitError(
                f"the remote '{remote}' refused the push:\n{_describe(result)}\n"
                "nothing was pushed; fix what the remote objects to (a hook, branch protection, "
                f"permissions): {then}"
            )
        # Full jitter: concurrent runs that collided do not collide again in lockstep.
        delay = random.uniform(0, min(BACKOFF_CAP, BACKOFF_START * 2**attempt))
        notify(
            f"push to '{remote}' lost a race with another run (attempt {attempt + 1} of "
            f"{attempts}): rebuilding on the new tip in {delay:.2f}s"
        )
        time.sleep(delay)
    raise GitError(
        f"gave up pushing to '{remote}' after {attempts} attempts: other runs kept moving "
        f"the branch; nothing of this run was pushed: {then}"
    )
