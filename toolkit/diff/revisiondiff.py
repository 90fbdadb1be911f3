"""`toolkit diff`'s two revisions: each side taken from the rendered branch where it holds
that side's render current and rendered where not (sides.py), then every environment compared
(comparison.py) and, where it changed, validated, one environment at a time."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.config.project import CONFIG_FILE, Config, load_config
from toolkit.diff import noise, revisions, sides, versions
from toolkit.diff.comparison import DiffReport, EnvironmentDiff, compare_environment
from toolkit.infra import git
from toolkit.manifests import layout
from toolkit.manifests.model import Resource
from toolkit.render.pipeline import Planner
from toolkit.render.settings import RenderSettings

if TYPE_CHECKING:
    from toolkit.validate.check import EnvironmentReport


def diff_revisions(
    root: Path,
    environments: Sequence[str],
    *,
    base: str | None,
    head: str | None,
    settings: RenderSettings,
    show_secrets: bool = False,
    fold: Sequence[str] = noise.DEFAULT_FOLDING,
) -> DiffReport:
    """Render (or read) both revisions and compare every environment the head defines.

    The head's toolkit.yaml decides the environments, the rendered branch and the `diff.ignore`
    rules: the change under review is judged by the rules it brings. Each side takes from the
    rendered branch what it holds current (sides.py) and renders the rest; environments are
    compared one at a time, and only those that changed are validated.
    """
    repo = git.toplevel(root)
    git.remove_abandoned(repo)  # the worktrees of killed diffs, before making new ones
    root = root.resolve()
    config_path = (root.relative_to(repo) / CONFIG_FILE).as_posix()
    base_sha = revisions.resolve_base(repo, base, config_path)
    head_sha = revisions.resolve_head(repo, head)
    work_commit, status = revisions.work_tree_commit(repo)
    # A work tree without uncommitted changes is its commit (CI's checkout): named so.
    on, uncommitted = (head_sha, False) if head_sha else (work_commit, bool(status.changed))
    head_commit = on if not uncommitted else None
    prefix = git.show_prefix(root)
    # `--head` naming the work tree's own commit, with nothing else in the configuration: it
    # is read in place rather than checked out again.
    head_in_place = (
        head_sha is not None
        and head_sha == work_commit
        and not status.changed
        and not any(path.startswith(prefix) for path in status.ignored)
    )
    with contextlib.ExitStack() as stack:
        head_side = revisions.Side("head", repo, root, head_sha, stack, checked_out=head_in_place)
        base_side = revisions.Side("base", repo, root, base_sha, stack)
        head_config = head_side.config() if head_sha else load_config(root)
        names = [env.name for env in head_config.select(environments)]
        branches = sides.read_branches(repo, head_config, names)
        tools = Planner(head_config, (), settings)
        same_config = git.read_blob(repo, base_sha, config_path) == head_config.path.read_bytes()
        base_changes = sides.source_changes(base_side, head_config, None) if same_config else None
        head_changes = sides.source_changes(head_side, head_config, status)
        base_sides = sides.gather(base_side, None, branches, base_changes, tools, names, settings)
        head_sides = sides.gather(
            head_side, head_config, branches, head_changes, tools, names, settings
        )
        # Inside the block: CRD files are read from the head's work tree while it exists.
        compared, validation = _compare_environments(
            head_config, names, branches, base_sides, head_sides, show_secrets, fold
        )
    return DiffReport(
        base=base_sha,
        head=head_commit,
        environments=tuple(compared),
        validation=validation,
        folding=tuple(fold),
        base_subject=git.subject(repo, base_sha),
        head_subject=git.subject(repo, head_commit) if head_commit else "",
        work_tree_on=on if uncommitted else None,
    )


def _compare_environments(
    config: Config,
    names: Sequence[str],
    branches: sides.Branches,
    base: sides.Gathered,
    head: sides.Gathered,
    show_secrets: bool,
    fold: Sequence[str],
) -> tuple[list[EnvironmentDiff], tuple[EnvironmentReport, ...]]:
    """Each environment compared, and validated where it changed, one at a time: what is let
    go of after each is the larger part of both sides."""
    compared = []
    validation = []
    checker = HeadChecker(config)
    for name in names:
        base_from, head_from = base.origin[name], head.origin[name]
        if base_from == head_from == revisions.FROM_BRANCH:  # one render, on both sides
            compared.append(EnvironmentDiff(name, (), base_from, head_from))
            continue
        base_resources, base_charts = base.take(name, branches, config)
        head_resources, head_charts = head.take(name, branches, config)
        found = compare_environment(
            name, base_resources, head_resources, config.diff_ignore, show_secrets, fold
        )
        compared.append(
            replace(
                found,
                base_from=base_from,
                head_from=head_from,
                charts=versions.chart_changes(base_charts, head_charts),
            )
        )
        if head_resources and _differ(base_resources, head_resources):
            validation.append(checker.check(name, head_resources))
    return compared, tuple(validation)


def _differ(base: Sequence[Resource], head: Sequence[Resource]) -> bool:
    return {r.id: r.data for r in base} != {r.id: r.data for r in head}


class HeadChecker:
    """The head's environments validated one at a time, as `toolkit validate` would report
    them (the schemas and `validate.crds` loaded on the first)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._kube = {env.name: env.kube_version for env in config.environments}
        self._crds: list[Mapping[str, Any]] | None = None

    def check(self, name: str, resources: Sequence[Resource]) -> EnvironmentReport:
        from toolkit.validate import check  # the schemas load only here

        if self._crds is None:
            self._crds = check.extra_crds(self.config)
        return check.check_tree(
            layout.layout(name, resources),
            kube_version=self._kube[name],
            settings=self.config.validate,
            extra_crds=self._crds,
        )
