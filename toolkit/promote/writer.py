"""Applying a promotion plan: writing DST's files, committing and tagging, and reporting."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from toolkit.config.project import Config
from toolkit.hydrate import tags
from toolkit.infra import atomicfiles, git
from toolkit.infra.errors import GitError, InputError
from toolkit.promote import publish
from toolkit.promote.changes import PromotionStatus, ReleasePromotion
from toolkit.promote.planning import Plan


@dataclass(frozen=True)
class CommitResult:
    commit: str  # the commit made; with --push, the one on the remote (rebuilt on a newer tip)
    branch: str | None  # the new branch made with --branch
    tag: str | None
    pushed_to: str | None = None  # "<remote>/<branch>"
    local_commit: str | None = None  # when the remote's tip had moved: the local branch's commit

    def summary(self) -> str:
        where = f" on branch {self.branch}" if self.branch else ""
        tagged = f", tagged {self.tag}" if self.tag else ""
        pushed = f", pushed to {self.pushed_to}" if self.pushed_to else ""
        line = f"committed {self.commit[:12]}{where}{tagged}{pushed}"
        if self.local_commit:
            line += (
                f" (rebuilt on {self.pushed_to}, which had moved; the local branch still has "
                f"{self.local_commit[:12]}: git pull --rebase)"
            )
        return line


@dataclass(frozen=True)
class Publishing:
    """Where and how a commit goes: its author, and the remote it is pushed to (None: kept
    local)."""

    author: git.Identity | None = None
    remote: str | None = None
    branch: str | None = None  # the remote's branch, which `check_branch` works out


LOCAL_ONLY = Publishing()  # git's author, no push


# --- applying and committing ----------------------------------------------------------------


def apply(plan: Plan) -> None:
    """Write every DST file of the plan, or none."""
    root = plan.source.config.root
    with atomicfiles.all_or_nothing(root) as changes:
        for path, data in plan.writes.items():
            if data is None:
                changes.delete(path)
            else:
                changes.write(path, data, mode=plan.modes.get(path))


def change_lines(plan: Plan) -> list[str]:
    """Each change, from -> to; and what was not promoted, with why."""
    lines = []
    for release in plan.releases:
        if release.status == PromotionStatus.PROMOTED:
            moved = f", {release.dependencies}" if release.dependencies else ""
            versions = (
                f"{release.after}"  # the same version with other dependencies
                if moved and release.before == release.after
                else f"{release.before or '(none)'} -> {release.after or '(removed)'}"
            )
            lines.append(f"release {release.name}: {versions}{moved}{_version_note(release)}")
        elif release.status == PromotionStatus.UNCHANGED:
            lines.append(f"release {release.name}: unchanged ({release.after})")
        else:
            lines.append(f"release {release.name}: not promoted: {release.reason}")
    for image in plan.images:
        if image.status == PromotionStatus.PROMOTED:
            fields = ", ".join(
                f"{c.field} {c.before or '(none)'} -> {c.after or '(removed)'}"
                for c in image.changes
            )
            lines.append(f"image {image.name}: {fields}")
        elif image.status == PromotionStatus.UNCHANGED:
            lines.append(f"image {image.name}: unchanged")
        else:
            lines.append(f"image {image.name}: not promoted: {image.reason}")
    lines += [f"file {f.path}: {f.action}" for f in plan.files]
    if plan.files_skipped:
        lines.append("files: promotion.copy skipped (--only)")
    return lines


def _version_note(release: ReleasePromotion) -> str:
    """What happens to DST's `version:`: kept as written (only the lock moves), or why it must
    become the exact version."""
    if release.pinned_because:
        return f" (version {release.constraint!r} -> {release.after!r}: {release.pinned_because})"
    if release.constraint and release.constraint != release.after:
        return f" (version {release.constraint!r} kept: it allows {release.after})"
    return ""


def describe(plan: Plan) -> list[str]:
    """The plan for people."""
    head = f"promote {plan.source.environment.name} -> {plan.target.name}: {plan.source.label}"
    body = [f"  {line}" for line in change_lines(plan)]
    tail = (
        []
        if plan.changes_anything
        else [f"  nothing to promote: {plan.target.name} already runs this"]
    )
    return [head, *body, *tail]


def commit_message(plan: Plan) -> str:
    src, dst = plan.source.environment.name, plan.target.name
    sha = plan.source.commit or ""
    lines = [
        f"promote {src} -> {dst}",
        "",
        f"Promotes {dst} to what {plan.source.label} runs.",
        "",
        *(f"- {line}" for line in change_lines(plan)),
        "",
        f"Toolkit-Promoted-From: {src} {plan.source.ref or 'work-tree'} {sha}".rstrip(),
    ]
    return "\n".join(lines) + "\n"


def check_branch(
    config: Config, branch: str | None, publishing: Publishing = LOCAL_ONLY
) -> Publishing:
    """Refuse an unusable --branch or --push before anything is written; ``publishing`` with
    the branch to push (--branch, else the one checked out)."""
    if branch is not None:
        problem = git.branch_name_problem(branch)
        if problem:
            raise InputError(f"--branch '{branch}' is not a valid branch name ({problem})")
        if git.branch_exists(config.root, branch):
            raise InputError(f"--branch '{branch}' exists already: choose a new branch name")
    if publishing.remote is None:
        return publishing
    pushed = publish.check_push(config.root, publishing.remote, branch)
    return dataclasses.replace(publishing, branch=pushed)


def commit(
    plan: Plan,
    *,
    message: str,
    branch: str | None,
    tag: bool,
    publishing: Publishing = LOCAL_ONLY,
    notify: Callable[[str], None] = lambda message: None,
) -> CommitResult:
    """Commit exactly the plan's files (on a new branch when asked), tag the result
    `promote/<DST>/<n>`, and push both when asked (``publishing`` from `check_branch`)."""
    repo = plan.source.config.root
    push_branch = publishing.branch
    if branch is not None:
        git.switch_to_new_branch(repo, branch)
    base = git.head_sha(repo)
    paths = sorted(path.relative_to(repo).as_posix() for path in plan.writes)
    sha = git.commit_paths(repo, paths, message, author=publishing.author)
    env = plan.target.name
    if publishing.remote is not None and push_branch is not None:
        prefix = git.show_prefix(repo)
        pushed = publish.push_commit(
            repo,
            remote=publishing.remote,
            branch=push_branch,
            base=base,
            commit=sha,
            paths=[f"{prefix}{path}" for path in paths],
            tag_environment=env if tag else None,
            message=message,
            author=publishing.author,
            notify=notify,
        )
        return CommitResult(
            pushed.commit,
            branch,
            pushed.tag,
            pushed_to=f"{publishing.remote}/{push_branch}",
            local_commit=sha if pushed.commit != sha else None,
        )
    name = None
    if tag:
        name = publish.next_tag(repo, env)
        tagger = git.identity(repo, "committer")
        tag_object = git.make_tag(repo, name=name, target=sha, tagger=tagger, message=message)
        if not git.update_ref(repo, f"{tags.TAGS_PREFIX}{name}", tag_object, None):
            raise GitError(f"tag {name} appeared while promoting: tag the commit {sha} by hand")
    return CommitResult(sha, branch, name)


def as_dict(plan: Plan) -> dict[str, Any]:
    """The plan for machines (`--json`)."""
    return {
        "source": plan.source.environment.name,
        "target": plan.target.name,
        "ref": plan.source.ref,
        "sourceCommit": plan.source.commit,
        "releases": [
            {
                "name": r.name,
                "status": r.status,
                "from": r.before,
                "to": r.after,
                "reason": r.reason or None,
                "constraint": r.constraint,
                "pinnedBecause": r.pinned_because or None,
            }
            for r in plan.releases
        ],
        "images": [
            {
                "name": i.name,
                "status": i.status,
                "changes": [{"field": c.field, "from": c.before, "to": c.after} for c in i.changes],
                "reason": i.reason or None,
            }
            for i in plan.images
        ],
        "files": [{"path": f.path, "action": f.action} for f in plan.files],
        "filesSkipped": plan.files_skipped,
        "changesAnything": plan.changes_anything,
    }
