"""The one place that runs git: small functions named by what they ask of it."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from toolkit import process
from toolkit.errors import GitError

DEFAULT_NAME = "toolkit"
DEFAULT_EMAIL = "toolkit@localhost"


@dataclass(frozen=True)
class Identity:
    """A commit author or committer."""

    name: str
    email: str


@dataclass(frozen=True)
class TreeEntry:
    """One blob of a tree listing."""

    mode: str
    sha: str
    path: str


def _git(
    repo: Path,
    *args: str,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> process.Output:
    try:
        return process.run(("git", *args), cwd=repo, input=input, env=env, check=check)
    except process.ProcessError as exc:
        raise GitError(f"git {args[0]} failed in {repo}:\n{exc.output.describe()}") from exc


def _text(output: process.Output) -> str:
    return output.stdout.decode().strip()


def toplevel(path: Path) -> Path:
    """The root of the work tree containing `path`."""
    output = _git(path, "rev-parse", "--show-toplevel", check=False)
    if output.returncode != 0:
        raise GitError(
            f"{path} is not inside a git repository: run `git init` there, or pass -C DIR"
        )
    return Path(_text(output))


def rev_parse(repo: Path, rev: str) -> str | None:
    """The full object name of `rev`, or None when it does not exist."""
    output = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", rev, check=False)
    return _text(output) if output.returncode == 0 else None


def head_sha(repo: Path) -> str:
    """The commit HEAD points at; an error in a repository without commits."""
    sha = rev_parse(repo, "HEAD^{commit}")
    if sha is None:
        raise GitError(f"{repo} has no commits yet: commit the configuration first")
    return sha


def subject(repo: Path, rev: str) -> str:
    """The first line of a commit's message."""
    return _text(_git(repo, "log", "-1", "--format=%s", rev))


def changed_paths(repo: Path) -> list[str]:
    """Tracked files with uncommitted changes and untracked files that are not ignored."""
    output = _git(repo, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    entries = [e for e in output.stdout.decode().split("\0") if e]
    return sorted(entry[3:] for entry in entries if len(entry) > 3)


def remote_url(repo: Path, remote: str = "origin") -> str | None:
    """The fetch URL of a remote, or None when there is no such remote."""
    output = _git(repo, "remote", "get-url", remote, check=False)
    return _text(output) if output.returncode == 0 else None


def config_value(repo: Path, key: str) -> str | None:
    """A git config value, or None when unset."""
    output = _git(repo, "config", "--get", key, check=False)
    return _text(output) or None if output.returncode == 0 else None


def identity(repo: Path, role: str) -> Identity:
    """Who a commit is by: GIT_<ROLE>_NAME/EMAIL, else git config, else toolkit's default."""
    name = os.environ.get(f"GIT_{role.upper()}_NAME") or config_value(repo, "user.name")
    email = os.environ.get(f"GIT_{role.upper()}_EMAIL") or config_value(repo, "user.email")
    return Identity(name or DEFAULT_NAME, email or DEFAULT_EMAIL)


def tree_of(repo: Path, rev: str) -> str:
    """The tree object of a commit."""
    return _text(_git(repo, "rev-parse", f"{rev}^{{tree}}"))


def list_tree(repo: Path, rev: str, path: str = "") -> list[TreeEntry]:
    """Every blob under `path` in `rev` (recursive)."""
    args = ["ls-tree", "-r", "-z", "--full-tree", rev]
    if path:
        args += ["--", path]
    output = _git(repo, *args)
    entries = []
    for record in output.stdout.decode().split("\0"):
        if not record:
            continue
        meta, name = record.split("\t", 1)
        mode, _kind, sha = meta.split()
        entries.append(TreeEntry(mode, sha, name))
    return entries


def read_blob(repo: Path, rev: str, path: str) -> bytes | None:
    """A file's bytes as committed in `rev`, or None when it is not there."""
    output = _git(repo, "cat-file", "blob", f"{rev}:{path}", check=False)
    return output.stdout if output.returncode == 0 else None


def _data(payload: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(payload), payload)


def _person(role: str, who: Identity, when: str) -> bytes:
    return f"{role} {who.name} <{who.email}> {when}\n".encode()


def write_commit(
    repo: Path,
    *,
    ref: str,
    parent: str | None,
    message: str,
    author: Identity,
    committer: Identity,
    delete: Sequence[str],
    files: Mapping[str, bytes],
) -> str:
    """Write one commit to `ref` with fast-import: `parent`'s tree, less `delete`, plus `files`.

    Nothing is checked out and the index is untouched; the blobs go into one pack in one process.
    """
    when = "now"
    stream = [
        f"commit {ref}\n".encode(),
        _person("author", author, when),
        _person("committer", committer, when),
        _data(message.encode()),
    ]
    if parent:
        stream.append(f"from {parent}\n".encode())
    stream.extend(f'D "{path}"\n'.encode() for path in delete)
    for path in sorted(files):
        stream.append(f'M 100644 inline "{path}"\n'.encode())
        stream.append(_data(files[path]))
    stream.append(b"done\n")
    _git(
        repo,
        "fast-import",
        "--quiet",
        "--done",
        "--force",
        "--date-format=now",
        input=b"".join(stream),
    )
    return _text(_git(repo, "rev-parse", ref))


def update_ref(repo: Path, ref: str, new: str, old: str | None) -> bool:
    """Move `ref` to `new` only if it still points at `old` (None: only if it does not exist)."""
    expected = old or "0" * 40
    output = _git(repo, "update-ref", ref, new, expected, check=False)
    return output.returncode == 0


def delete_ref(repo: Path, ref: str) -> None:
    """Remove a ref (a no-op when it is already gone)."""
    _git(repo, "update-ref", "-d", ref, check=False)


def read_blobs(repo: Path, rev: str, paths: Sequence[str]) -> dict[str, bytes | None]:
    """Several files' bytes as committed in `rev` (None where missing), in one git process."""
    if not paths:
        return {}
    request = b"".join(f"{rev}:{path}\n".encode() for path in paths)
    stdout = _git(repo, "cat-file", "--batch", input=request).stdout
    found: dict[str, bytes | None] = {}
    position = 0
    for path in paths:
        end = stdout.index(b"\n", position)
        header = stdout[position:end].split()
        position = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found[path] = stdout[position : position + size]
            position += size + 1  # the content is followed by a newline
        else:
            found[path] = None  # "<rev:path> missing", or not a blob
            if len(header) == 3:  # a tree or commit is printed too: step over it
                position += int(header[2]) + 1
    return found


# --- promotion: reading a source revision, committing and tagging the result ---------------

_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}


