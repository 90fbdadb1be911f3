"""Where each environment of a diff's side comes from: the rendered branch, wherever it holds
that side's render current under hydrate's own rule (hydrate/current.py), and a render of only
the others; the branch's files are read only once a comparison needs them.

The branch's render of an environment is that side's when its hydrator.metadata `drySha` or
its watermark note names the side's commit; or, as hydrate settles it, when no path the
environment reads differs since its `drySha` and the tools are the same; or, once planned, when
its input hash and tools are the ones recorded. So a change to one environment's directory
renders that environment alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from toolkit.config.project import Config
from toolkit.diff import revisions
from toolkit.diff.revisions import FROM_BRANCH, FROM_NOWHERE, FROM_RENDER, BranchRender, Side
from toolkit.hydrate import current, history, reach
from toolkit.hydrate.metadata import Metadata
from toolkit.infra import git
from toolkit.infra.errors import ToolkitError
from toolkit.manifests.model import Resource
from toolkit.render import rendering
from toolkit.render.pipeline import Planner
from toolkit.render.settings import RenderSettings


@dataclass(frozen=True)
class Branches:
    """The rendered branches as one diff reads them, once for both sides: per environment its
    branch's tip, its metadata there and its watermark (the newest source commit a hydrate
    found its files unchanged for)."""

    repo: Path
    tips: Mapping[str, str | None]
    recorded: Mapping[str, Metadata | None]
    marks: Mapping[str, str]

    def read(self, config: Config, environment: str) -> BranchRender:
        """The environment's resources and chart versions as its branch holds them."""
        tip, recorded = self.tips[environment], self.recorded[environment]
        assert tip is not None and recorded is not None, "read only what the branch holds"
        return revisions.read_environment(
            self.repo,
            config.branch_for(environment),
            tip,
            environment,
            recorded,
            config.cluster_scoped_kinds,
        )


def read_branches(repo: Path, config: Config, names: Sequence[str]) -> Branches:
    """Each environment's rendered branch (local, else origin's), one metadata read a branch."""
    by_branch: dict[str, list[str]] = {}
    for name in names:
        by_branch.setdefault(config.branch_for(name), []).append(name)
    notes = git.rev_parse(repo, history.NOTES_REF)
    tips: dict[str, str | None] = {}
    recorded: dict[str, Metadata | None] = {}
    marks: dict[str, str] = {}
    for branch, envs in by_branch.items():
        tip = revisions.branch_tip(repo, branch)
        tips.update(dict.fromkeys(envs, tip))
        noted, recorded_at_tip = history.read_branch(repo, notes, tip, envs)
        recorded.update(recorded_at_tip)
        marks.update((env, noted[env]) for env in envs if env in noted)
    return Branches(repo, tips, recorded, marks)


def source_changes(
    side: Side, config: Config, work_tree: git.WorkTreeStatus | None
) -> reach.SourceChanges | None:
    """What differs on this side from the commits the branch's renders name, where the
    environments' directories are `config`'s (the head's toolkit.yaml, which must then be the
    side's too); None when that cannot be asked (no commit yet)."""
    commit = side.commit if side.commit is not None else git.commit_of(side.repo, "HEAD")
    if commit is None:
        return None
    return reach.SourceChanges(config, commit, work_tree if side.commit is None else None)


class Gathered:
    """One side's environments: where each comes from, and the renders made for it, handed
    over (and let go) one environment at a time."""

    def __init__(
        self, origin: Mapping[str, str], renders: dict[str, rendering.EnvironmentRender]
    ) -> None:
        self.origin = dict(origin)
        self._renders = renders

    def take(
        self, name: str, branches: Branches, config: Config
    ) -> tuple[tuple[Resource, ...], dict[str, str]]:
        """The environment's resources and chart versions (release name -> version)."""
        origin = self.origin[name]
        if origin == FROM_BRANCH:
            found = branches.read(config, name)
            return found.resources, found.charts
        render = self._renders.pop(name, None)
        if render is None:
            return (), {}
        return render.tree.resources, {r.release.name: r.version for r in render.releases}


def gather(
    side: Side,
    config: Config | None,
    branches: Branches,
    changes: reach.SourceChanges | None,
    tools: Planner,
    names: Sequence[str],
    settings: RenderSettings,
    *,
    named: bool = True,
) -> Gathered:
    """Each named environment of this side: from the branch where it holds the side's render
    (`config`: the side's configuration, None to load it only if something renders; `tools`: a
    planner of the head, for the tools at hand), rendered otherwise (absent where the side
    lacks it). The warnings of a side other than the work tree name it, and so do its errors,
    unless not `named`."""
    remote = "origin" if git.remote_url(side.repo, "origin") is not None else None
    origin: dict[str, str] = {}
    todo = []
    for name in names:
        before = branches.recorded[name]
        # The branch names this side's commit (its metadata, or a watermark): its render.
        recorded_at = None if before is None else {before.dry_sha, branches.marks.get(name)}
        holds = side.commit is not None and recorded_at is not None and side.commit in recorded_at
        settled = (
            settings.use_cache
            and changes is not None
            and current.unchanged_since_render(changes, tools, name, before, remote)
        )
        if holds or settled:
            origin[name] = FROM_BRANCH
        else:
            todo.append(name)
    renders: dict[str, rendering.EnvironmentRender] = {}
    if todo:
        config = config or side.config()
        defined = {env.name for env in config.environments}
        if side.commit is not None:
            settings = replace(settings, reporter=settings.reporter.within(side.description))
        planner = Planner(config, [config.environment(n) for n in todo if n in defined], settings)
        try:
            for plan in planner.plans(planner.names):
                if settings.use_cache and current.same_inputs(branches.recorded[plan.name], plan):
                    origin[plan.name] = FROM_BRANCH
            rest = [name for name in planner.names if name not in origin]
            if rest:
                found = rendering.render_plan(
                    planner.run_plan(rest),
                    parallel=settings.jobs,
                    cache=rendering.default_cache(settings),
                    only=rest,
                )
                renders = {render.name: render for render in found}
        except ToolkitError as exc:
            if not named:
                raise
            raise exc.reworded(f"the {side.description} failed to render: {exc}") from exc
        origin.update(dict.fromkeys(renders, FROM_RENDER))
        origin.update((name, FROM_NOWHERE) for name in todo if name not in origin)
    return Gathered(origin, renders)


def of_work_tree(
    config: Config, names: Sequence[str], settings: RenderSettings
) -> tuple[Gathered, Branches]:
    """The work tree's environments as `gather` takes them (`promote --dry-run`'s DST as it
    stands), and the branches to read those the branch holds from."""
    repo = git.toplevel(config.root)
    _, status = revisions.work_tree_commit(repo)
    with contextlib.ExitStack() as stack:
        side = Side("work tree", repo, config.root, None, stack)
        branches = read_branches(repo, config, names)
        changes = source_changes(side, config, status)
        tools = Planner(config, (), settings)
        gathered = gather(side, config, branches, changes, tools, names, settings, named=False)
        return gathered, branches
