"""Whether anything an environment reads can have changed since its last render, from git alone.

An environment's hydrator.metadata names the source commit it was rendered from (`drySha`) and
the environments whose directories its inputs come from (`inputEnvironments`, itself
included). A path that differs between that commit and the work tree (committed since,
modified, untracked or ignored) inside the directory of an environment it does not
read cannot change its render, nor can a path outside the configuration (nothing reads there);
any other path may, and then the environment is planned and its input hash decides. So a merge
that touches one environment's directory leaves the others unloaded, while a change anywhere
else in the configuration (a chart, a base, toolkit.yaml) plans them all.

A render only records `inputEnvironments` when it can vouch for them: rendered from committed
files alone (nothing modified, untracked, ignored, or hidden from git by assume-unchanged or
skip-worktree where it may read), and with no symlink inside an environment's directory (a read
through one is recorded where it leads, not where it passed).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
from collections.abc import Collection

from toolkit.config.project import Config
from toolkit.infra import git
from toolkit.infra.errors import GitError

_OUTSIDE = "outside the configuration"


class SourceChanges:
    """The paths that differ from earlier source commits, each commit's diff read once."""

    def __init__(self, config: Config, head: str, work_tree: git.WorkTreeStatus | None) -> None:
        """`work_tree`: the work tree's status, when what is rendered is the work tree on
        commit `head`; None when it is commit `head` itself (a checkout of it holds no
        uncommitted, untracked or ignored file)."""
        self.config = config
        self.repo = config.root
        self.head = head
        # git names paths from the top of the work tree; the configuration may sit below it.
        self.prefix = git.show_prefix(self.repo)
        self.uncommitted: tuple[str, ...] = ()
        self.ignored: tuple[str, ...] = ()
        if work_tree is not None:
            self.uncommitted = (*work_tree.changed, *git.unwatched_paths(self.repo))
            self.ignored = work_tree.ignored
        self._since: dict[str, list[str] | None] = {}

    def reach_only_others(
        self, since: str, read: Collection[str], *, remote: str | None = None
    ) -> bool:
        """Whether every path that differs from commit `since` lies in the directory of
        an environment outside `read`, or outside the configuration. A `since` missing from a
        shallow clone is fetched from `remote`; False when it cannot be."""
        committed = self._paths_since(since, remote)
        if committed is None:
            return False
        paths = itertools.chain(committed, self.uncommitted, self.ignored)
        return all(self._owner(path) not in (None, *read) for path in paths)

    def _paths_since(self, since: str, remote: str | None) -> list[str] | None:
        if since not in self._since:
            paths = [] if since == self.head else git.paths_between(self.repo, since, self.head)
            if paths is None and remote is not None:
                with contextlib.suppress(GitError):  # then it stays unknown: plan
                    git.fetch_commits(self.repo, remote, [since])
                paths = git.paths_between(self.repo, since, self.head)
            self._since[since] = paths
        return self._since[since]

    def may_record(self, read: Collection[str]) -> bool:
        """Whether a render made now may record `read` for a later hydrate to settle from."""
        return not self._environment_symlinks and self.reach_only_others(self.head, read)

    @functools.cached_property
    def _environment_symlinks(self) -> bool:
        """Whether an environment's directory is, or holds, a symlink (or an ignored directory,
        which may hold one)."""
        tracked = git.symlink_paths(self.repo, [env.path for env in self.config.environments])
        top = self.repo.parents[self.prefix.count("/") - 1] if self.prefix else self.repo
        loose = [
            path
            for path in (*self.uncommitted, *self.ignored)
            if path.endswith("/") or os.path.islink(top / path)
        ]
        return any(
            self._owner(path.rstrip("/")) not in (None, _OUTSIDE) for path in (*tracked, *loose)
        )

    def _owner(self, path: str) -> str | None:
        """The environment whose directory holds `path`; _OUTSIDE for a path outside the
        configuration; None for any other."""
        if not path.startswith(self.prefix):
            return _OUTSIDE
        return self.config.owner_of(path[len(self.prefix) :])
