"""Where promotion reads SRC from: the work tree, or a tag or commit through git (no checkout)."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from toolkit.config.project import Config, Environment
from toolkit.config.releases import KUSTOMIZATION_FILES, LOCK_FILE, RELEASES_FILE
from toolkit.infra import git, runmemo
from toolkit.infra.errors import InputError
from toolkit.infra.paths import safe_path

SYMLINK = "120000"
SUBMODULE = "160000"
EXECUTABLE = "100755"
REGULAR = "100644"
# Files promotion edits field by field; a promotion.copy pattern never copies them whole.
EDITED_FILES = frozenset({RELEASES_FILE, LOCK_FILE, *KUSTOMIZATION_FILES})


class FileAction(str, Enum):
    """What promoting a `promotion.copy` file does to DST's copy."""

    ADDED = "added"
    UPDATED = "updated"
    DELETED = "deleted"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class FilePromotion:
    path: str  # relative to the environment directory
    action: FileAction


@dataclass(frozen=True)
class SourceEnvironment:
    """SRC's environment directory as it is in the work tree (``ref`` None) or at ``ref``."""

    config: Config
    environment: Environment
    ref: str | None
    commit: str | None
    prefix: str  # the config root's place inside the git work tree ("" at the top)

    @property
    def directory(self) -> str:
        """SRC's directory relative to the config root, e.g. ``overlays/dev``."""
        return self.environment.directory.relative_to(self.config.root).as_posix()

    @property
    def label(self) -> str:
        """How messages name the state promoted: ``dev at v1.2 (abc123…)`` or the work tree."""
        short = (self.commit or "")[:12]
        if self.ref is None:
            return f"{self.environment.name} in the work tree (HEAD {short or 'unborn'})"
        return f"{self.environment.name} at {self.ref} ({short})"

    def display(self, relative: str) -> str:
        """A SRC file's name in messages: ``overlays/dev/x`` or ``REF:overlays/dev/x``."""
        path = f"{self.directory}/{relative}"
        return path if self.ref is None else f"{self.ref}:{path}"

    def read(self, relative: str) -> bytes | None:
        """A file of SRC's directory, or None when it is not there."""
        if self.ref is None:
            path = self.environment.directory / relative
            if not path.exists() and not path.is_symlink():
                return None
            where = f"environment '{self.environment.name}'"
            target = safe_path(self.config.root, self.environment.directory, relative, where=where)
            try:
                return target.read_bytes()
            except OSError as exc:
                raise InputError(f"{self.display(relative)}: cannot read: {exc.strerror}") from None
        assert self.commit is not None
        return git.read_blob(
            self.config.root, self.commit, f"{self.prefix}{self.directory}/{relative}"
        )

    def files(self) -> dict[str, str]:
        """Every file of SRC's directory (relative to it) with its git mode."""
        base = f"{self.directory}/"
        if self.ref is None:
            found = {}
            for name in _work_tree_files(self.config, self.directory):
                path = self.config.root / name
                found[name.removeprefix(base)] = _work_tree_mode(path)
            return found
        assert self.commit is not None
        full = f"{self.prefix}{base}"
        return {
            entry.path.removeprefix(full): entry.mode
            for entry in git.list_tree(self.config.root, self.commit, full)
            if entry.path.startswith(full)
        }


def _work_tree_mode(path: Path) -> str:
    if path.is_symlink():
        return SYMLINK
    if path.is_dir():
        return SUBMODULE
    return EXECUTABLE if path.stat().st_mode & 0o111 else REGULAR


