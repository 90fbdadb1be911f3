"""What a hydrate is to write: each environment of a branch sorted before anything renders
(skipped, never backwards; unchanged, by watermark or input hash; or rendered and compared), and
the files, watermarks and refusals that come of it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.config.project import Config
from toolkit.hydrate import current, envdir, history, message, push, reach, tags
from toolkit.hydrate.envdir import EnvironmentChange, SourceCommit
from toolkit.infra import git
from toolkit.infra.errors import InputError
from toolkit.render.pipeline import Planner

if TYPE_CHECKING:
    import jinja2

    from toolkit.render.rendering import EnvironmentRender


@dataclass(frozen=True)
class HydrateOptions:
    """How `hydrate` writes: who signs, whether it pushes (and where), whether it tags."""

    author: git.Identity | None = None
    committer: git.Identity | None = None
    push: bool = False
    remote: str = "origin"
    tag: bool = False
    incremental: bool = True  # an environment whose recorded input hash matches is not rendered
    allow_prune: bool = False  # write an environment even where it loses a whole source


# Renders the environments named; one it leaves out (--keep-going) failed to render.
Renderer = Callable[[Collection[str]], Sequence["EnvironmentRender"]]
FAILED = "it failed to render (see the error); the branch keeps its last render"


@dataclass
class Renders:
    """Renders made on demand: an environment renders only once an attempt finds it must, and
    at most once per run however many attempts a contended push takes."""

    renderer: Renderer
    done: dict[str, EnvironmentRender] = field(default_factory=dict)
    # Those the renderer did not return (--keep-going): the branch keeps their last render.
    failed: set[str] = field(default_factory=set)

    def ensure(self, names: Collection[str]) -> None:
        missing = [name for name in names if name not in self.done and name not in self.failed]
        if missing:
            self.done.update((r.name, r) for r in self.renderer(missing))
            self.failed.update(name for name in missing if name not in self.done)


@dataclass(frozen=True)
class BranchPlan:
    """What a run would do to one branch, judged against its tip."""

    branch: str
    tip: str | None
    changes: tuple[EnvironmentChange, ...]
    files: Mapping[str, bytes]
    old_marks: Mapping[str, str]
    marks: Mapping[str, str]
    losses: tuple[str, ...] = ()  # what writing it would lose unasked (envdir.losses)

    @property
    def written(self) -> list[EnvironmentChange]:
        return [c for c in self.changes if c.changed_anything]


@dataclass(frozen=True)
class Triage:
    """Each environment of a branch sorted before anything renders: skipped, unchanged, or to
    be rendered and compared."""

    branch: str
    tip: str | None
    old_marks: Mapping[str, str]
    recorded: Mapping[str, str | None]  # the source commit each environment was last seen at
    verdicts: Mapping[str, EnvironmentChange | None]  # None: render it


def _triage(
    run: Run,
    branch: str,
    tip: str | None,
    notes: str | None,
    names: Sequence[str],
    remote: str | None,
) -> Triage:
    repo, source = run.repo, run.source
    old_marks, recorded_before = history.read_branch(repo, notes, tip, names)
    recorded: dict[str, str | None] = {}
    verdicts: dict[str, EnvironmentChange | None] = dict.fromkeys(names)
    to_plan = []
    # Environments hydrated together share their source commit: ask git once per commit, not
    # once per environment (two processes each, which a fleet of hundreds would feel).
    newer: dict[str, bool] = {}
    for env in names:
        before = recorded_before[env]
        seen = old_marks.get(env) or (before.dry_sha if before else None)
        recorded[env] = seen
        where = f"environment '{env}' on branch {branch}"
        if seen and seen not in newer:
            newer[seen] = history.newer_than(repo, remote, seen, source.sha, where=where)
        if seen and newer[seen]:
            reason = f"the branch holds a render of a newer commit, {seen[:12]}"
            verdicts[env] = EnvironmentChange(env, (), (), (), skipped=reason)
        elif run.options.incremental and current.unchanged_since_render(
            run.changes, run.planner, env, before, remote
        ):
            verdicts[env] = EnvironmentChange(env, (), (), ())  # nothing it reads changed
        else:
            to_plan.append(env)
    for plan in run.planner.plans(to_plan) if run.options.incremental else ():
        if current.same_inputs(recorded_before[plan.name], plan):
            verdicts[plan.name] = EnvironmentChange(plan.name, (), (), ())  # same inputs
        # Other tools with the same inputs render to see: files byte for byte the same are
        # left alone, metadata included (it names the tools that rendered what is there).
    return Triage(branch, tip, old_marks, recorded, verdicts)


def _plan_branch(run: Run, triage: Triage) -> BranchPlan:
    marks = dict(triage.old_marks)
    files: dict[str, bytes] = {}
    changes = []
    losses = []
    for env, verdict in triage.verdicts.items():
        if verdict is not None and verdict.skipped:
            changes.append(verdict)
            continue
        if verdict is None and env in run.renders.failed:
            changes.append(EnvironmentChange(env, (), (), (), skipped=FAILED))
            continue
        change = verdict
        if change is None:
            render = run.renders.done[env]
            env_files = envdir.environment_files(render, run.source, _vouched(run, render))
            change = envdir.change(run.repo, triage.tip, render, env_files)
            if change.changed_anything:
                files.update(env_files)
            loss = envdir.losses(render, change)
            if loss is not None:
                losses.append(loss)
        changes.append(change)
        recorded = triage.recorded[env]
        if change.changed_anything:
            marks.pop(env, None)  # the new metadata names this source itself
        elif recorded and recorded != run.source.sha:
            marks[env] = run.source.sha  # files unchanged: remember a newer source saw them
    return BranchPlan(
        triage.branch, triage.tip, tuple(changes), files, triage.old_marks, marks, tuple(losses)
    )


def _vouched(run: Run, render: EnvironmentRender) -> tuple[str, ...] | None:
    """The environments the render read, where a later hydrate may settle it from them (see
    reach.py): not for a render of uncommitted or ignored files it may read."""
    read = render.environments_read
    return read if read is not None and run.changes.may_record({render.name, *read}) else None


@dataclass(frozen=True)
class Run:
    """Everything one hydrate needs besides the snapshot of where the refs stand; who signs and
    the message template are looked up only once something is to be committed."""

    config: Config
    names_by_branch: Mapping[str, Sequence[str]]
    planner: Planner
    renders: Renders
    changes: reach.SourceChanges
    source: SourceCommit
    options: HydrateOptions

    @property
    def repo(self) -> Path:
        return self.config.root

    @functools.cached_property
    def author(self) -> git.Identity:
        return self.options.author or git.identity(self.repo, "author")

    @functools.cached_property
    def committer(self) -> git.Identity:
        return self.options.committer or git.identity(self.repo, "committer")

    @functools.cached_property
    def template(self) -> jinja2.Template | None:
        """rendered.message compiled on first use (None: the default message): before anything
        renders, or never when nothing does."""
        return message.message_template(self.config)

    def wanted(self) -> list[str]:
        refs = [f"refs/heads/{branch}" for branch in self.names_by_branch]
        refs.append(history.NOTES_REF)
        if self.options.tag:
            refs += [tags.tag_pattern(n) for ns in self.names_by_branch.values() for n in ns]
        return refs

    def tips(self) -> list[str]:
        return [*(f"refs/heads/{branch}" for branch in self.names_by_branch), history.NOTES_REF]


def plan_branches(run: Run, snapshot: push.Snapshot, remote: str | None) -> list[BranchPlan]:
    """Every branch planned against the snapshot; what must render renders in one batch."""
    notes = snapshot.get(history.NOTES_REF)
    triages = [
        _triage(run, branch, snapshot.get(f"refs/heads/{branch}"), notes, names, remote)
        for branch, names in run.names_by_branch.items()
    ]
    to_render = [env for t in triages for env, v in t.verdicts.items() if v is None]
    if to_render:
        _ = run.template  # compiled now: a mistake in rendered.message fails before any render
    run.renders.ensure(to_render)
    plans = [_plan_branch(run, triage) for triage in triages]
    _refuse_losses(run, plans)
    return plans


def _refuse_losses(run: Run, plans: Sequence[BranchPlan]) -> None:
    """Nothing is written when a plan would lose a whole environment, release or Kustomize
    output that nobody removed (see envdir.losses), unless --allow-prune says to."""
    found = [f"from branch {p.branch}: {'; '.join(p.losses)}" for p in plans if p.losses]
    if found and not run.options.allow_prune:
        raise InputError(
            f"hydrate would remove {'; '.join(found)}. Nothing was written: restore what is "
            "missing, or pass --allow-prune to remove it from the rendered branch"
        )
