"""The rendered branch: each environment's tree, its metadata, and the commit that moves it."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jinja2

from toolkit import git, history, message, push, tags
from toolkit.config import CONFIG_FILE, Config
from toolkit.errors import GitError, InputError
from toolkit.pipeline import EnvironmentPlan, EnvironmentRender

METADATA = history.METADATA_FILE
README = "README.md"


@dataclass(frozen=True)
class Source:
    """The source commit a render came from."""

    sha: str
    subject: str
    repo_url: str


@dataclass(frozen=True)
class EnvironmentChange:
    """What one hydrate did to one environment directory."""

    environment: str
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    skipped: str | None = None  # why it was left alone: the branch holds a newer render

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.removed)


@dataclass(frozen=True)
class HydrateResult:
    """One branch after a hydrate: the commit made (None when nothing changed) and the changes."""

    branch: str
    commit: str | None
    changes: tuple[EnvironmentChange, ...]
    tags: tuple[str, ...] = ()
    pushed: bool = False
    left_behind: tuple[str, ...] = ()  # local refs not moved to what was pushed (they diverged)


_CREDENTIALS = re.compile(r"(?<=://)[^/@]+@")


def current_source(repo: Path) -> Source:
    """HEAD of the source repository, with a credential-free remote URL."""
    sha = git.head_sha(repo)
    url = git.remote_url(repo) or ""
    return Source(sha, git.subject(repo, sha), _CREDENTIALS.sub("", url))


def source_or_none(repo: Path) -> Source:
    """The source commit when `repo` is a git repository with commits, else an empty one."""
    try:
        return current_source(repo)
    except GitError:
        return Source("", "not a git commit", "")


def refuse_dirty(repo: Path, *, allow_dirty: bool) -> None:
    """A render of uncommitted files would be attributed to a commit that does not hold them."""
    git.toplevel(repo)
    if allow_dirty:
        return
    dirty = git.changed_paths(repo)
    if dirty:
        listed = "\n".join(f"    {path}" for path in dirty[:20])
        more = f"\n    … and {len(dirty) - 20} more" if len(dirty) > 20 else ""
        raise InputError(
            f"the work tree has uncommitted changes:\n{listed}{more}\n"
            "commit or stash them first, or pass --allow-dirty to hydrate them anyway"
        )


def metadata(render: EnvironmentRender, source: Source) -> dict[str, Any]:
    """hydrator.metadata: Argo CD's source-hydrator fields plus toolkit's own provenance."""
    return {
        "drySha": source.sha,
        "repoURL": source.repo_url,
        "commands": list(render.commands),
        "tools": render.tool_versions,
        "releases": [
            {
                "name": r.release.name,
                "namespace": r.release.namespace,
                "chart": r.chart_name,
                "version": r.version,
                "digest": r.digest,
                **({"repository": r.repository} if r.repository else {}),
            }
            for r in render.releases
        ],
        "inputHash": render.input_hash,
    }


def readme(render: EnvironmentRender, source: Source) -> str:
    """What is deployed, in words, for someone browsing the branch."""
    env = render.name
    lines = [
        f"# {env}",
        "",
        f"Rendered by toolkit from `{source.sha}` ({source.subject}).",
        "Do not edit: the next `toolkit hydrate` rewrites this directory.",
        "",
    ]
    if render.releases:
        lines += [
            "## Helm releases",
            "",
            "| release | namespace | chart | version |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {r.release.name} | {r.release.namespace} | {r.chart_name} | {r.version} |"
            for r in render.releases
        ]
        lines.append("")
    kinds: dict[str, int] = {}
    for resource in render.tree.resources:
        kinds[resource.id.kind] = kinds.get(resource.id.kind, 0) + 1
    lines += [f"## Resources ({len(render.tree.resources)})", "", "| kind | count |", "|---|---|"]
    lines += [f"| {kind} | {count} |" for kind, count in sorted(kinds.items())]
    return "\n".join(lines) + "\n"


def environment_files(render: EnvironmentRender, source: Source) -> dict[str, bytes]:
    """Every file of `<env>/` on the branch, by path relative to the branch root."""
    env = render.name
    files = {f"{env}/{path}": data for path, data in render.tree.files.items()}
    files[f"{env}/{README}"] = readme(render, source).encode()
    document = json.dumps(metadata(render, source), indent=2, sort_keys=True) + "\n"
    files[f"{env}/{METADATA}"] = document.encode()
    return files


def _blob_sha(data: bytes) -> str:
    return hashlib.sha1(
        b"blob %d\0" % len(data) + data
    ).hexdigest()  # git's object name, not a secret


def _without_provenance(files: Mapping[str, str], env: str) -> dict[str, str]:
    """Blob names of an environment, ignoring the files that name the source commit."""
    skip = {f"{env}/{METADATA}", f"{env}/{README}"}
    return {path: sha for path, sha in files.items() if path not in skip}


def _input_hash_of(data: bytes | None) -> str | None:
    """The inputHash a hydrator.metadata records, or None (absent, or not toolkit's)."""
    if data is None:
        return None
    try:
        value = json.loads(data).get("inputHash")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _recorded_input_hashes(
    repo: Path, tip: str | None, envs: Sequence[str]
) -> dict[str, str | None]:
    """Each environment's recorded input hash on the branch, read in one git process."""
    if tip is None:
        return dict.fromkeys(envs)
    blobs = git.read_blobs(repo, tip, [f"{env}/{METADATA}" for env in envs])
    return {env: _input_hash_of(blobs[f"{env}/{METADATA}"]) for env in envs}


def _change(
    repo: Path, tip: str | None, render: EnvironmentRender, files: Mapping[str, bytes]
) -> EnvironmentChange:
    """What writing `files` would change, judged on manifests and the input hash.

    The provenance files name the source commit, which moves on every merge; an environment whose
    manifests and inputs are unchanged is left alone rather than rewritten for that alone.
    """
    env = render.name
    old = {e.path: e.sha for e in git.list_tree(repo, tip, env)} if tip else {}
    new = {path: _blob_sha(data) for path, data in files.items()}
    old, new = _without_provenance(old, env), _without_provenance(new, env)
    changed = sorted(p for p in old.keys() & new.keys() if old[p] != new[p])
    same_files = old.keys() == new.keys() and not changed
    recorded = _recorded_input_hashes(repo, tip, [env])[env]
    if tip and same_files and recorded != render.input_hash:
        changed = [f"{env}/{METADATA}"]
    return EnvironmentChange(
        env,
        added=tuple(sorted(new.keys() - old.keys())),
        changed=tuple(changed),
        removed=tuple(sorted(old.keys() - new.keys())),
    )


@dataclass(frozen=True)
class HydrateOptions:
    """How `hydrate` writes: who signs, whether it pushes (and where), whether it tags."""

    author: git.Identity | None = None
    committer: git.Identity | None = None
    push: bool = False
    remote: str = "origin"
    tag: bool = False
    incremental: bool = True  # an environment whose recorded input hash matches is not rendered


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
    plans: Sequence[EnvironmentPlan],
    remote: str | None,
) -> _Triage:
    repo, source = run.repo, run.source
    old_marks = history.read_marks(repo, notes, tip)
    hashes = _recorded_input_hashes(repo, tip, [p.name for p in plans])
    recorded: dict[str, str | None] = {}
    verdicts: dict[str, EnvironmentChange | None] = {}
    for plan in plans:
        env = plan.name
        seen = old_marks.get(env) or (history.recorded_dry_sha(repo, tip, env) if tip else None)
        recorded[env] = seen
        where = f"environment '{env}' on branch {branch}"
        if seen and history.newer_than(repo, remote, seen, source.sha, where=where):
            reason = f"the branch holds a render of a newer commit, {seen[:12]}"
            verdicts[env] = EnvironmentChange(env, (), (), (), skipped=reason)
        elif run.options.incremental and hashes[env] == plan.input_hash:
            verdicts[env] = EnvironmentChange(env, (), (), ())  # same inputs: same files
        else:
            verdicts[env] = None
    return _Triage(branch, tip, old_marks, recorded, verdicts)


