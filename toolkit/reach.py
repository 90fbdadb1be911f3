"""Whether anything an environment reads can have changed since its last render, from git alone.

An environment's hydrator.metadata names the source commit it was rendered from (`drySha`) and
the environments whose overlay directories its inputs come from (`inputEnvironments`, itself
included). A path that differs between that commit and the work tree (committed since,
modified, untracked or ignored) inside the overlay directory of an environment it does not
read cannot change its render; any other path may, and then the environment is planned and its
input hash decides. So a merge that touches one environment's directory leaves the others
unloaded, while a change anywhere else (a chart, a base, toolkit.yaml) plans them all.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection
from pathlib import Path

from toolkit import git


class SourceChanges:
    """The paths that differ from earlier source commits, each commit's diff read once."""

    def __init__(
        self,
        repo: Path,
        head: str,
        work_tree: git.WorkTreeStatus,
        environments: Collection[str],
    ) -> None:
        self.repo = repo
        self.head = head
        # Paths from git are relative to the top of the work tree, the repository may sit below.
        self.overlays = f"{git.show_prefix(repo)}overlays/"
        self.environments = frozenset(environments)
        self.uncommitted = (*work_tree.changed, *work_tree.ignored)
        self._since: dict[str, list[str] | None] = {}

    def reach_only_others(self, since: str, read: Collection[str]) -> bool:
        """Whether every path that differs from commit `since` lies in the overlay directory of
        an environment outside `read` (False when `since` is not in this clone)."""
        if since not in self._since:
            self._since[since] = (
                [] if since == self.head else git.paths_between(self.repo, since, self.head)
            )
        committed = self._since[since]
        if committed is None:
            return False
        paths = itertools.chain(committed, self.uncommitted)
        return all(self._owner(path) not in (None, *read) for path in paths)

    def _owner(self, path: str) -> str | None:
        """The environment whose overlay directory holds `path`, or None."""
        if not path.startswith(self.overlays):
            return None
        name = path[len(self.overlays) :].split("/", 1)[0]
        return name if name in self.environments else None
