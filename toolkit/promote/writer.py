"""Applying a promotion plan: writing DST's files, committing and tagging, and reporting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from toolkit.config.project import Config
from toolkit.hydrate import tags
from toolkit.infra import atomicfiles, git
from toolkit.infra.errors import GitError, InputError
from toolkit.promote.planning import Plan, PromotionStatus


@dataclass(frozen=True)
class CommitResult:
    commit: str
    branch: str | None
    tag: str | None


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
            pinned = (
                f" (version {release.constraint!r} -> {release.after!r})"
                if release.constraint and release.constraint != release.before
                else ""
            )
            lines.append(
                f"release {release.name}: {release.before or '(none)'} -> {release.after}{pinned}"
            )
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


def check_branch(config: Config, branch: str | None) -> None:
    """Refuse an unusable --branch before anything is written."""
    if branch is None:
        return
    problem = git.branch_name_problem(branch)
    if problem:
        raise InputError(f"--branch '{branch}' is not a valid branch name ({problem})")
    if git.branch_exists(config.root, branch):
        raise InputError(f"--branch '{branch}' exists already: choose a new branch name")


def commit(plan: Plan, *, branch: str | None, tag: bool) -> CommitResult:
    """Commit exactly the plan's files (on a new branch when asked) and tag the result."""
    repo = plan.source.config.root
    if branch is not None:
        git.switch_to_new_branch(repo, branch)
    paths = sorted(path.relative_to(repo).as_posix() for path in plan.writes)
    sha = git.commit_paths(repo, paths, commit_message(plan))
    name = None
    if tag:
        # The same `<env>/<n>` sequence as `hydrate --tag`: both mark a state to promote from.
        env = plan.target.name
        name = tags.next_tag(env, git.ref_names(repo, f"{tags.TAGS_PREFIX}{env}/"))
        tagger = git.identity(repo, "committer")
        tag_object = git.make_tag(
            repo, name=name, target=sha, tagger=tagger, message=commit_message(plan)
        )
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
