"""Writing objects and moving refs: commits and notes through fast-import in a scratch
repository, annotated tags, compare-and-swap ref updates, ref names checked before git sees
them."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from toolkit.infra import owned
from toolkit.infra.errors import GitError
from toolkit.infra.git.repository import layout
from toolkit.infra.git.run import checked_ids, run_git, text_of
from toolkit.infra.git.worktree import WORKTREE_PREFIX

if TYPE_CHECKING:
    from toolkit.infra.git.identities import Identity


def _write_data(stream: IO[bytes], payload: bytes) -> None:
    stream.write(b"data %d\n" % len(payload))
    stream.write(payload)
    stream.write(b"\n")


def _person(role: str, who: Identity, when: str) -> bytes:
    return f"{role} {who.name} <{who.email}> {when}\n".encode()


_STREAM_PATH = re.compile(r'[^\x00-\x1f\x7f"\\]+')


def _stream_path(path: str) -> str:
    """A path quoted for a fast-import stream; one that could end its line or its quotes is
    refused (toolkit's own paths never are: the layout keeps names to [a-z0-9._-])."""
    if not _STREAM_PATH.fullmatch(path) or path.startswith("/"):
        raise GitError(f"refusing to write the path {path!r} to the rendered branch")
    return f'"{path}"'


SCRATCH_PREFIX = "scratch-"
_SCRATCH_REF = "refs/toolkit/scratch"


def _fast_import(repo: Path, stream: IO[bytes], commit_mark: int) -> str:
    """Feed one commit's fast-import stream (on `_SCRATCH_REF`, its mark `commit_mark`),
    written to the file `stream`, to git; return the commit (fast-import prints it: no other
    git process asks). The stream goes through a file rather than memory: a fleet's render is
    tens of megabytes, and held as pieces and then joined it would be there twice.

    fast-import runs in a scratch repository of this run's own (under `.git/toolkit/`) that
    borrows the repository's objects: the ref it writes, the pack being written and any crash
    report stay there, so a run killed at any moment leaves nothing in the repository itself.
    Only the finished objects are moved in, unreferenced until a caller moves a ref to them.
    """
    stream.write(b"get-mark :%d\ndone\n" % commit_mark)
    stream.seek(0)
    where = layout(repo)
    common, objects = where.common_dir, where.objects
    with owned.owned_directory(common / "toolkit", SCRATCH_PREFIX) as scratch:
        bare = scratch / "repo"
        run_git(repo, "init", "--quiet", "--bare", "--template=", str(bare))
        (bare / "objects" / "info").mkdir(parents=True, exist_ok=True)
        (bare / "objects" / "info" / "alternates").write_text(f"{objects}\n")
        output = run_git(
            bare,
            "fast-import",
            "--quiet",
            "--done",
            "--force",
            "--date-format=now",
            input=stream,
            env={"GIT_DIR": str(bare)},
        )
        (commit,) = checked_ids(text_of(output))
        _adopt_objects(bare / "objects", objects)
    return commit


def _adopt_objects(source: Path, objects: Path) -> None:
    """Move the finished objects of a scratch repository into `objects`: loose objects, and
    whole packs (the index last, since git sees a pack by its index); temporary files stay."""
    for directory in sorted(source.glob("[0-9a-f][0-9a-f]")):
        (objects / directory.name).mkdir(exist_ok=True)
        for loose in directory.iterdir():
            if not loose.name.startswith("tmp"):
                os.replace(loose, objects / directory.name / loose.name)
    for index in sorted((source / "pack").glob("pack-*.idx")):
        for suffix in (".pack", ".rev", ".idx"):
            part = index.with_suffix(suffix)
            if part.exists():
                os.replace(part, objects / "pack" / part.name)


def remove_abandoned(repo: Path) -> None:
    """What runs that died left in the repository: their scratch repositories (finished objects
    are kept, as a live run would have kept them) and their temporary worktrees."""
    where = layout(repo)
    common, objects = where.common_dir, where.objects
    with owned.abandoned(common / "toolkit", SCRATCH_PREFIX) as scratches:
        for scratch in scratches:
            with contextlib.suppress(OSError):
                _adopt_objects(scratch / "repo" / "objects", objects)
            shutil.rmtree(scratch, ignore_errors=True)
    owned.remove_abandoned(Path(tempfile.gettempdir()), WORKTREE_PREFIX)
    if (common / "worktrees").is_dir():
        run_git(repo, "worktree", "prune", check=False)


def write_commit(
    repo: Path,
    *,
    parent: str | None,
    message: str,
    author: Identity,
    committer: Identity,
    delete: Sequence[str],
    files: Mapping[str, bytes],
    executable: Collection[str] = (),
) -> str:
    """Write one commit with fast-import: `parent`'s tree, less `delete`, plus `files` (those in
    `executable` with mode 100755); no ref moves (the caller moves one, compare-and-swap).

    Nothing is checked out and the index is untouched; the blobs go into one pack in one process.
    Each distinct content is in the stream once, as a blob with a mark that every file holding
    it names (a chart's CRDs and dashboards are the same in every environment).
    """
    when = "now"
    marks: dict[bytes, int] = {}
    changes = [f"D {_stream_path(path)}\n".encode() for path in delete]
    with tempfile.TemporaryFile() as stream:
        for path in sorted(files):
            data = files[path]
            mark = marks.get(data)
            if mark is None:
                mark = marks[data] = len(marks) + 1
                stream.write(b"blob\nmark :%d\n" % mark)
                _write_data(stream, data)
            mode = "100755" if path in executable else "100644"
            changes.append(f"M {mode} :{mark} {_stream_path(path)}\n".encode())
        commit_mark = len(marks) + 1
        stream.write(f"commit {_SCRATCH_REF}\nmark :{commit_mark}\n".encode())
        stream.write(_person("author", author, when))
        stream.write(_person("committer", committer, when))
        _write_data(stream, message.encode())
        if parent:
            stream.write(f"from {checked_ids(parent)[0]}\n".encode())
        stream.writelines(changes)
        return _fast_import(repo, stream, commit_mark)


def write_notes(
    repo: Path,
    *,
    parent: str | None,
    committer: Identity,
    message: str,
    notes: Mapping[str, bytes],
) -> str:
    """A notes commit on top of `parent` (fast-import picks the fan-out) setting each note in
    `notes`; no ref moves."""
    with tempfile.TemporaryFile() as stream:
        stream.write(f"commit {_SCRATCH_REF}\nmark :1\n".encode())
        stream.write(_person("committer", committer, "now"))
        _write_data(stream, message.encode())
        if parent:
            stream.write(f"from {checked_ids(parent)[0]}\n".encode())
        for target in sorted(checked_ids(*notes)):
            stream.write(f"N inline {target}\n".encode())
            _write_data(stream, notes[target])
        return _fast_import(repo, stream, 1)


def make_tag(repo: Path, *, name: str, target: str, tagger: Identity, message: str) -> str:
    """An annotated tag object (no ref yet: the ref is set once the push, if any, lands)."""
    when = f"{int(time.time())} +0000"
    (target,) = checked_ids(target)
    body = (
        f"object {target}\ntype commit\ntag {name}\n"
        f"tagger {tagger.name} <{tagger.email}> {when}\n\n{message}"
    )
    return text_of(run_git(repo, "mktag", input=body.encode()))


def _expected(sha: str | None) -> str:
    """An object name for update-ref; None is the null name ("the ref does not exist")."""
    return checked_ids(sha)[0] if sha is not None else "0" * 40


def update_ref(repo: Path, ref: str, new: str, old: str | None) -> bool:
    """Move `ref` to `new` only if it still points at `old` (None: only if it does not exist)."""
    output = run_git(
        repo,
        "update-ref",
        "--end-of-options",
        _ref_name(ref),
        _expected(new),
        _expected(old),
        check=False,
    )
    return output.returncode == 0


def update_refs(repo: Path, updates: Sequence[tuple[str, str, str | None]]) -> bool:
    """Move several refs in one transaction, each only if it still holds its expected value
    (None: only if it does not exist). All move or none does; False when one had moved."""
    lines = [
        f"update {_ref_name(ref)} {_expected(new)} {_expected(old)}\n" for ref, new, old in updates
    ]
    output = run_git(repo, "update-ref", "--stdin", input="".join(lines).encode(), check=False)
    return output.returncode == 0


def ref_names(repo: Path, prefix: str) -> list[str]:
    """Local refs under `prefix` (e.g. ``refs/tags/dev/``), by full name."""
    output = run_git(repo, "for-each-ref", "--format=%(refname)", "--end-of-options", prefix)
    return output.stdout.decode().split()


def local_refs(repo: Path, wanted: Sequence[str]) -> dict[str, tuple[str, str]]:
    """The local refs among `wanted` (full names, or prefixes ending in ``*``), each with the
    object it names and what that object is (commit, tag, tree, blob), from one `git
    for-each-ref`."""
    if not wanted:
        return {}
    patterns = [name[:-1] if name.endswith("*") else name for name in wanted]
    output = run_git(
        repo,
        "for-each-ref",
        "--format=%(objectname) %(objecttype) %(refname)",
        "--end-of-options",
        *patterns,
    )
    refs = {}
    for line in output.stdout.decode().splitlines():
        sha, kind, ref = line.split(" ", 2)
        # A pattern matches whole path components below it too: refs/heads/rendered also
        # lists refs/heads/rendered/dev, which only a prefix asks for.
        if any(
            ref == name or (name.endswith("*") and ref.startswith(name[:-1])) for name in wanted
        ):
            refs[ref] = (sha, kind)
    return refs


_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def branch_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid git branch name (git check-ref-format), or None."""
    components = name.split("/")
    checks = (
        (not name, "it is empty"),
        (name.startswith("-"), "it starts with '-'"),
        (name in ("HEAD", "@"), f"'{name}' is reserved"),
        (
            bool(_REF_FORBIDDEN.search(name)),
            "it contains a space, control character, '..', '//', '@{' or one of ~^:?*[\\",
        ),
        (name.startswith("/") or name.endswith(("/", ".")), "it starts or ends with '/' or '.'"),
        (
            any(part.startswith(".") or part.endswith(".lock") for part in components),
            "a part starts with '.' or ends with '.lock'",
        ),
    )
    return next((problem for failed, problem in checks if failed), None)


def _ref_name(ref: str) -> str:
    """`ref`, checked to be a full ref name git would accept, before it reaches git."""
    problem = (
        branch_name_problem(ref.removeprefix("refs/"))
        if ref.startswith("refs/")
        else "it does not start with refs/"
    )
    if problem:
        raise GitError(f"{ref!r} is not a usable ref name ({problem})")
    return ref
