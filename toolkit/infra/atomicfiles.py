"""The one way toolkit replaces a file: a single file (`replace_file`, `replacing`), or a set of
files and directories all or nothing (`all_or_nothing`). Either way a reader sees the old content
or the whole new one, never half, and a failure of the file system is one `WriteError` (exit 2)
naming the file.

A single file is written to a temporary file beside it and renamed over it: enough for caches
and for one output file. A set is all or nothing, even when the process is killed half way; it is
used wherever a command writes a user's files: promote and lock edit the source tree (a
half-applied promotion would leave an environment running a mix of two states, which is worse
than either), `render -o` replaces environment directories.

How a crash is survived: each write set keeps a journal, a directory `.toolkit-journal-…` in the
root that this process holds (see owned.py) and that holds the plan, the new contents and, once
targets are being replaced, the originals (hard links, so nothing is copied). The journal is
removed once every target is replaced. A later run calls `recover` before anything else: the
journal of a run that died is rolled back (each target put back as it was, every new file and
directory removed), so a killed write leaves what was there before, and running it again gives
what an uninterrupted run gives.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from toolkit.infra import owned, yamlfile
from toolkit.infra.errors import InputError

JOURNAL_PREFIX = ".toolkit-journal-"
_NEW_FILE_MODE = 0o644
_PLAN, _APPLYING, _DONE = "plan.json", "applying", "done"
_WRITE, _DELETE, _DIRECTORY = "write", "delete", "directory"


class WriteError(InputError):
    """A file could not be written (permissions, a full disk, a file where a directory must be):
    exit 2, like any other input the user can fix. Caches catch it: a cache not written is no
    failure."""


# --- one file ---------------------------------------------------------------------------------


@contextlib.contextmanager
def replacing(
    path: Path, *, mode: int = _NEW_FILE_MODE, shown: str | None = None
) -> Iterator[IO[bytes]]:
    """A temporary file beside `path` (its directories made) that replaces `path` whole, with
    `mode`, when the block ends without an error; otherwise it is removed and `path` is as it
    was. An OS error is a `WriteError` naming `shown` (default: the path)."""
    temporary: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        temporary = Path(name)
        with os.fdopen(fd, "wb") as out:
            yield out
            os.fchmod(out.fileno(), mode)
        os.replace(temporary, path)
    except BaseException as exc:
        if temporary is not None:
            with contextlib.suppress(OSError):
                temporary.unlink()
        if isinstance(exc, OSError):
            where = shown or path.as_posix()
            raise WriteError(f"cannot write {where}: {exc.strerror or exc}") from None
        raise


def replace_file(
    path: Path, data: bytes, *, mode: int = _NEW_FILE_MODE, shown: str | None = None
) -> None:
    """Replace `path` with `data` whole (see `replacing`)."""
    with replacing(path, mode=mode, shown=shown) as out:
        out.write(data)


# --- a set of files, all or nothing ---------------------------------------------------------


@dataclass
class Changes:
    """The files to write or delete and the directories to replace whole, collected inside
    ``all_or_nothing``."""

    root: Path
    files: dict[Path, tuple[bytes | None, int | None]] = field(default_factory=dict)
    directories: dict[Path, Mapping[str, bytes]] = field(default_factory=dict)

    def write(self, path: Path, data: bytes, *, mode: int | None = None) -> None:
        """Write ``data`` to ``path``; ``mode`` for a new file (an existing one keeps its own)."""
        self.files[path] = (data, mode)

    def delete(self, path: Path) -> None:
        self.files[path] = (None, None)

    def replace_directory(self, path: Path, files: Mapping[str, bytes]) -> None:
        """Make ``path`` a directory holding exactly ``files`` (relative paths)."""
        self.directories[path] = files


@dataclass(frozen=True)
class _Entry:
    """One target of a write set, as the journal records it."""

    target: str  # relative to the root
    action: str  # write, delete or directory
    existed: bool


@contextlib.contextmanager
def all_or_nothing(root: Path) -> Iterator[Changes]:
    """Collect changes in the block; apply them all when it ends without an error.

    Every new content is first written into the journal; only when all of it is there are the
    targets replaced. A failure while replacing puts back what was already replaced, so the
    tree ends as it was before, and the error names the file.
    """
    changes = Changes(root)
    yield changes
    apply(changes)


def apply(changes: Changes) -> None:
    """Apply ``changes`` all or nothing (see ``all_or_nothing``)."""
    root = changes.root
    targets = sorted({*changes.files, *changes.directories})
    if not targets:
        return
    entries = [_entry(path, changes, root) for path in targets]
    with contextlib.ExitStack() as stack:
        try:  # the journal's directory makes the root, when it is missing
            journal = stack.enter_context(owned.owned_directory(root, JOURNAL_PREFIX))
        except OSError as exc:  # the root itself cannot be written in
            raise _failure(exc, root, root) from None
        created = _missing_parents(targets)
        _write_plan(journal, entries, created, root)
        current = root
        try:
            for directory in created:
                directory.mkdir()
            for number, (path, entry) in enumerate(zip(targets, entries, strict=True)):
                current = path
                _stage(journal / "new" / str(number), path, entry, changes)
            (journal / _APPLYING).touch()
            for number, (path, entry) in enumerate(zip(targets, entries, strict=True)):
                current = path
                _replace(journal, number, path, entry)
            (journal / _DONE).touch()
        except BaseException as exc:
            # Ctrl-C between two renames must not leave half a write set behind either.
            _roll_back(journal, root)
            if isinstance(exc, OSError):
                raise _failure(exc, current, root) from None
            raise


def recover(root: Path) -> list[str]:
    """Roll back the write sets of runs that died in `root` (their journals); return the
    targets put back. A live run's journal is left alone."""
    restored: list[str] = []
    with owned.abandoned(root, JOURNAL_PREFIX) as journals:
        for journal in journals:
            if not (journal / _DONE).exists():
                restored += _roll_back(journal, root)
            shutil.rmtree(journal, ignore_errors=True)
    return restored


