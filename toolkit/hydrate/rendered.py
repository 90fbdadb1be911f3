"""The rendered branch: the commit that moves each branch, its notes and tags, and the push that
lands them (what each branch is to hold is branchplan.py's)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from toolkit.config.project import CONFIG_FILE, Config
from toolkit.hydrate import branchplan, history, message, push, reach, tags
from toolkit.hydrate.branchplan import BranchPlan, HydrateOptions, Renderer, Renders, Run
from toolkit.hydrate.envdir import EnvironmentChange, SourceCommit
from toolkit.infra import git
from toolkit.render.pipeline import Planner


@dataclass(frozen=True)
class HydrateResult:
    """One branch after a hydrate: the commit made (None when nothing changed) and the changes."""

    branch: str
    commit: str | None
    changes: tuple[EnvironmentChange, ...]
    tags: tuple[str, ...] = ()
    pushed: bool = False
    left_behind: tuple[str, ...] = ()  # local refs not moved to what was pushed (they diverged)
    # The work done: the environments loaded and hashed (the others were settled from git), and
    # per environment rendered, its helm and kustomize renders and how many the cache answered.
    loaded: frozenset[str] = frozenset()
    renders: Mapping[str, tuple[int, int]] = field(default_factory=dict, hash=False)


def _commit(run: Run, plan: BranchPlan) -> str:
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
    run: Run,
    snapshot: push.Snapshot,
    new_tips: Mapping[str, tuple[BranchPlan, str | None]],
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
    run: Run, snapshot: push.Snapshot, plans: Sequence[BranchPlan]
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
    run: Run, snapshot: push.Snapshot, remote: str | None
) -> tuple[list[HydrateResult], list[push.RefUpdate]]:
    """One try: plan every branch against the snapshot and write the objects it needs."""
    plans = branchplan.plan_branches(run, snapshot, remote)
    updates: list[push.RefUpdate] = []
    new_tips: dict[str, tuple[BranchPlan, str | None]] = {}
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
            loaded=frozenset(run.planner.planned),
            renders={name: (r.renders, r.cached) for name, r in run.renders.done.items()},
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
) -> Run:
    return Run(
        config,
        _by_branch(config, planner.names),
        planner,
        Renders(renderer),
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
    options: HydrateOptions | None = None,
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
    options = options or HydrateOptions()
    git.remove_abandoned(config.root)  # what killed runs left: scratch repositories, worktrees
    run = _new_run(config, planner, renderer, source, work_tree, options)
    outcome: list[list[HydrateResult]] = [[]]
    last: list[push.Snapshot] = []  # the snapshot of the attempt that ended the push
    remote = _fetch_remote(config.root, options.remote)

    def build(snapshot: push.Snapshot) -> list[push.RefUpdate]:
        last[:] = [snapshot]
        outcome[0], updates = _attempt(run, snapshot, remote)
        return updates

    if options.push:
        landed = push.push_with_retry(
            config.root, options.remote, run.wanted(), run.tips(), build, notify=notify
        )
        # The tips nothing was pushed to follow the remote's too: a later --check (or hydrate
        # without --push) in this clone starts where the remote stands, not from nothing.
        moved = {u.ref for u in landed}
        current = [
            push.RefUpdate(ref, sha, None)
            for ref in run.tips()
            if ref not in moved and (sha := last[0].get(ref)) is not None
        ]
        left = push.follow_locally(config.root, [*landed, *current])
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
    fetch_from = remote or _fetch_remote(config.root, "origin")
    if remote is not None:
        snapshot = push.remote_snapshot(config.root, remote, run.wanted(), fetch=run.tips())
    else:
        snapshot = push.local_snapshot(config.root, run.wanted(), tips=run.tips())
        snapshot = push.with_remote_tracking(config.root, snapshot, run.tips(), fetch_from)
    return [c for plan in branchplan.plan_branches(run, snapshot, fetch_from) for c in plan.changes]
