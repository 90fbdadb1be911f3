"""What a kustomize build can read: the files whose content keys its render, and the paths its
kustomizations name (for knowing which environments' directories an overlay reaches into)."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.config.project import Config, Environment
from toolkit.config.releases import KUSTOMIZATION_FILES
from toolkit.infra import yamlfile
from toolkit.infra.errors import InputError
from toolkit.infra.paths import refuse_link_out
from toolkit.render import cache


@dataclass(frozen=True)
class KustomizeInputs:
    files: list[Path]  # every file the build can read, sorted
    named: set[Path]  # every path in the repository a kustomization names, existing or not


def find(config: Config, environment: Environment) -> KustomizeInputs:
    """Files a kustomize build of `environment` can read: everything under the directory that
    holds its own (overlays/ in the default layout) but the other environments' directories,
    unless this overlay names one of them; plus whatever its kustomizations name elsewhere. A
    symlink among them leading outside the git work tree is an error: kustomize would follow it.

    Where the environment's directory sits at the top of the configuration, only its own
    directory is walked (the top holds the charts and every other environment)."""
    own = environment.directory
    work_tree = [_work_tree_top(config.root.resolve())]
    own_files = [p for p in own.glob("*.y*ml") if _confined(p, work_tree, config).is_file()]
    texts = " ".join(p.read_text(errors="replace") for p in own_files)
    skipped = {
        other.directory
        for other in config.environments
        if other.name != environment.name and os.path.relpath(other.directory, own) not in texts
    }
    walked = own.parent if own.parent != config.root else own
    # Skip whole directories rather than test every file: a fleet's other environments are
    # most of overlays/, and walking them once per environment would make planning quadratic.
    found = list(_files_under(walked, work_tree, config, skipped))
    referenced, named = _references(config, own)
    return KustomizeInputs(sorted(set(found) | referenced), named)


def _confined(path: Path, inside: Sequence[Path], config: Config) -> Path:
    refuse_link_out(path, inside, root=config.root, reader="kustomize")
    return path


def _files_under(
    directory: Path, inside: Sequence[Path], config: Config, skipped: Set[Path] = frozenset()
) -> Iterator[Path]:
    """The files under `directory` but the `skipped` directories (links to files followed, as
    kustomize follows them; links to directories are not walked: a kustomization names what
    it reads through them). A link among them leading outside `inside` is an error."""
    for top, dirs, names in os.walk(directory):
        here = Path(top)
        dirs[:] = sorted(d for d in dirs if d != ".git" and here / d not in skipped)
        for name in dirs:
            _confined(here / name, inside, config)
        for name in sorted(names):
            if _confined(here / name, inside, config).is_file():
                yield here / name


def strings(value: Any) -> Iterator[str]:
    """Every string anywhere in a loaded YAML document."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def _references(config: Config, start: Path) -> tuple[set[Path], set[Path]]:
    """Files a kustomization reaches outside the walked directory (a shared component, a base in
    the work tree, even above the configuration, or a base beyond the work tree), and every
    path in the repository its kustomizations name (a missing one may be created later).

    Any string in a kustomization file that names an existing path in the work tree counts
    (`resources`, `components`, `patches[].path`, a generator's `key=file`…), followed through
    the kustomizations it reaches; that needs no list of kustomize's fields and can only err
    towards hashing a file too many.
    """
    root = config.root.resolve()
    top = _work_tree_top(root)
    work_tree = [top]
    found: set[Path] = set()
    named: set[Path] = set()
    seen: set[Path] = set()
    queue = [start.resolve()]
    while queue:
        directory = queue.pop()
        if directory in seen:
            continue
        seen.add(directory)
        files = [directory / name for name in KUSTOMIZATION_FILES if (directory / name).is_file()]
        if not files:
            continue
        try:
            document = yamlfile.load(files[0], root=config.root).data
        except InputError:
            continue  # kustomize will say what is wrong with it
        for text in strings(document):
            for token in re.split(r"[\s=]+", text):
                if not token or "://" in token or "\x00" in token:
                    continue
                candidate = directory / token
                plain = Path(os.path.normpath(candidate))
                named.add(plain)
                # Most strings name no file: one stat rules them out before resolving.
                if not os.path.lexists(candidate):
                    continue
                target = candidate.resolve()
                named.add(target)
                outside = not target.is_relative_to(top)
                if outside and target != plain:  # not by `../` alone: through a symlink
                    _refuse_link_on_the_way(directory, token, target, work_tree, config)
                # The work tree's top or an ancestor would be "everything": never a reference.
                if directory.is_relative_to(target):
                    continue
                if outside and not any((target / name).is_file() for name in KUSTOMIZATION_FILES):
                    continue  # outside the work tree kustomize reads only bases (kustomizations)
                if target.is_file():
                    found.add(target)
                elif target.is_dir() and (outside or ".git" not in target.relative_to(top).parts):
                    # A base outside the work tree may hold links within itself.
                    found.update(_files_under(target, [*work_tree, target], config))
                    queue.append(target)
    inside = {p for p in named if p.is_relative_to(root)}  # the rest names no file of ours
    # Inside the configuration by its root's own spelling; above it as resolved.
    return {
        config.root / p.relative_to(root) if p.is_relative_to(root) else p for p in found
    }, inside


def _refuse_link_on_the_way(
    directory: Path, token: str, target: Path, inside: Sequence[Path], config: Config
) -> None:
    """A path a kustomization names that leaves the work tree through a symlink: the link is
    the error (a base reached by `../` alone is kustomize's own way and is hashed instead)."""
    path = directory
    for part in Path(token).parts:
        path = Path(os.path.realpath(_confined(path / part, inside, config)))  # where it is
    raise InputError(
        f"{yamlfile.relative_name(directory / token, config.root)} leads outside the repository "
        f"through a symlink (to {target}): kustomize would read what lies there; name the "
        "directory itself in the kustomization, or keep the link inside the repository"
    )


def _work_tree_top(root: Path) -> Path:
    """The top of the git work tree holding `root` (a base above the configuration may live
    anywhere in it), or `root` itself outside one."""
    for directory in (root, *root.parents):
        if (directory / ".git").exists():
            return directory
    return root


def digest(
    config: Config, directory: Path, inputs: Sequence[Path], file_digests: dict[Path, bytes]
) -> str:
    """A hash of a kustomization's inputs by path from the configuration's root; each file is
    read once per run however many environments share it (the base)."""
    parts = [_relative(config, directory)]
    for path in inputs:
        if path not in file_digests:
            file_digests[path] = hashlib.sha256(path.read_bytes()).digest()
        parts += [_relative(config, path), file_digests[path]]
    return cache.key_of(*parts)


def _relative(config: Config, path: Path) -> bytes:
    """`path` from the configuration's root (`../common/x` above it), the same in every clone."""
    return Path(os.path.relpath(path, config.root)).as_posix().encode()