def _plan_branch(run: _Run, triage: _Triage) -> _BranchPlan:
    marks = dict(triage.old_marks)
    files: dict[str, bytes] = {}
    changes = []
    for env, verdict in triage.verdicts.items():
        if verdict is not None and verdict.skipped:
            changes.append(verdict)
            continue
        change = verdict
        if change is None:
            render = run.renders.done[env]
            env_files = environment_files(render, run.source)
            change = _change(run.repo, triage.tip, render, env_files)
            if change.changed_anything:
                files.update(env_files)
        changes.append(change)
        recorded = triage.recorded[env]
        if change.changed_anything:
            marks.pop(env, None)  # the new metadata names this source itself
        elif recorded and recorded != run.source.sha:
            marks[env] = run.source.sha  # files unchanged: remember a newer source saw them
    return _BranchPlan(triage.branch, triage.tip, tuple(changes), files, triage.old_marks, marks)


# --- writing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """Everything one hydrate needs besides the snapshot of where the refs stand."""

    config: Config
    plans_by_branch: Mapping[str, Sequence[EnvironmentPlan]]
    renders: _Renders
    source: Source
    options: HydrateOptions
    template: jinja2.Template
    author: git.Identity
    committer: git.Identity

    @property
    def repo(self) -> Path:
        return self.config.root

    def wanted(self) -> list[str]:
        refs = [f"refs/heads/{branch}" for branch in self.plans_by_branch]
        refs.append(history.NOTES_REF)
        if self.options.tag:
            refs += [tags.tag_pattern(r.name) for rs in self.plans_by_branch.values() for r in rs]
        return refs

    def tips(self) -> list[str]:
        return [*(f"refs/heads/{branch}" for branch in self.plans_by_branch), history.NOTES_REF]


