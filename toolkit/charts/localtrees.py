"""Local charts versioned by git: a local chart's lock entry records the git tree of its
directory when it was locked, and the environment renders that tree, exported from git into the
cache, until it is locked again or promoted; so a first-party chart moves from one environment
to the next as a repository chart does. Its `file://` dependencies are pinned by their own trees
alongside it (they may lie outside its directory), so they move with it."""

from __future__ import annotations

from pathlib import Path

from toolkit.charts import dependencies, localsource, semver
from toolkit.charts.lockfile import LockEntry
from toolkit.charts.source import ChartVersion
from toolkit.config.project import Config, Environment
from toolkit.config.releases import LocalChart, Release
from toolkit.infra import git
from toolkit.infra.errors import GitError, InputError


def locked_tree(config: Config, directory: Path) -> str | None:
    """The git tree a local chart directory is locked at (its work-tree content, committed or
    not); None outside git, or when the tree would not hold what helm reads (symbolic links,
    files git ignores), where the work tree keeps being rendered."""
    try:
        git.toplevel(config.root)
    except GitError:
        return None
    files, links = localsource.chart_files(directory, config.root)
    relative = directory.relative_to(config.root).as_posix()
    tree = git.directory_tree(config.root, relative)
    listed = {entry.path for entry in git.list_tree(config.root, tree)}
    if links or listed != set(files):
        return None
    return tree


def tree_directory(root: Path, tree: str) -> Path | None:
    """The cache's export of a locked chart tree, exported from the git of the repository at
    `root` when it is not there yet; None when neither has it."""
    directory = localsource.exported_trees() / tree
    if directory.is_dir():
        return directory
    try:
        return directory if git.export_tree(root, tree, directory) else None
    except GitError:  # not a git repository (a dry run's copy): only the cache can answer
        return None


def _is_shallow(root: Path) -> bool:
    try:
        return git.is_shallow(root)
    except GitError:
        return False


def exported_chart(
    root: Path, directory: Path, tree: str, *, constraint: str | None, what: str
) -> ChartVersion:
    """The chart in `directory` (inside the repository at `root`) as the git `tree` a lock
    entry pins, exported once into the cache; `what` says who pins it (for messages)."""
    exported = tree_directory(root, tree)
    relative = directory.relative_to(root).as_posix()
    if exported is None:
        fix = (
            "this clone is shallow: fetch the history it was committed in (git fetch --unshallow)"
            if _is_shallow(root)
            else f"commit and push {relative}/ as it was locked, or lock again"
        )
        raise InputError(
            f"{what}: the lock pins {relative}/ at git tree {tree}, which this clone does not "
            f"have: {fix}"
        )
    name, version = localsource.chart_identity(exported, root)
    if constraint and not semver.satisfies(constraint, version):
        raise InputError(
            f"{what}: the locked tree of {relative}/ is version {version}, which does not "
            f"satisfy {constraint!r}: lock again"
        )
    digest = localsource.directory_digest(exported, exported)
    return ChartVersion(name, version, digest, exported, None)


def behind_warnings(
    config: Config, env: Environment, release: Release, entry: LockEntry
) -> tuple[str, ...]:
    """What to say when ``release``'s local chart, or a ``file://`` dependency of it, locked in
    ``env`` as ``entry`` pins and rendered from its tree, has moved on in the work tree."""
    chart = release.chart
    if not isinstance(chart, LocalChart):
        return ()
    until = (
        f"not locked in {env.name}: {env.name} renders the locked git tree until "
        f"`toolkit lock {env.name}` or a promotion moves it"
    )
    notes = []
    moved = _moved(config, chart.path, entry.version, entry.digest)
    if moved:
        notes.append(f"release {release.name}: {moved}, {until}")
    for pin in entry.dependencies:
        where = f"{_shown(config, chart.path)}/Chart.yaml: dependency {pin.key}"
        directory = dependencies.file_directory(
            pin.repository, chart.path, config.root, config.repositories, where=where
        )
        if pin.tree is None or directory is None or not (directory / "Chart.yaml").is_file():
            continue  # gone from the work tree: the chart's own Chart.yaml says so
        moved = _moved(config, directory, pin.version, pin.digest)
        if moved:
            notes.append(f"release {release.name}: dependency {pin.key}: {moved}, {until}")
    return tuple(notes)


def _moved(config: Config, directory: Path, version: str, digest: str) -> str | None:
    if localsource.directory_digest(directory, config.root) == digest:
        return None
    now = localsource.chart_identity(directory, config.root)[1]
    return (
        f"{_shown(config, directory)}/ changed in the work tree since it was locked "
        f"({version} locked, {now} now)"
    )


def _shown(config: Config, directory: Path) -> str:
    return directory.relative_to(config.root).as_posix()