def _entry(path: Path, changes: Changes, root: Path) -> _Entry:
    target = path.relative_to(root).as_posix()
    exists = os.path.lexists(path)
    is_directory = path.is_dir() and not path.is_symlink()
    if path in changes.directories:
        if exists and not is_directory:
            raise _failure(NotADirectoryError(20, "Not a directory"), path, root)
        return _Entry(target, _DIRECTORY, exists)
    if exists and is_directory:
        raise _failure(IsADirectoryError(21, "Is a directory"), path, root)
    data, _mode = changes.files[path]
    return _Entry(target, _WRITE if data is not None else _DELETE, exists)


def _missing_parents(targets: list[Path]) -> list[Path]:
    """The directories to create for the targets, parents before children."""
    missing: set[Path] = set()
    for target in targets:
        directory = target.parent
        while not directory.exists():
            missing.add(directory)
            directory = directory.parent
    return sorted(missing, key=lambda p: len(p.parts))


def _write_plan(journal: Path, entries: list[_Entry], created: list[Path], root: Path) -> None:
    plan = {
        "entries": [e.__dict__ for e in entries],
        "created": [p.relative_to(root).as_posix() for p in created],
    }
    replace_file(journal / _PLAN, json.dumps(plan, indent=1).encode())  # whole, or not at all


def _stage(staged: Path, path: Path, entry: _Entry, changes: Changes) -> None:
    staged.parent.mkdir(exist_ok=True)
    if entry.action == _DIRECTORY:
        for name, content in changes.directories[path].items():
            destination = staged / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(content)
        return
    data, mode = changes.files[path]
    if data is None:
        return
    if entry.existed:
        mode = path.stat().st_mode & 0o7777  # an existing file keeps its mode
    staged.write_bytes(data)
    staged.chmod(mode or _NEW_FILE_MODE)


def _replace(journal: Path, number: int, path: Path, entry: _Entry) -> None:
    """Keep the original in the journal, then put the new content (or nothing) in its place."""
    (journal / "old").mkdir(exist_ok=True)
    original = journal / "old" / str(number)
    staged = journal / "new" / str(number)
    if entry.action == _DIRECTORY:
        if entry.existed:
            path.rename(original)
        staged.rename(path)
        return
    if entry.existed:
        try:
            os.link(path, original, follow_symlinks=False)
        except OSError:  # a file system without hard links
            shutil.copy2(path, original, follow_symlinks=False)
    if entry.action == _WRITE:
        os.replace(staged, path)
    elif entry.existed:
        path.unlink()


def _roll_back(journal: Path, root: Path) -> list[str]:
    """Put every target of the journal's plan back as it was; return those that were touched.

    Best effort by design when it follows a failed rename: that failure already said the disk is
    unwell. After a crash it is the plan's exact inverse.
    """
    try:
        plan = json.loads((journal / _PLAN).read_text())
    except (OSError, ValueError):
        return []  # no plan yet: nothing was touched
    restored: list[str] = []
    entries = [_Entry(**e) for e in plan["entries"]]
    replacing = (journal / _APPLYING).exists()
    for number, entry in reversed(list(enumerate(entries))):
        path = root / entry.target
        original = journal / "old" / str(number)
        with contextlib.suppress(OSError):
            if not replacing:
                continue
            if os.path.lexists(original):
                if entry.action == _DIRECTORY:
                    _remove(path)  # the new directory, if it was renamed in already
                os.replace(original, path)
                restored.append(entry.target)
            elif not entry.existed and os.path.lexists(path):
                _remove(path)
                restored.append(entry.target)
    for directory in reversed(plan["created"]):
        with contextlib.suppress(OSError):
            (root / directory).rmdir()
    return sorted(restored)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def _failure(exc: OSError, path: Path, root: Path) -> WriteError:
    where = path.as_posix() if path == root else yamlfile.relative_name(path, root)
    return WriteError(
        f"cannot write {where}: {exc.strerror or exc}; nothing was changed (every file is as "
        "it was): fix the file's permissions or path and run again"
    )