def _plans(run: _Run, snapshot: push.Snapshot, remote: str | None) -> list[_BranchPlan]:
    """Every branch planned against the snapshot; what must render renders in one batch."""
    notes = snapshot.get(history.NOTES_REF)
    triages = [
        _triage(run, branch, snapshot.get(f"refs/heads/{branch}"), notes, plans, remote)
        for branch, plans in run.plans_by_branch.items()
    ]
    run.renders.ensure([env for t in triages for env, v in t.verdicts.items() if v is None])
    return [_plan_branch(run, triage) for triage in triages]


def _commit(run: _Run, plan: _BranchPlan) -> str:
    scratch = f"refs/toolkit/hydrate-{os.getpid()}"
    try:
        return git.write_commit(
            run.repo,
            ref=scratch,
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
    finally:
        git.delete_ref(run.repo, scratch)


def _note_updates(
    run: _Run, snapshot: push.Snapshot, new_tips: Mapping[str, tuple[_BranchPlan, str | None]]
) -> list[push.RefUpdate]:
    notes: dict[str, bytes] = {}
    for plan, commit in new_tips.values():
        if commit is not None and plan.marks:
            notes[commit] = history.notes_blob(plan.marks)
        elif commit is None and plan.tip is not None and plan.marks != plan.old_marks:
            notes[plan.tip] = history.notes_blob(plan.marks)
    if not notes:
        return []
    old = snapshot.get(history.NOTES_REF)
    scratch = f"refs/toolkit/notes-{os.getpid()}"
    try:
        commit = git.write_notes(
            run.repo,
            ref=scratch,
            parent=old,
            committer=run.committer,
            message=f"toolkit: sources seen by hydrate of {run.source.sha[:12]}\n",
            notes=notes,
        )
    finally:
        git.delete_ref(run.repo, scratch)
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


def _by_branch(
    config: Config, plans: Sequence[EnvironmentPlan]
) -> dict[str, list[EnvironmentPlan]]:
    by_branch: dict[str, list[EnvironmentPlan]] = {}
    for plan in plans:
        by_branch.setdefault(config.branch_for(plan.name), []).append(plan)
    return by_branch


def _fetch_remote(repo: Path, preferred: str) -> str | None:
    """The remote to fetch missing source commits from: the one named, if it exists."""
    return preferred if git.remote_url(repo, preferred) is not None else None


def hydrate(
    config: Config,
    plans: Sequence[EnvironmentPlan],
    renderer: Renderer,
    source: Source,
    options: HydrateOptions = HydrateOptions(),
    *,
    notify: Callable[[str], None] = lambda message: None,
) -> list[HydrateResult]:
    """Commit every environment's render to its rendered branch, and push it when asked.

    Environments are rendered through `renderer` only where the branch does not already hold
    a render of the same inputs (or of a newer source commit). With `push`, each attempt starts
    from the remote's refs; a push that loses a race with another run is rebuilt on the new tip
    (replacing only this run's environments) and retried.
    """
    run = _Run(
        config,
        _by_branch(config, plans),
        _Renders(renderer),
        source,
        options,
        message.message_template(config),
        options.author or git.identity(config.root, "author"),
        options.committer or git.identity(config.root, "committer"),
    )
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
    push.apply_locally(config.root, build(push.local_snapshot(config.root, run.wanted())))
    return outcome[0]


def check(
    config: Config,
    plans: Sequence[EnvironmentPlan],
    renderer: Renderer,
    source: Source,
    *,
    remote: str | None = None,
) -> list[EnvironmentChange]:
    """What hydrate would change, per environment, writing nothing (no objects, no refs).

    An environment the branch holds from a newer commit is not stale: hydrate would skip it.
    """
    run = _Run(
        config,
        _by_branch(config, plans),
        _Renders(renderer),
        source,
        HydrateOptions(),
        message.message_template(config),
        git.Identity(git.DEFAULT_NAME, git.DEFAULT_EMAIL),
        git.Identity(git.DEFAULT_NAME, git.DEFAULT_EMAIL),
    )
    if remote is not None:
        snapshot = push.remote_snapshot(config.root, remote, run.wanted(), fetch=run.tips())
    else:
        snapshot = push.local_snapshot(config.root, run.wanted())
    fetch_from = remote or _fetch_remote(config.root, "origin")
    return [c for plan in _plans(run, snapshot, fetch_from) for c in plan.changes]


def result_as_dict(result: HydrateResult) -> dict[str, Any]:
    """A hydrate result for `--json`."""
    return {
        "branch": result.branch,
        "commit": result.commit,
        "pushed": result.pushed,
        "tags": list(result.tags),
        "environments": {
            c.environment: {
                "added": c.added,
                "changed": c.changed,
                "removed": c.removed,
                "skipped": c.skipped,
            }
            for c in result.changes
        },
    }


def describe_change(c: EnvironmentChange) -> str:
    if c.skipped:
        return f"{c.environment}: skipped: {c.skipped}"
    if c.changed_anything:
        return (
            f"{c.environment}: {len(c.added)} added, {len(c.changed)} changed, "
            f"{len(c.removed)} removed"
        )
    return f"{c.environment}: unchanged"


def describe_results(results: Sequence[HydrateResult]) -> list[str]:
    """One line per environment and one per branch, for people."""
    lines = []
    for result in results:
        lines += [describe_change(c) for c in result.changes]
        where = " and pushed" if result.pushed else ""
        if result.commit:
            lines.append(f"{result.branch}: committed {result.commit[:12]}{where}")
        else:
            lines.append(f"{result.branch}: nothing to commit")
        lines += [f"tagged {name}" for name in result.tags]
        lines += [
            f"note: local {ref} has commits the remote does not; it was left as it was"
            for ref in result.left_behind
        ]
    return lines
