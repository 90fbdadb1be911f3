"""What a kustomize build can read: the files whose content keys its render, and the paths its
kustomizations name (for knowing which environments' directories an overlay reaches into)."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit import cache, yamlfile
from toolkit.config import Config, Environment
from toolkit.errors import InputError


@dataclass(frozen=True)
class KustomizeInputs:
    files: list[Path]  # every file the build can read, sorted
    named: set[Path]  # every path in the repository a kustomization names, existing or not


def find(config: Config, environment: Environment) -> KustomizeInputs:
    """Files a kustomize build of `environment` can read: everything under overlays/ but the
    other environments' directories (unless this overlay names one of them)."""
    overlays = config.root / "overlays"
    own = environment.directory
    texts = " ".join(p.read_text(errors="replace") for p in own.glob("*.y*ml") if p.is_file())
    skipped = {
        other.directory
        for other in config.environments
        if other.name != environment.name and f"../{other.name}" not in texts
    }
    # Skip whole directories rather than test every file: a fleet's other environments are
    # most of overlays/, and walking them once per environment would make planning quadratic.
    found: list[Path] = []
    for entry in overlays.iterdir() if overlays.is_dir() else ():
        if entry in skipped:
            continue
        if entry.is_file():
            found.append(entry)
        elif entry.is_dir():
            found += (p for p in entry.rglob("*") if p.is_file())
    referenced, named = _references(config, own)
    return KustomizeInputs(sorted(set(found) | referenced), named)


_KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _references(config: Config, start: Path) -> tuple[set[Path], set[Path]]:
    """Files a kustomization reaches outside overlays/ (a shared component, a base elsewhere in
    the work tree, even above the configuration), and every path in the repository its
    kustomizations name (a missing one may be created later).

    Any string in a kustomization file that names an existing path in the work tree counts
    (`resources`, `components`, `patches[].path`, a generator's `key=file`…), followed through
    the kustomizations it reaches; that needs no list of kustomize's fields and can only err
    towards hashing a file too many.
    """
    root = config.root.resolve()
    top = _work_tree_top(root)
    found: set[Path] = set()
    named: set[Path] = set()
    seen: set[Path] = set()
    queue = [start.resolve()]
    while queue:
        directory = queue.pop()
        if directory in seen:
            continue
        seen.add(directory)
        files = [directory / name for name in _KUSTOMIZATIONS if (directory / name).is_file()]
        if not files:
            continue
        try:
            document = yamlfile.load(files[0], root=config.root).data
        except InputError:
            continue  # kustomize will say what is wrong with it
        for text in _strings(document):
            for token in re.split(r"[\s=]+", text):
                if not token or "://" in token or "\x00" in token:
                    continue
                candidate = directory / token
                named.add(Path(os.path.normpath(candidate)))
                # Most strings name no file: one stat rules them out before resolving.
                if not os.path.lexists(candidate):
                    continue
                target = candidate.resolve()
                named.add(target)
                # The work tree's top or an ancestor would be "everything": never a reference.
                if not target.is_relative_to(top) or directory.is_relative_to(target):
                    continue
                if target.is_file():
                    found.add(target)
                elif target.is_dir() and ".git" not in target.relative_to(top).parts:
                    found.update(p for p in target.rglob("*") if p.is_file())
                    queue.append(target)
    inside = {p for p in named if p.is_relative_to(root)}  # the rest names no file of ours
    # Inside the configuration by its root's own spelling; above it as resolved.
    return {
        config.root / p.relative_to(root) if p.is_relative_to(root) else p for p in found
    }, inside


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
    """`path` from the configuration's root (`../shared/x` above it), the same in every clone."""
    return Path(os.path.relpath(path, config.root)).as_posix().encode()
