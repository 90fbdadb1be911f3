"""The rendered branch: which environments a hydrate writes, the commit that moves each branch,
and the push that lands it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.config.project import CONFIG_FILE, Config
from toolkit.hydrate import envdir, history, message, metadata, push, reach, tags
from toolkit.hydrate.envdir import EnvironmentChange, SourceCommit
from toolkit.infra import git
from toolkit.infra.errors import InputError
from toolkit.render.pipeline import EnvironmentRender, Planner

if TYPE_CHECKING:
    import jinja2


@dataclass(frozen=True)
class HydrateResult:
    """One branch after a hydrate: the commit made (None when nothing changed) and the changes."""

    branch: str
    commit: str | None
    changes: tuple[EnvironmentChange, ...]
    tags: tuple[str, ...] = ()
    pushed: bool = False
    left_behind: tuple[str, ...] = ()  # local refs not moved to what was pushed (they diverged)


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


Renderer = Callable[[Collection[str]], Sequence[EnvironmentRender]]


@dataclass
class _Renders:
    """Renders made on demand: an environment renders only once an attempt finds it must, and
    at most once per run however many attempts a contended push takes."""

    renderer: Renderer
    done: dict[str, EnvironmentRender] = field(default_factory=dict)

    def ensure(self, names: Collection[str]) -> None:
        missing = [name for name in names if name not in self.done]
        if missing:
            self.done.update((r.name, r) for r in self.renderer(missing))


@dataclass(frozen=True)
class _BranchPlan:
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
class _Triage:
    """Each environment of a branch sorted before anything renders: skipped, unchanged, or to
    be rendered and compared."""

    branch: str
    tip: str | None
    old_marks: Mapping[str, str]
    recorded: Mapping[str, str | None]  # the source commit each environment was last seen at
    verdicts: Mapping[str, EnvironmentChange | None]  # None: render it


def _triage(
    run: _Run,
    branch: str,
    tip: str | None,
    notes: str | None,
    names: Sequence[str],
    remote: str | None,
) -> _Triage:
    repo, source = run.repo, run.source
    old_marks = history.read_marks(repo, notes, tip)
    recorded_before = metadata.read(repo, tip, names)
    recorded: dict[str, str | None] = {}
    verdicts: dict[str, EnvironmentChange | None] = dict.fromkeys(names)
    to_plan = []
    for env in names:
        before = recorded_before[env]
        seen = old_marks.get(env) or (before.dry_sha if before else None)
        recorded[env] = seen
        where = f"environment '{env}' on branch {branch}"
        if seen and history.newer_than(repo, remote, seen, source.sha, where=where):
            reason = f"the branch holds a render of a newer commit, {seen[:12]}"
            verdicts[env] = EnvironmentChange(env, (), (), (), skipped=reason)
        elif run.options.incremental and _inputs_unchanged(run, env, before, remote):
            verdicts[env] = EnvironmentChange(env, (), (), ())  # nothing it reads changed
        else:
            to_plan.append(env)
    for plan in run.planner.plans(to_plan) if run.options.incremental else ():
        before = recorded_before[plan.name]
        same_tools = before is not None and dict(before.tools) == dict(plan.tool_versions)
        if same_tools and before is not None and before.input_hash == plan.input_hash:
            verdicts[plan.name] = EnvironmentChange(plan.name, (), (), ())  # same inputs
        # Other tools with the same inputs render to see: files byte for byte the same are
        # left alone, metadata included (it names the tools that rendered what is there).
    return _Triage(branch, tip, old_marks, recorded, verdicts)


def _inputs_unchanged(
    run: _Run, env: str, before: metadata.Metadata | None, remote: str | None
) -> bool:
    """Whether the branch's render of `env` is current without planning it: no path it reads
    differs from the source commit it was rendered from, and the tools are the same."""
    if before is None or before.dry_sha is None or before.input_environments is None:
        return False
    read = {env, *before.input_environments}
    if not run.changes.reach_only_others(before.dry_sha, read, remote=remote):
        return False
    kinds = set(before.tools) - {"toolkit"}
    if not kinds <= {"helm", "kustomize"} or run.planner.tool_versions(kinds) != before.tools:
        return False
    if "kustomize" in kinds:
        directory = run.config.environment(env).directory
        return run.planner.kustomize_command(directory) in before.commands
    return True


def _plan_branch(run: _Run, triage: _Triage) -> _BranchPlan:
    marks = dict(triage.old_marks)
    files: dict[str, bytes] = {}
    changes = []
    losses = []
    for env, verdict in triage.verdicts.items():
        if verdict is not None and verdict.skipped:
            changes.append(verdict)
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
    return _BranchPlan(
        triage.branch, triage.tip, tuple(changes), files, triage.old_marks, marks, tuple(losses)
    )


def _vouched(run: _Run, render: EnvironmentRender) -> tuple[str, ...] | None:
    """The environments the render read, where a later hydrate may settle it from them (see
    reach.py): not for a render of uncommitted or ignored files it may read."""
    read = render.environments_read
    return read if read is not None and run.changes.may_record({render.name, *read}) else None


# --- writing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """Everything one hydrate needs besides the snapshot of where the refs stand; who signs and
    the message template are looked up only once something is to be committed."""

    config: Config
    names_by_branch: Mapping[str, Sequence[str]]
    planner: Planner
    renders: _Renders
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
    def template(self) -> jinja2.Template:
        """The commit message template, compiled on first use: before anything renders, or
        never when nothing does."""
        return message.message_template(self.config)

    def wanted(self) -> list[str]:
        refs = [f"refs/heads/{branch}" for branch in self.names_by_branch]
        refs.append(history.NOTES_REF)
        if self.options.tag:
            refs += [tags.tag_pattern(n) for ns in self.names_by_branch.values() for n in ns]
        return refs

    def tips(self) -> list[str]:
        return [*(f"refs/heads/{branch}" for branch in self.names_by_branch), history.NOTES_REF]


def _plans(run: _Run, snapshot: push.Snapshot, remote: str | None) -> list[_BranchPlan]:
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


def _refuse_losses(run: _Run, plans: Sequence[_BranchPlan]) -> None:
    """Nothing is written when a plan would lose a whole environment, release or Kustomize
    output that nobody removed (see envdir.losses), unless --allow-prune says to."""
    found = [f"from branch {p.branch}: {'; '.join(p.losses)}" for p in plans if p.losses]
    if found and not run.options.allow_prune:
        raise InputError(
            f"hydrate would remove {'; '.join(found)}. Nothing was written: restore what is "
            "missing, or pass --allow-prune to remove it from the rendered branch"
        )


def _commit(run: _Run, plan: _BranchPlan) -> str:
    return git.write_commit(
        run.repo,
        parent=plan.tip,
        message=message.commit_message(
            run.template,
            run.source,
            plan.branch,
            plan.changes,
            where=str(run.config.rendered_message_location or CONFIG_FILE),
        ),
        author=run.author,
        committer=run.committer,
        delete=[c.environment for c in plan.written],
        files=plan.files,
    )


def _note_updates(
    run: _Run, snapshot: push.Snapshot, new_tips: Mapping[str, tuple[_BranchPlan, str | None]]
) -> list[push.RefUpdate]:
    """The notes ref's move: the watermarks noted on each branch's new tip (or on its tip, when
    only they changed).

    The notes ref moves whenever a branch does, with a new note or without: a watermark goes
    on the tip it was judged against, and another run that moved that branch meanwhile moved
    the notes ref too, so the compare-and-swap on it fails and this run starts over (and in the
    other order, that run's push fails on the note this one landed). Otherwise a note could land
    on a tip that is no longer the branch's, and be lost."""
    notes: dict[str, bytes] = {}
    moved = False
    for plan, commit in new_tips.values():
        moved = moved or commit is not None
        if commit is not None and plan.marks:
            notes[commit] = history.notes_blob(plan.marks)
        elif commit is None and plan.tip is not None and plan.marks != plan.old_marks:
            notes[plan.tip] = history.notes_blob(plan.marks)
    if not notes and not moved:
        return []
    old = snapshot.get(history.NOTES_REF)
    commit = git.write_notes(
        run.repo,
        parent=old,
        committer=run.committer,
        message=f"toolkit: sources seen by hydrate of {run.source.sha[:12]}\n",
        notes=notes,
    )
    return [push.RefUpdate(history.NOTES_REF, commit, old)]


def _tag_updates(
    run: _Run, snapshot: push.Snapshot, plans: Sequence[_BranchPlan]
) -> tuple[list[push.RefUpdate], list[str]]:
    updates, names = [], []
    renders = run.renders.done
    for plan in plans:
        for change in plan.written:
            env = change.environment
            prefix = f"{tags.TAGS_PREFIX}{env}/"
            existing = [*snapshot.names(prefix), *git.ref_names(run.repo, prefix)]
            name = tags.next_tag(env, existing)
            message = tags.tag_message(renders[env], run.source.sha, run.source.subject)
            tag = git.make_tag(
                run.repo, name=name, target=run.source.sha, tagger=run.committer, message=message
            )
            updates.append(push.RefUpdate(f"{tags.TAGS_PREFIX}{name}", tag, None))
            names.append(name)
    return updates, names


def _attempt(
    run: _Run, snapshot: push.Snapshot, remote: str | None
) -> tuple[list[HydrateResult], list[push.RefUpdate]]:
    """One try: plan every branch against the snapshot and write the objects it needs."""
    plans = _plans(run, snapshot, remote)
    updates: list[push.RefUpdate] = []
    new_tips: dict[str, tuple[_BranchPlan, str | None]] = {}
    for plan in plans:
        commit = _commit(run, plan) if plan.written else None
        if commit is not None:
            updates.append(push.RefUpdate(f"refs/heads/{plan.branch}", commit, plan.tip))
        new_tips[plan.branch] = (plan, commit)
    updates += _note_updates(run, snapshot, new_tips)
    tag_names: list[str] = []
    if run.options.tag:
        tag_updates, tag_names = _tag_updates(run, snapshot, plans)
        updates += tag_updates
    results = [
        HydrateResult(
            plan.branch,
            new_tips[plan.branch][1],
            plan.changes,
            tags=tuple(
                n for n in tag_names if n.split("/")[0] in {c.environment for c in plan.written}
            ),
        )
        for plan in plans
    ]
    return results, updates


def _by_branch(config: Config, names: Sequence[str]) -> dict[str, list[str]]:
    by_branch: dict[str, list[str]] = {}
    for name in names:
        by_branch.setdefault(config.branch_for(name), []).append(name)
    return by_branch


def _new_run(
    config: Config,
    planner: Planner,
    renderer: Renderer,
    source: SourceCommit,
    work_tree: git.WorkTreeStatus,
    options: HydrateOptions,
) -> _Run:
    return _Run(
        config,
        _by_branch(config, planner.names),
        planner,
        _Renders(renderer),
        reach.SourceChanges(config, source.sha, work_tree),
        source,
        options,
    )


def _fetch_remote(repo: Path, preferred: str) -> str | None:
    """The remote to fetch missing source commits from: the one named, if it exists."""
    return preferred if git.remote_url(repo, preferred) is not None else None


def hydrate(
    config: Config,
    planner: Planner,
    renderer: Renderer,
    source: SourceCommit,
    work_tree: git.WorkTreeStatus,
    options: HydrateOptions = HydrateOptions(),
    *,
    notify: Callable[[str], None] = lambda message: None,
) -> list[HydrateResult]:
    """Commit every environment's render to its rendered branch, and push it when asked.

    Environments are planned through `planner` only where a path they may read changed since
    the branch's render, and rendered through `renderer` only where the branch does not already
    hold a render of the same inputs (or of a newer source commit). With `push`, each attempt
    starts from the remote's refs; a push that loses a race with another run is rebuilt on the
    new tip (replacing only this run's environments) and retried.
    """
    git.remove_abandoned(config.root)  # what killed runs left: scratch repositories, worktrees
    run = _new_run(config, planner, renderer, source, work_tree, options)
    outcome: list[list[HydrateResult]] = [[]]
    remote = _fetch_remote(config.root, options.remote)

    def build(snapshot: push.Snapshot) -> list[push.RefUpdate]:
        outcome[0], updates = _attempt(run, snapshot, remote)
        return updates

    if options.push:
        landed = push.push_with_retry(
            config.root, options.remote, run.wanted(), run.tips(), build, notify=notify
        )
        left = push.follow_locally(config.root, landed)
        return [replace(r, pushed=True, left_behind=tuple(left)) for r in outcome[0]]
    snapshot = push.local_snapshot(config.root, run.wanted(), tips=run.tips())
    push.apply_locally(config.root, build(snapshot))
    return outcome[0]


def check(
    config: Config,
    planner: Planner,
    renderer: Renderer,
    source: SourceCommit,
    work_tree: git.WorkTreeStatus,
    *,
    remote: str | None = None,
    incremental: bool = True,
    allow_prune: bool = False,
) -> list[EnvironmentChange]:
    """What hydrate would change, per environment, writing nothing (no objects, no refs).

    An environment the branch holds from a newer commit is not stale: hydrate would skip it.
    Without `incremental`, every environment is rendered and compared.
    """
    nobody = git.Identity(git.DEFAULT_NAME, git.DEFAULT_EMAIL)
    options = HydrateOptions(
        author=nobody, committer=nobody, incremental=incremental, allow_prune=allow_prune
    )
    run = _new_run(config, planner, renderer, source, work_tree, options)
    if remote is not None:
        snapshot = push.remote_snapshot(config.root, remote, run.wanted(), fetch=run.tips())
    else:
        snapshot = push.local_snapshot(config.root, run.wanted(), tips=run.tips())
    fetch_from = remote or _fetch_remote(config.root, "origin")
    return [c for plan in _plans(run, snapshot, fetch_from) for c in plan.changes]