def open_source(
    config: Config, environment: Environment, ref: str | None, *, option: str = "--ref"
) -> SourceEnvironment:
    """SRC as the work tree has it, or as ``ref`` had it; a ref naming no commit is an error
    (naming ``option``, the flag that gave it)."""
    repo = config.root
    git.toplevel(repo)
    prefix = git.show_prefix(repo)
    if ref is None:
        head = runmemo.remembered(("HEAD", repo), lambda: git.rev_parse(repo, "HEAD^{commit}"))
        return SourceEnvironment(config, environment, None, head, prefix)
    commit = git.commit_of(repo, ref) if ref and not ref.startswith("-") else None
    if commit is None:
        raise InputError(
            f"{option} '{ref}' names no commit in this repository: give a tag, branch or commit "
            "(`git tag --list` shows the tags; fetch them first with `git fetch --tags`)"
        )
    source = SourceEnvironment(config, environment, ref, commit, prefix)
    if not git.list_tree(repo, commit, f"{prefix}{source.directory}"):
        raise InputError(
            f"{ref} has no {source.directory}/: environment '{environment.name}' did not exist "
            f"there; give a later {option}"
        )
    return source


def work_tree_modes(config: Config, directory: Path) -> dict[str, str]:
    """The files of a work-tree directory that git tracks or would track, with their modes."""
    relative = directory.relative_to(config.root).as_posix()
    return {
        name.removeprefix(f"{relative}/"): _work_tree_mode(config.root / name)
        for name in _work_tree_files(config, relative)
    }


def _work_tree_files(config: Config, relative: str) -> list[str]:
    """git.work_tree_files, asked once per directory in a run (status plans every promotion:
    each environment is the source of one and the target of the next)."""
    key = ("work tree files", config.root, relative)
    return runmemo.remembered(key, lambda: git.work_tree_files(config.root, relative))


# --- promotion.copy files -------------------------------------------------------------------


def glob_match(pattern: str, path: str) -> bool:
    """Whether posix ``path`` matches ``pattern``: ``*`` within a name, ``**`` across names."""
    return _glob_parts(pattern.split("/"), path.split("/"))


def _glob_parts(pattern: list[str], parts: list[str]) -> bool:
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_glob_parts(pattern[1:], parts[i:]) for i in range(len(parts) + 1))
    return (
        bool(parts)
        and fnmatch.fnmatchcase(parts[0], pattern[0])
        and _glob_parts(pattern[1:], parts[1:])
    )


def _copied(config: Config, relative: str) -> bool:
    if relative in EDITED_FILES:
        return False
    return any(glob_match(pattern, relative) for pattern in config.promotion_copy)


def promote_files(
    config: Config,
    source: SourceEnvironment,
    dst: Environment,
    writes: dict[Path, bytes | None],
    modes: dict[Path, int],
) -> tuple[FilePromotion, ...]:
    """DST's files matching promotion.copy become SRC's."""
    return copy_files(source, dst, writes, modes, wanted=lambda relative: _copied(config, relative))


def copy_files(
    source: SourceEnvironment,
    dst: Environment,
    writes: dict[Path, bytes | None],
    modes: dict[Path, int],
    *,
    wanted: Callable[[str], bool],
) -> tuple[FilePromotion, ...]:
    """DST's ``wanted`` files (relative to its directory) become SRC's: added, updated, or
    deleted where SRC has none."""
    config = source.config
    src_files = {p: m for p, m in source.files().items() if wanted(p)}
    dst_files = {p: m for p, m in work_tree_modes(config, dst.directory).items() if wanted(p)}
    results = []
    for relative in sorted(src_files.keys() | dst_files.keys()):
        target = dst.directory / relative
        mode = src_files.get(relative)
        if mode is None:
            writes[target] = None
            results.append(FilePromotion(relative, FileAction.DELETED))
            continue
        if mode not in (REGULAR, EXECUTABLE):
            raise InputError(
                f"{source.display(relative)} is to be copied (promotion.copy, or a rollback) but "
                "is a symbolic link or submodule; toolkit copies regular files only: replace it "
                "with a file"
            )
        data = source.read(relative)
        assert data is not None
        if relative in dst_files and target.is_file() and target.read_bytes() == data:
            continue
        writes[target] = data
        modes[target] = 0o755 if mode == EXECUTABLE else 0o644
        results.append(
            FilePromotion(
                relative, FileAction.UPDATED if relative in dst_files else FileAction.ADDED
            )
        )
    return tuple(results)
