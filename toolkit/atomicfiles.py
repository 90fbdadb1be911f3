"""All-or-nothing writes to a set of files: every change lands, or every file stays as it was.

Used where a command edits a user's source tree (promote): a half-applied promotion would leave
an environment running a mix of two states, which is worse than either.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from toolkit import yamlfile
from toolkit.errors import InputError

_NEW_FILE_MODE = 0o644


@dataclass(frozen=True)
class _Original:
    """What a target held before the change: its bytes and mode, or nothing."""

    data: bytes | None
    mode: int


@dataclass
class Changes:
    """The files to write (bytes) or delete (None), collected inside ``all_or_nothing``."""

    root: Path
    pending: dict[Path, tuple[bytes | None, int | None]] = field(default_factory=dict)

    def write(self, path: Path, data: bytes, *, mode: int | None = None) -> None:
        """Write ``data`` to ``path``; ``mode`` for a new file (an existing one keeps its own)."""
        self.pending[path] = (data, mode)

    def delete(self, path: Path) -> None:
        self.pending[path] = (None, None)


@contextlib.contextmanager
def all_or_nothing(root: Path) -> Iterator[Changes]:
    """Collect changes in the block; apply them all when it ends without an error.

    Every new content is first written to a temporary file beside its target; only when all
    of them exist are they renamed into place. A failure while renaming puts back what was
    already replaced, so the tree ends as it was before, and the error names the file.
    """
    changes = Changes(root)
    yield changes
    apply(changes)


def apply(changes: Changes) -> None:
    """Apply ``changes`` all or nothing (see ``all_or_nothing``)."""
    targets = sorted(changes.pending)
    originals = {path: _read_original(path, changes.root) for path in targets}
    staged: dict[Path, Path] = {}
    created: list[Path] = []
    current = changes.root
    try:
        for path in targets:
            current = path
            data, mode = changes.pending[path]
            if data is not None:
                created += _make_parents(path.parent)
                original = originals[path]
                new_mode = original.mode if original.data is not None else mode
                staged[path] = _stage(path, data, new_mode or _NEW_FILE_MODE)
    except BaseException as exc:
        _discard(staged.values(), created)
        if isinstance(exc, OSError):
            raise _failure(exc, current, changes.root) from None
        raise
    done: list[Path] = []
    try:
        for path in targets:
            current = path
            if path in staged:
                os.replace(staged[path], path)
                del staged[path]
            elif originals[path].data is not None:
                path.unlink()
            done.append(path)
    except BaseException as exc:
        # Ctrl-C between two renames must not leave half a promotion behind either.
        _restore(done, originals)
        _discard(staged.values(), created)
        if isinstance(exc, OSError):
            raise _failure(exc, current, changes.root) from None
        raise


def _read_original(path: Path, root: Path) -> _Original:
    try:
        return _Original(path.read_bytes(), path.stat().st_mode & 0o7777)
    except FileNotFoundError:
        return _Original(None, _NEW_FILE_MODE)
    except OSError as exc:
        raise _failure(exc, path, root) from None


def _make_parents(directory: Path) -> list[Path]:
    """Create ``directory`` and missing parents; return those created, deepest last."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir()
    return list(reversed(missing))


def _stage(path: Path, data: bytes, mode: int) -> Path:
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".toolkit-tmp", dir=path.parent)
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        temporary.chmod(mode)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _restore(done: list[Path], originals: dict[Path, _Original]) -> None:
    # Best effort by design: the rename that failed has already told us the disk is unwell.
    for path in reversed(done):
        original = originals[path]
        with contextlib.suppress(OSError):
            if original.data is None:
                path.unlink(missing_ok=True)
            else:
                os.replace(_stage(path, original.data, original.mode), path)


def _discard(temporaries: Iterable[Path], created: list[Path]) -> None:
    for temporary in list(temporaries):
        with contextlib.suppress(OSError):
            temporary.unlink()
    for directory in reversed(created):
        with contextlib.suppress(OSError):
            directory.rmdir()


def _failure(exc: OSError, path: Path, root: Path) -> InputError:
    where = yamlfile.relative_name(path, root)
    return InputError(
        f"cannot write {where}: {exc.strerror or exc}; nothing was changed (every file is as "
        "it was): fix the file's permissions or path and run again"
    )
