"""Directories a run owns while it lives: a write journal, a scratch repository, a temporary
worktree. Each holds a lock (flock) that the kernel lets go of when its process ends, however it
ends (SIGKILL included), so a later run can tell what a dead run left behind from what a live
one is using, and clean up only the former.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from toolkit.infra import interrupt

# A directory is made under a hidden name (`.<prefix>…`), locked, and only then renamed to
# `<prefix>…`: one with that name and a free lock is always a dead run's, even one killed right
# after making it. A hidden one with a free lock may be a run about to lock it, unless it is
# older than this.
_STARTING = 60.0  # seconds


def _lock(path: Path, *, wait: bool) -> int | None:
    """An open descriptor of `path` holding its lock, or None when another process holds it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def owned_directory(parent: Path, prefix: str) -> Iterator[Path]:
    """A new directory `parent/<prefix>…`, this process's until the block ends; then removed.
    Neither its making nor its removal is cut in two by Ctrl-C."""
    parent.mkdir(parents=True, exist_ok=True)
    made: tuple[Path, int] | None = None
    try:
        with interrupt.held():
            making = Path(tempfile.mkdtemp(prefix=f".{prefix}", dir=parent))
            fd = _lock(making, wait=True)
            assert fd is not None
            path = parent / making.name[1:]
            os.rename(making, path)  # the lock is the directory's: it comes along
            made = (path, fd)
        yield path
    finally:
        with interrupt.held():
            if made is not None:
                shutil.rmtree(made[0], ignore_errors=True)
                os.close(made[1])


@contextlib.contextmanager
def abandoned(parent: Path, prefix: str) -> Iterator[list[Path]]:
    """The directories `parent/<prefix>…` whose owner is gone (and `.<prefix>…` ones a run died
    making), held by this process for the block (two runs cleaning up at once never both take
    one); a live run's are not listed."""
    held: list[tuple[Path, int]] = []
    try:
        with os.scandir(parent) as entries:
            names = [e.name for e in entries if e.name.startswith((prefix, f".{prefix}"))]
        candidates = [parent / name for name in sorted(names)]
    except (FileNotFoundError, NotADirectoryError):
        candidates = []
    try:
        for path in candidates:
            fd = _lock(path, wait=False)
            if fd is None:
                continue
            if path.name.startswith(f".{prefix}") and _starting(path):
                os.close(fd)
                continue
            held.append((path, fd))
        yield [path for path, _ in held]
    finally:
        for _, fd in held:
            os.close(fd)


def remove_abandoned(parent: Path, prefix: str) -> None:
    """Delete the directories `parent/<prefix>…` whose owner is gone."""
    with abandoned(parent, prefix) as paths:
        for path in paths:
            shutil.rmtree(path, ignore_errors=True)


def _starting(path: Path) -> bool:
    try:
        return time.time() - path.stat().st_mtime < _STARTING
    except FileNotFoundError:
        return True  # gone meanwhile: nothing to clean
