"""Paths every stage shares: the toolkit's cache directory, and paths from a user's files
resolved so that none leads outside the repository."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from toolkit.infra import runmemo, yamlfile
from toolkit.infra.errors import InputError


def cache_dir() -> Path:
    """$TOOLKIT_CACHE_DIR, else $XDG_CACHE_HOME/toolkit, else ~/.cache/toolkit."""
    explicit = os.environ.get("TOOLKIT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser().absolute()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache").absolute() / "toolkit"


def safe_path(root: Path, base: Path, relative: str, *, where: str) -> Path:
    """``relative`` resolved against directory ``base`` (following symlinks), refusing
    anything that ends up outside ``root``; ``where`` starts the error message."""
    if not relative or "\x00" in relative:
        raise InputError(f"{where}: '{relative}' is not a usable path")
    if PurePosixPath(relative).is_absolute():
        raise InputError(
            f"{where}: '{relative}' is an absolute path; write it relative to "
            f"{yamlfile.relative_name(base, root)}/"
        )
    resolved_root = runmemo.remembered(("resolved root", root), root.resolve)
    target = (base / relative).resolve()
    if not target.is_relative_to(resolved_root):
        raise InputError(
            f"{where}: '{relative}' leads outside the repository (to {target}); "
            f"keep it inside {resolved_root}"
        )
    return target


def refuse_link_out(path: Path, allowed: Sequence[Path], *, root: Path, reader: str) -> None:
    """An InputError when `path` is a symlink leading outside every directory of `allowed`
    (each resolved): `reader` (helm, kustomize) would follow it and render what lies there, a
    CI job's /proc/self/environ say, onto the rendered branch."""
    if not path.is_symlink():
        return
    target = Path(os.path.realpath(path))  # never raises, even on a loop
    if not any(target.is_relative_to(directory) for directory in allowed):
        raise InputError(
            f"{yamlfile.relative_name(path, root)} is a symlink leading outside the repository "
            f"(to {target}): {reader} would read what lies there; replace the link with the "
            "file itself, or point it inside the repository"
        )
