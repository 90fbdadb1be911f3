"""The work tree: its status, the files git tracks there, committing chosen paths, and
temporary worktrees of another commit."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.infra import interrupt, owned
from toolkit.infra.errors import GitError
from toolkit.infra.git.repository import head_sha, layout, rev_parse
from toolkit.infra.git.run import LITERAL_PATHSPECS, run_git, text_of

if TYPE_CHECKING:
    from toolkit.infra.git.identities import Identity


@dataclass(frozen=True)
class WorkTreeStatus:
    """How the work tree differs from HEAD, by path relative to the top of the work tree."""

    changed: tuple[str, ...]  # modified, staged or untracked (not ignored)
    ignored: tuple[str, ...]  # ignored files, and ignored directories once (with a trailing /)
    head: str | None  # the commit it was compared with; None before the first commit


# Fields of a `git status --porcelain=v2` entry before its path, by the entry's first letter:
# changed (1), renamed or copied (2, the path it came from follows in the next entry), unmerged
# (u), untracked (?), ignored (!).
_FIELDS_BEFORE_PATH = {"1": 8, "2": 9, "u": 10, "?": 1, "!": 1}


def work_tree_status(repo: Path) -> WorkTreeStatus:
    """Uncommitted changes, untracked files and ignored files, and the commit HEAD points at,
    from one `git status`."""
    output = run_git(
        repo,
        "status",
        "--porcelain=v2",
        "-z",
        "--branch",
        "--no-ahead-behind",
        "--untracked-files=all",
        "--ignored=matching",
    )
    entries = iter(e for e in output.stdout.decode(errors="surrogateescape").split("\0") if e)
    changed: list[str] = []
    ignored: list[str] = []
    head = None
    for entry in entries:
        if entry.startswith("# branch.oid "):
            oid = entry.removeprefix("# branch.oid ")
            head = oid if oid != "(initial)" else None
            continue
        if entry.startswith("#"):
            continue  # the branch's name and upstream
        path = entry.split(" ", _FIELDS_BEFORE_PATH[entry[0]])[-1]
        (ignored if entry[0] == "!" else changed).append(path)
        if entry[0] == "2":
            changed.append(next(entries, ""))
    return WorkTreeStatus(tuple(sorted(changed)), tuple(sorted(ignored)), head)


def unwatched_paths(repo: Path) -> list[str]:
    """Files git is told not to look at (assume-unchanged, skip-worktree), which `git status`
    leaves out though they may differ from HEAD; paths from the top of the work tree."""
    output = run_git(repo, "ls-files", "-v", "-z", "--full-name")
    entries = output.stdout.decode(errors="surrogateescape").split("\0")
    # `ls-files -v` tags an assume-unchanged file in lower case, a skip-worktree one with S.
    return [e[2:] for e in entries if e and (e[0].islower() or e[0] == "S")]


def changed_paths(repo: Path) -> list[str]:
    """Tracked files with uncommitted changes and untracked files that are not ignored."""
    return list(work_tree_status(repo).changed)


def ignoring_rules(directory: Path, paths: Sequence[str]) -> dict[str, str]:
    """The untracked ones of `paths` (relative to `directory`) that git ignores, each with the
    rule that ignores it (`source:line: pattern`, the source from the top of the work tree);
    empty outside a git work tree."""
    if not paths:
        return {}
    listed = "".join(f"{path}\0" for path in paths).encode(errors="surrogateescape")
    output = run_git(directory, "check-ignore", "-v", "-z", "--stdin", input=listed, check=False)
    if output.returncode not in (0, 1):  # 128: not a work tree, nothing ignores anything
        return {}
    fields = output.stdout.decode(errors="surrogateescape").split("\0")
    rules = {}
    for index in range(0, len(fields) - 3, 4):
        source, line, pattern, path = fields[index : index + 4]
        rules[path] = f"{source}:{line}: {pattern}"
    return rules


def symlink_paths(repo: Path, paths: Sequence[str]) -> list[str]:
    """Tracked symlinks under `paths` (relative to `repo`), by path from the top of the work
    tree."""
    output = run_git(
        repo, "ls-files", "--stage", "-z", "--full-name", "--", *paths, env=LITERAL_PATHSPECS
    )
    entries = output.stdout.decode(errors="surrogateescape").split("\0")
    return [entry.split("\t", 1)[1] for entry in entries if entry.startswith("120000 ")]


def show_prefix(repo: Path) -> str:
    """Where `repo` sits inside its work tree ("" at the top, else "sub/dir/")."""
    return layout(repo).prefix


def work_tree_files(repo: Path, path: str) -> list[str]:
    """Files under `path` (relative to `repo`) that git tracks or would track: ignored ones are
    left out, and so are tracked files deleted from the work tree."""
    output = run_git(
        repo,
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
        "--",
        path,
        env=LITERAL_PATHSPECS,
    )
    names = {name for name in output.stdout.decode().split("\0") if name}
    return sorted(name for name in names if (repo / name).is_symlink() or (repo / name).exists())


def branch_exists(repo: Path, name: str) -> bool:
    return rev_parse(repo, f"refs/heads/{name}") is not None


def switch_to_new_branch(repo: Path, name: str) -> None:
    """Create branch `name` at HEAD and check it out; uncommitted changes come along."""
    run_git(repo, "switch", "--quiet", "--create", name)


def current_branch(repo: Path) -> str | None:
    """The branch HEAD is on (its short name), or None when HEAD is detached."""
    output = run_git(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return text_of(output) if output.returncode == 0 else None


def commit_paths(
    repo: Path, paths: Sequence[str], message: str, *, author: Identity | None = None
) -> str:
    """Commit exactly `paths` (added, changed or deleted) and nothing else that is staged, by
    `author` (else who git says)."""
    from toolkit.infra.git.identities import identity  # here: most runs commit nothing

    env = dict(LITERAL_PATHSPECS)
    for role in ("author", "committer"):
        who = author if role == "author" and author else identity(repo, role)
        env[f"GIT_{role.upper()}_NAME"] = who.name
        env[f"GIT_{role.upper()}_EMAIL"] = who.email
    run_git(repo, "add", "--all", "--", *paths, env=env)
    run_git(
        repo,
        "commit",
        "--quiet",
        "--only",
        "-F",
        "-",
        "--",
        *paths,
        input=message.encode(),
        env=env,
    )
    return head_sha(repo)


WORKTREE_PREFIX = "toolkit-worktree-"


@contextlib.contextmanager
def temporary_worktree(repo: Path, commit: str) -> Iterator[Path]:
    """`commit` checked out (detached) in a new work tree outside `repo`, removed on every exit.

    The finally clause runs on errors and on KeyboardInterrupt alike; the directory is deleted
    and git's record of it pruned even when `git worktree remove` itself fails. A run killed
    outright leaves it to the next run's `remove_abandoned` (the directory is this run's own).
    """
    with owned.owned_directory(Path(tempfile.gettempdir()), WORKTREE_PREFIX) as parent:
        path = parent / "tree"
        try:
            run_git(
                repo,
                "worktree",
                "add",
                "--detach",
                "--quiet",
                "--end-of-options",
                str(path),
                commit,
            )
            _check_out_submodules(repo, path, commit)
            yield path
        finally:
            with interrupt.held():  # a signal now cannot skip the steps after the one it cuts
                # Twice forced: an add cut short leaves the worktree locked ("initializing").
                run_git(repo, "worktree", "remove", "--force", "--force", str(path), check=False)
                shutil.rmtree(path, ignore_errors=True)
                run_git(repo, "worktree", "prune", check=False)


def _check_out_submodules(repo: Path, tree: Path, commit: str) -> None:
    """The submodules `commit` records, checked out in its worktree `tree` from the clones of
    them `repo` already holds: no network, and no URL from the commit's .gitmodules. One that
    `repo` never initialized stays empty there, as it is in `repo`'s own work tree."""
    listed = run_git(
        tree, "config", "-f", ".gitmodules", "--get-regexp", r"^submodule\..*\.path$", check=False
    )
    overrides, paths = [], []
    for line in (
        listed.stdout.decode(errors="replace").splitlines() if listed.returncode == 0 else ()
    ):
        key, _, path = line.partition(" ")
        name = key.removeprefix("submodule.").removesuffix(".path")
        clone = repo / text_of(run_git(repo, "rev-parse", "--git-path", f"modules/{name}"))
        if "=" not in name and clone.is_dir():
            overrides += ["-c", f"submodule.{name}.url={clone}"]
            paths.append(path)
    if not paths:
        return
    # The clones are local paths: file transport allowed for this command alone.
    update = ("-c", "protocol.file.allow=always", *overrides, "submodule", "update", "--init")
    output = run_git(tree, *update, "--quiet", "--", *paths, check=False)
    if output.returncode != 0:
        raise GitError(
            f"{commit[:12]} records submodules ({', '.join(paths)}) at commits this clone does "
            "not have: fetch them (git submodule update --init, or git fetch in the submodule) "
            f"and run again:\n{output.describe()}"
        )
