"""Trees of directories: the blobs a committed tree lists, the tree a work-tree directory has (or
will have once committed), and a tree written out as plain files (a local chart locked at a git
tree)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from toolkit.infra import owned
from toolkit.infra.errors import GitError
from toolkit.infra.git.objects import read_objects
from toolkit.infra.git.repository import object_types
from toolkit.infra.git.run import LITERAL_PATHSPECS, checked_ids, run_git, text_of
from toolkit.infra.git.worktree import show_prefix

_INDEX_PREFIX = "toolkit-index-"
_EXPORT_PREFIX = ".export-"


@dataclass(frozen=True)
class TreeEntry:
    """One blob of a tree listing."""

    mode: str
    sha: str
    path: str


def list_tree(repo: Path, rev: str, path: str = "") -> list[TreeEntry]:
    """Every blob under `path` in `rev` (recursive)."""
    args = ["ls-tree", "-r", "-z", "--full-tree", "--end-of-options", rev]
    if path:
        args += ["--", path]
    output = run_git(repo, *args)
    entries = []
    for record in output.stdout.decode().split("\0"):
        if not record:
            continue
        meta, name = record.split("\t", 1)
        mode, _kind, sha = meta.split()
        entries.append(TreeEntry(mode, sha, name))
    return entries


def directory_tree(repo: Path, path: str) -> str:
    """The tree object of directory ``path`` (relative to ``repo``) as the work tree has it,
    uncommitted changes included, ignored files left out: the id it has, or will have, once
    committed. Its objects are written; HEAD, the index and the work tree are untouched."""
    temporary = Path(tempfile.gettempdir())
    owned.remove_abandoned(temporary, _INDEX_PREFIX)  # the indexes of killed runs
    with owned.owned_directory(temporary, _INDEX_PREFIX) as scratch:
        env = {**LITERAL_PATHSPECS, "GIT_INDEX_FILE": str(scratch / "index")}
        run_git(repo, "add", "--all", "--", path, env=env)
        prefix = f"{show_prefix(repo)}{path.strip('/')}/"
        return text_of(run_git(repo, "write-tree", f"--prefix={prefix}", env=env))


def export_tree(repo: Path, tree: str, destination: Path) -> bool:
    """Write the regular files of ``tree`` under ``destination`` (which must not exist yet),
    atomically; False when this clone lacks the tree."""
    (tree,) = checked_ids(tree)
    if object_types(repo, [tree]).get(tree) != "tree":
        return False
    entries = list_tree(repo, tree)
    blobs = read_objects(repo, [entry.sha for entry in entries])
    owned.remove_abandoned(destination.parent, _EXPORT_PREFIX)  # what killed runs left
    with owned.owned_directory(destination.parent, _EXPORT_PREFIX) as scratch:
        staging = scratch / "tree"
        for entry, blob in zip(entries, blobs, strict=True):
            parts = entry.path.split("/")
            if entry.mode not in ("100644", "100755") or blob is None or ".." in parts:
                raise GitError(f"tree {tree} holds {entry.path} ({entry.mode}), not a file")
            target = staging / entry.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)
            target.chmod(0o755 if entry.mode == "100755" else 0o644)
        try:
            os.replace(staging, destination)
        except OSError:
            if not destination.is_dir():  # another run exported it first: that one is as good
                raise
    return True
