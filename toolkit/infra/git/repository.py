"""Commits and their history: names, subjects, ancestry (shallow clones deepened on demand)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from toolkit.infra import runmemo
from toolkit.infra.errors import GitError
from toolkit.infra.git.run import checked_ids, run_git, run_git_remote, text_of


@dataclass(frozen=True)
class Layout:
    """Where a directory sits in its repository."""

    top: Path  # the root of the work tree
    prefix: str  # the directory, from the top ("" at the top, else "sub/dir/")
    common_dir: Path  # the git directory the repository's worktrees share
    objects: Path  # the object directory


def layout(path: Path) -> Layout:
    """Where `path` sits in its repository, from one git process; asked once per directory
    within a run (runmemo: a hydrate asks it from several stages, status once per promotion)."""
    where = Path(os.path.abspath(path))
    return runmemo.remembered(("git layout", where), lambda: _layout(where))


def _layout(path: Path) -> Layout:
    output = run_git(
        path,
        *("rev-parse", "--show-toplevel", "--show-prefix", "--git-common-dir"),
        *("--git-path", "objects"),
        check=False,
    )
    if output.returncode != 0:
        raise GitError(
            f"{path} is not inside a git repository: run `git init` there, or pass -C DIR"
        )
    top, prefix, common, objects = output.stdout.decode().splitlines()
    return Layout(Path(top), prefix, (path / common).resolve(), (path / objects).resolve())


def toplevel(path: Path) -> Path:
    """The root of the work tree containing `path`."""
    return layout(path).top


def rev_parse(repo: Path, rev: str) -> str | None:
    """The full object name of `rev`, or None when it does not exist."""
    output = run_git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", rev, check=False)
    return text_of(output) if output.returncode == 0 else None


def head_sha(repo: Path) -> str:
    """The commit HEAD points at; an error in a repository without commits."""
    sha = rev_parse(repo, "HEAD^{commit}")
    if sha is None:
        raise GitError(f"{repo} has no commits yet: commit the configuration first")
    return sha


def subject(repo: Path, rev: str) -> str:
    """The first line of a commit's message, as written (a verbatim message's spaces kept)."""
    output = run_git(repo, "log", "-1", "--format=%s", "--end-of-options", rev)
    return output.stdout.decode().removesuffix("\n")


def commit_summaries(repo: Path, shas: Sequence[str]) -> dict[str, tuple[str, str]]:
    """(committer date in ISO 8601, subject) of each commit that exists, in one git process."""
    if not shas:
        return {}
    args = ("log", "--no-walk=unsorted", "--format=%H%x00%cI%x00%s", "--end-of-options")
    output = run_git(repo, *args, *shas, check=False)
    if output.returncode != 0 and len(shas) > 1:  # one is missing (a shallow clone): each alone
        return {k: v for sha in shas for k, v in commit_summaries(repo, [sha]).items()}
    found = {}
    for line in output.stdout.decode(errors="replace").splitlines():
        sha, _, rest = line.partition("\0")
        date, _, text = rest.partition("\0")
        found[sha] = (date, text)
    return found


def commit_of(repo: Path, rev: str) -> str | None:
    """The commit `rev` names (a branch, tag or sha), or None when it names no commit."""
    return rev_parse(repo, f"{rev}^{{commit}}")


def merge_base(repo: Path, one: str, other: str) -> str | None:
    """The best common ancestor of two commits, or None when they share no history."""
    output = run_git(repo, "merge-base", "--end-of-options", one, other, check=False)
    return text_of(output) if output.returncode == 0 else None


def commits_changing(repo: Path, since: str, until: str, path: str) -> list[tuple[str, str]]:
    """(sha, subject) of each commit after ``since`` up to ``until`` that changed ``path``
    (relative to the top of the work tree), newest first."""
    since, until = checked_ids(since, until)
    output = run_git(repo, "log", "--format=%H%x00%s", f"{since}..{until}", "--", path)
    found = []
    for line in output.stdout.decode(errors="replace").splitlines():
        sha, _, text = line.partition("\0")
        found.append((sha, text))
    return found


def paths_between(repo: Path, old: str, new: str) -> list[str] | None:
    """Every path whose content differs between commits `old` and `new` (a rename as both
    paths); None when `old` is not in this clone."""
    commits = (f"{sha}^{{commit}}" for sha in checked_ids(old, new))
    output = run_git(
        repo,
        "diff-tree",
        "-r",
        "-z",
        "--name-only",
        "--no-renames",
        "--end-of-options",
        *commits,
        check=False,
    )
    if output.returncode != 0:
        return None
    return [p for p in output.stdout.decode(errors="surrogateescape").split("\0") if p]


def is_shallow(repo: Path) -> bool:
    """Whether the clone is shallow (history cut off, as in a CI checkout with depth 1)."""
    return text_of(run_git(repo, "rev-parse", "--is-shallow-repository")) == "true"


def has_commit(repo: Path, sha: str) -> bool:
    """Whether the commit `sha` is in the local object store."""
    (sha,) = checked_ids(sha)
    output = run_git(repo, "cat-file", "-e", "--end-of-options", f"{sha}^{{commit}}", check=False)
    return output.returncode == 0


def object_types(repo: Path, shas: Sequence[str]) -> dict[str, str | None]:
    """What each object is (commit, tree, blob, tag), or None where it is not here; from one
    `git cat-file --batch-check`."""
    if not shas:
        return {}
    lines = "".join(f"{sha}\n" for sha in checked_ids(*shas)).encode()
    output = run_git(repo, "cat-file", "--batch-check=%(objecttype)", input=lines)
    answers = output.stdout.decode().splitlines()
    return {
        sha: None if answer.endswith(" missing") else answer
        for sha, answer in zip(shas, answers, strict=True)
    }


def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    """Whether `ancestor` is reachable from `descendant` (a commit is its own ancestor).

    In a shallow clone a False may only mean the history is cut off: callers deepen first.
    """
    output = run_git(
        repo,
        "merge-base",
        "--is-ancestor",
        "--end-of-options",
        *checked_ids(ancestor, descendant),
        check=False,
    )
    if output.returncode not in (0, 1):
        raise GitError(f"git could not compare {ancestor} and {descendant}:\n{output.describe()}")
    return output.returncode == 0


def fetch_commits(repo: Path, remote: str, shas: Sequence[str]) -> None:
    """Fetch commits by name (and the history leading to them) without touching any ref."""
    run_git_remote(
        repo,
        remote,
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--end-of-options",
        remote,
        *checked_ids(*shas),
    )


def unshallow(repo: Path, remote: str) -> None:
    """Fetch the whole history of a shallow clone, so ancestry questions get true answers."""
    run_git_remote(
        repo, remote, "fetch", "--quiet", "--no-tags", "--unshallow", "--end-of-options", remote
    )


def default_branch(repo: Path, remote: str = "origin") -> str | None:
    """The remote's default branch as a ref (its HEAD, else <remote>/main), else local main."""
    output = run_git(repo, "symbolic-ref", "--quiet", f"refs/remotes/{remote}/HEAD", check=False)
    candidates = [text_of(output)] if output.returncode == 0 else []
    candidates += [f"refs/remotes/{remote}/main", "refs/heads/main"]
    return next((ref for ref in candidates if commit_of(repo, ref)), None)
