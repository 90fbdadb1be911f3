"""The two sides of a rendered diff: a commit, or the work tree, and an environment as the
rendered branch holds it (which side the branch holds is sides.py's).

A commit is rendered in a temporary `git worktree` that is removed on every way out, Ctrl-C
included (or in the work tree itself, when that is the commit and nothing else).
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from toolkit.config.project import Config, load_config
from toolkit.hydrate import metadata
from toolkit.infra import git
from toolkit.infra.errors import InputError, ToolkitError
from toolkit.manifests import model
from toolkit.manifests.model import Resource
from toolkit.manifests.scopes import GroupKind

FROM_RENDER = "render"
FROM_BRANCH = "rendered branch"
FROM_NOWHERE = "absent"


@dataclass(frozen=True)
class BranchRender:
    """An environment as the rendered branch holds it: its resources and chart versions."""

    resources: tuple[Resource, ...]
    charts: dict[str, str]


def resolve_base(repo: Path, base: str | None, config_path: str) -> str:
    """The base commit: `--base`, else where HEAD left the default branch (its merge-base).
    A commit without the configuration (`config_path`, toolkit.yaml from the repository's top)
    is refused: every resource would show as added, and that is never what was meant."""
    if base is not None:
        sha = commit_named(repo, base, "--base")
        _refuse_without_config(repo, sha, f"--base {base} ({sha[:12]})", config_path)
        return sha
    default = git.default_branch(repo)
    head = git.commit_of(repo, "HEAD")
    found = git.merge_base(repo, "HEAD", default) if default and head else None
    if found is None:
        raise InputError(
            f"no base revision in {repo}: found no origin/HEAD, origin/main or main sharing "
            "history with HEAD; pass --base REF"
        )
    _refuse_without_config(
        repo, found, f"the base, where HEAD left {_short(default)} ({found[:12]}),", config_path
    )
    return found


def _short(ref: str | None) -> str:
    """`origin/main` for refs/remotes/origin/main, `main` for refs/heads/main."""
    if ref is None:
        return "origin/main"
    return ref.removeprefix("refs/remotes/").removeprefix("refs/heads/")


def _refuse_without_config(repo: Path, sha: str, described: str, config_path: str) -> None:
    if git.read_blob(repo, sha, config_path) is not None:
        return
    rendered = any(
        entry.path.count("/") == 1 and entry.path.endswith(f"/{metadata.FILE_NAME}")
        for entry in git.list_tree(repo, sha)
    )
    if rendered:
        raise InputError(
            f"{described} is a commit of a rendered branch (what `toolkit hydrate` writes), "
            "not of the configuration: every resource would show as added. Pass the branch "
            f"the change merges into instead, e.g. --base {_short(git.default_branch(repo))}"
        )
    raise InputError(
        f"{described} has no {config_path}: it is from before the repository used toolkit, so "
        "every resource would show as added. Pass a later commit that has it "
        f"(`git log --diff-filter=A -- {config_path}` names the one that added it), or review "
        "the first render with `toolkit render`"
    )


def resolve_head(repo: Path, head: str | None) -> str | None:
    """The head commit, or None for the work tree."""
    return None if head is None else commit_named(repo, head, "--head")


def work_tree_commit(repo: Path) -> tuple[str | None, git.WorkTreeStatus]:
    """The commit the work tree is on (None before the first), and its status: without
    uncommitted changes or untracked files, the work tree is that commit, and is named so."""
    status = git.work_tree_status(repo)
    return status.head, status


def commit_named(repo: Path, ref: str, flag: str) -> str:
    """The commit `ref` (given with command-line `flag`) names; an input error otherwise."""
    sha = git.commit_of(repo, ref)
    if sha is None:
        raise InputError(
            f"{flag} {ref!r} names no commit in {repo}: give a branch, tag or commit that "
            "exists (fetch it first if it is only on the remote)"
        )
    return sha


class Side:
    """A commit (or the work tree) to take resources from; its work tree is made on first use."""

    def __init__(
        self,
        label: str,
        repo: Path,
        root: Path,
        commit: str | None,
        stack: contextlib.ExitStack,
        *,
        checked_out: bool = False,
    ) -> None:
        """`checked_out`: the work tree is `commit` itself (nothing uncommitted, untracked or
        ignored in the configuration), so it is read there rather than checked out again."""
        self.label = label
        self.repo = repo
        self.commit = commit
        self._root = root
        self._stack = stack
        self._checked_out: Path | None = root if checked_out else None

    @property
    def description(self) -> str:
        return f"{self.label} ({self.commit[:12] if self.commit else 'work tree'})"

    def root(self) -> Path:
        """The configuration root as this side has it (checking the commit out on first use)."""
        if self.commit is None:
            return self._root
        if self._checked_out is None:
            tree = self._stack.enter_context(git.temporary_worktree(self.repo, self.commit))
            self._checked_out = tree / self._root.relative_to(self.repo)
        return self._checked_out

    def config(self) -> Config:
        try:
            return load_config(self.root())
        except ToolkitError as exc:
            raise exc.reworded(f"{self.description}: {exc}") from exc


def branch_tip(repo: Path, branch: str) -> str | None:
    """The rendered branch's commit: the local branch, else origin's."""
    refs = (f"{r}/{branch}" for r in ("refs/heads", "refs/remotes/origin"))
    return next(filter(None, (git.rev_parse(repo, ref) for ref in refs)), None)


def from_rendered_branch(
    repo: Path,
    branch: str,
    environment: str,
    commit: str,
    declared: Collection[GroupKind] = frozenset(),
) -> BranchRender | None:
    """The environment from the rendered branch if it holds `commit`'s render (`declared`:
    toolkit.yaml's clusterScopedKinds)."""
    tip = branch_tip(repo, branch)  # one commit for every read below, should the branch move
    if tip is None:
        return None
    recorded = metadata.read(repo, tip, [environment])[environment]
    if recorded is None or recorded.dry_sha != commit:
        return None
    return read_environment(repo, branch, tip, environment, recorded, declared)


def read_environment(
    repo: Path,
    branch: str,
    tip: str,
    environment: str,
    recorded: metadata.Metadata,
    declared: Collection[GroupKind] = frozenset(),
) -> BranchRender:
    """The environment's resources at commit `tip` of rendered branch `branch`, and the chart
    versions its metadata `recorded` names."""
    charts = {r.name: r.version for r in recorded.releases}
    paths = [
        e.path
        for e in git.list_tree(repo, tip, environment)
        if e.path.endswith(".yaml") and e.path.count("/") == 2
    ]
    where = f"rendered branch {branch}"
    read = [
        (path, model.read_documents((blob or b"").decode(), where=f"{where}, {path}"))
        for path, blob in git.read_blobs(repo, tip, paths).items()
    ]
    cluster_scoped = set(declared)
    for _, documents in read:
        cluster_scoped |= model.cluster_scoped_crds(documents)
    resources: list[Resource] = []
    for path, documents in read:
        resources += model.resources(
            documents,
            source=path.split("/")[1],
            namespace=None,
            cluster_scoped=cluster_scoped,
            where=f"{where}, {path}",
        )
    return BranchRender(tuple(resources), charts)