def show_prefix(repo: Path) -> str:
    """Where `repo` sits inside its work tree ("" at the top, else "sub/dir/")."""
    return _text(_git(repo, "rev-parse", "--show-prefix"))


def resolve_commit(repo: Path, ref: str) -> str | None:
    """The commit a branch, tag or sha names, or None when it names none."""
    return rev_parse(repo, f"{ref}^{{commit}}")


def work_tree_files(repo: Path, path: str) -> list[str]:
    """Files under `path` (relative to `repo`) that git tracks or would track: ignored ones are
    left out, and so are tracked files deleted from the work tree."""
    output = _git(
        repo,
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
        "--",
        path,
        env=_LITERAL,
    )
    names = {name for name in output.stdout.decode().split("\0") if name}
    return sorted(name for name in names if (repo / name).is_symlink() or (repo / name).exists())


def branch_exists(repo: Path, name: str) -> bool:
    return rev_parse(repo, f"refs/heads/{name}") is not None


def switch_to_new_branch(repo: Path, name: str) -> None:
    """Create branch `name` at HEAD and check it out; uncommitted changes come along."""
    _git(repo, "switch", "--quiet", "--create", name)


def commit_paths(repo: Path, paths: Sequence[str], message: str) -> str:
    """Commit exactly `paths` (added, changed or deleted) and nothing else that is staged."""
    env = dict(_LITERAL)
    for role in ("author", "committer"):
        who = identity(repo, role)
        env[f"GIT_{role.upper()}_NAME"] = who.name
        env[f"GIT_{role.upper()}_EMAIL"] = who.email
    _git(repo, "add", "--all", "--", *paths, env=env)
    _git(
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


def tags_matching(repo: Path, pattern: str) -> list[str]:
    """Tag names matching a glob such as `production/*`."""
    output = _git(repo, "tag", "--list", pattern)
    return [line for line in output.stdout.decode().splitlines() if line]


def create_tag(repo: Path, name: str, rev: str, message: str) -> None:
    """An annotated tag `name` on `rev`; an error when the tag exists."""
    who = identity(repo, "committer")
    env = {"GIT_COMMITTER_NAME": who.name, "GIT_COMMITTER_EMAIL": who.email}
    _git(repo, "tag", "--annotate", "--file=-", name, rev, input=message.encode(), env=env)
