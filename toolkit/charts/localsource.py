"""Local chart directories: the version is Chart.yaml's, the digest a content hash of the
directory (so an edit to the chart shows as a change since it was locked)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from toolkit.charts import semver
from toolkit.charts.source import ChartVersion, Requester, check_constraint
from toolkit.infra import paths, runmemo, yamlfile
from toolkit.infra.errors import InputError
from toolkit.infra.paths import refuse_link_out
from toolkit.infra.yamlfile import YamlDocument


def directory_digest(directory: Path, root: Path) -> str:
    """A content hash of a chart directory: each file's relative path and bytes, sorted.
    Symlinks are followed, as helm follows them; one leading outside `root` (the repository)
    is an error, whether or not helm then runs (a cached render does not)."""
    return runmemo.remembered(
        ("chart digest", directory), lambda: _directory_digest(directory, root)
    )


def directory_reads(directory: Path, root: Path) -> tuple[Path, ...]:
    """What reading a chart directory reads: the directory, and where its symlinks lead."""
    return (directory, *_chart_tree(directory, root).links)


@dataclass(frozen=True)
class _ChartTree:
    files: tuple[tuple[str, Path], ...]  # (path relative to the chart, the file)
    links: tuple[Path, ...]  # where the symlinks inside lead


def _chart_tree(directory: Path, root: Path) -> _ChartTree:
    return runmemo.remembered(("chart tree", directory), lambda: _walk_chart(directory, root))


def chart_files(directory: Path, root: Path) -> tuple[tuple[str, ...], tuple[Path, ...]]:
    """(each file of a chart directory, relative to it; where its symlinks lead)."""
    tree = _chart_tree(directory, root)
    return tuple(name for name, _path in tree.files), tree.links


def _walk_chart(directory: Path, root: Path) -> _ChartTree:
    files: list[tuple[str, Path]] = []
    links: list[Path] = []
    seen = {directory.resolve()}
    inside = [root.resolve()]
    for top, dirs, names in os.walk(directory, followlinks=True):
        here = Path(top)
        for name in list(dirs):
            refuse_link_out(here / name, inside, root=root, reader="helm")
            target = (here / name).resolve()
            if (here / name).is_symlink():
                links.append(target)
            if target in seen:  # a link back up would loop
                dirs.remove(name)
            seen.add(target)
        for name in names:
            path = here / name
            refuse_link_out(path, inside, root=root, reader="helm")
            if path.is_symlink():
                links.append(path.resolve())
            if path.is_file():
                files.append((path.relative_to(directory).as_posix(), path))
    # Sorted as paths (by component), the order chart digests in existing locks were made in.
    files.sort(key=lambda file: file[1])
    return _ChartTree(tuple(files), tuple(sorted(set(links))))


def _directory_digest(directory: Path, root: Path) -> str:
    digest = hashlib.sha256()
    for relative, path in _chart_tree(directory, root).files:
        digest.update(relative.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return f"sha256:{digest.hexdigest()}"


def chart_metadata(directory: Path, root: Path) -> YamlDocument:
    """A local chart's Chart.yaml, read once a run; it must name the chart and its version."""
    return runmemo.remembered(
        ("chart metadata", directory), lambda: _read_metadata(directory, root)
    )


def exported_trees() -> Path:
    """Where locked git trees of local charts are exported (see localtrees.py)."""
    return paths.cache_dir() / "charts" / "trees"


def shown_name(path: Path, root: Path) -> str:
    """A chart's file as messages name it: relative to the repository, or in an exported git
    tree as git names it (`<tree>:Chart.yaml`), never by the cache's place on this machine."""
    trees = exported_trees()
    if path.is_relative_to(trees):
        tree, *inside = path.relative_to(trees).parts
        return f"{tree}:{'/'.join(inside)}"
    return yamlfile.relative_name(path, root)


def _read_metadata(directory: Path, root: Path) -> YamlDocument:
    path = directory / "Chart.yaml"
    metadata = yamlfile.load(path, root=root, last_key_wins=True, name=shown_name(path, root))
    data = metadata.data if isinstance(metadata.data, dict) else {}
    if not isinstance(data.get("name"), str) or not isinstance(data.get("version"), str):
        raise InputError(f"{metadata.where()}: a chart needs `name` and `version` strings")
    return metadata


def chart_identity(directory: Path, root: Path) -> tuple[str, str]:
    """A local chart's name and version from its Chart.yaml."""
    data = chart_metadata(directory, root).data
    return data["name"], data["version"]


@dataclass(frozen=True)
class LocalSource:
    """A chart directory inside the repository (`root`)."""

    directory: Path
    root: Path
    repository = None

    def chart_name(self) -> str:
        return chart_identity(self.directory, self.root)[0]

    def resolve(self, constraint: str | None, requester: Requester) -> ChartVersion:
        """The directory as it is: its Chart.yaml version must satisfy the constraint."""
        check_constraint(constraint, requester.what)
        digest = directory_digest(self.directory, self.root)  # first: it refuses links out
        name, version = chart_identity(self.directory, self.root)
        if constraint and not semver.satisfies(constraint, version):
            raise InputError(
                f"{requester.what}: local chart {name} is version {version}, which does not "
                f"satisfy {constraint!r}: change the constraint or the chart's version"
            )
        return ChartVersion(name, version, digest, self.directory, None)

    def present(self, constraint: str | None, requester: Requester) -> ChartVersion:
        return self.resolve(constraint, requester)

    def fetch(self, version: str, digest: str, requester: Requester) -> ChartVersion:
        """A local chart is never fetched: what is there renders (the lock's staleness check
        tells when it changed)."""
        return self.resolve(None, requester)

    def helm_argument(self, version: str) -> str:
        return self.directory.relative_to(self.root).as_posix()
