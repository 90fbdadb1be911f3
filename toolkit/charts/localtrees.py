"""Local charts versioned by git: a local chart's lock entry records the git tree of its
directory when it was locked, and the environment renders that tree, exported from git into the
cache, until it is locked again or promoted; so a first-party chart moves from one environment
to the next as a repository chart does."""

from __future__ import annotations

from pathlib import Path

from toolkit.charts import chartsource, localsource, semver
from toolkit.charts.source import check_constraint
from toolkit.config.project import Config, Environment
from toolkit.config.releases import LocalChart, Release
from toolkit.infra import git, paths
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


def tree_directory(config: Config, tree: str) -> Path | None:
    """The cache's export of a locked chart tree, exported from the repository's git when it is
    not there yet; None when neither has it."""
    directory = paths.cache_dir() / "charts" / "trees" / tree
    if directory.is_dir():
        return directory
    try:
        return directory if git.export_tree(config.root, tree, directory) else None
    except GitError:  # not a git repository (a dry run's copy): only the cache can answer
        return None


def _is_shallow(root: Path) -> bool:
    try:
        return git.is_shallow(root)
    except GitError:
        return False


def resolve_tree(
    config: Config, release: Release, chart: LocalChart, tree: str, *, shown: str
) -> chartsource.ResolvedRelease:
    """A local chart as the git ``tree`` its lock entry (in ``shown``) pins, exported once into
    the cache: what the environment renders until it is locked again or promoted."""
    check_constraint(release.version, chartsource.requester_of(release).what)
    directory = tree_directory(config, tree)
    relative = chart.path.relative_to(config.root).as_posix()
    if directory is None:
        fix = (
            "this clone is shallow: fetch the history it was committed in (git fetch --unshallow)"
            if _is_shallow(config.root)
            else f"commit and push {relative}/ as it was locked, or lock again"
        )
        raise InputError(
            f"{shown}: release {release.name}: the lock pins {relative}/ at git tree {tree}, "
            f"which this clone does not have: {fix}"
        )
    name, version = localsource.chart_identity(directory, config.root)
    if release.version and not semver.satisfies(release.version, version):
        raise InputError(
            f"{shown}: release {release.name}: the locked tree of {relative}/ is version "
            f"{version}, which does not satisfy {release.version!r}: lock again"
        )
    digest = localsource.directory_digest(directory, directory)
    # Named as what was exported: the chart's path and its tree, never the cache's path.
    argument = f"{relative} (git tree {tree})"
    return chartsource.ResolvedRelease(
        release, name, version, digest, directory, None, argument, tree=tree
    )


def behind_warning(
    config: Config, env: Environment, release: Release, version: str, digest: str
) -> str | None:
    """What to say when ``release``'s local chart, locked in ``env`` at ``version`` (content
    ``digest``) and rendered from its tree, has moved on in the work tree; None when not."""
    chart = release.chart
    if not isinstance(chart, LocalChart):
        return None
    if localsource.directory_digest(chart.path, config.root) == digest:
        return None
    now = localsource.chart_identity(chart.path, config.root)[1]
    shown = chart.path.relative_to(config.root).as_posix()
    return (
        f"release {release.name}: {shown}/ changed in the work tree since it was locked "
        f"({version} locked, {now} now), not locked in {env.name}: {env.name} renders the "
        f"locked git tree until `toolkit lock {env.name}` or a promotion moves it"
    )
