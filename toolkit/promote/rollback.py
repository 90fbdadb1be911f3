"""Rollback: ENV's source files made what they were at a tag or commit, as a new forward commit.

A rollback is a promotion from ENV at REF into ENV: SRC is read from git the same way
(`--ref`), the plan reports the same things (each release's locked version, each image's
fields, each file, from -> to) and is applied, dry-run and committed by the same code. Where a
promotion moves chosen fields, a rollback copies every file of ENV's directory as it was at REF
(files added since are deleted), so that the render is REF's render again byte for byte.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from toolkit.charts.lockfile import Lock, dependency_changes, parse_lock, read_lock
from toolkit.config.project import Config, Environment
from toolkit.config.releases import LOCK_FILE
from toolkit.infra import git, yamlfile
from toolkit.promote.changes import (
    FieldChange,
    ImagePromotion,
    PromotionStatus,
    ReleasePromotion,
)
from toolkit.promote.images import IMAGE_FIELDS, source_images, work_tree_images
from toolkit.promote.planning import Plan, refuse_dirty
from toolkit.promote.sourcefiles import SourceEnvironment, copy_files, open_source
from toolkit.promote.writer import change_lines

TRAILER = "Toolkit-Rolled-Back"
_LISTED_COMMITS = 20


def plan_rollback(config: Config, name: str, ref: str, *, allow_dirty: bool = False) -> Plan:
    """Work out the rollback of environment ``name`` to ``ref``; write nothing."""
    env = config.environment(name)
    source = open_source(config, env, ref, option="--to")
    refuse_dirty(config, env, allow_dirty=allow_dirty)
    writes: dict[Path, bytes | None] = {}
    modes: dict[Path, int] = {}
    files = copy_files(source, env, writes, modes, wanted=lambda _: True)
    return Plan(
        source,
        env,
        _releases(config, source, env),
        _images(config, source, env),
        files,
        files_skipped=False,
        writes=MappingProxyType(writes),
        modes=MappingProxyType(modes),
    )


def _source_lock(source: SourceEnvironment) -> Lock:
    raw = source.read(LOCK_FILE)
    if raw is None:
        return Lock()
    name = source.display(LOCK_FILE)
    yamlfile.load_text(raw, name=name)  # size, UTF-8 and alias checks first
    return parse_lock(raw.decode("utf-8"), name=name)


def _releases(
    config: Config, source: SourceEnvironment, env: Environment
) -> tuple[ReleasePromotion, ...]:
    """Each release's locked version now -> at REF (what the restored lock pins)."""
    then = _source_lock(source)
    now = read_lock(env.directory, root=config.root) or Lock()
    results = []
    for release in sorted({e.release for e in (*then.entries, *now.entries)}):
        before, after = now.get(release), then.get(release)
        moved = (
            dependency_changes(before.dependencies, after.dependencies) if before and after else ""
        )
        same = (
            before is not None
            and after is not None
            and (before.version, before.digest) == (after.version, after.digest)
            and not moved
        )
        results.append(
            ReleasePromotion(
                release,
                PromotionStatus.UNCHANGED if same else PromotionStatus.PROMOTED,
                before.version if before else None,
                after.version if after else None,
                dependencies=moved,
            )
        )
    return tuple(results)


def _images(
    config: Config, source: SourceEnvironment, env: Environment
) -> tuple[ImagePromotion, ...]:
    """Each image's fields in the kustomization now -> at REF."""
    then, now = source_images(source), work_tree_images(config, env)
    results = []
    for name in sorted(then.keys() | now.keys()):
        before, after = now.get(name, {}), then.get(name, {})
        changes = tuple(
            FieldChange(key, before.get(key), after.get(key))
            for key in IMAGE_FIELDS
            if before.get(key) != after.get(key)
        )
        results.append(
            ImagePromotion(
                name, PromotionStatus.PROMOTED if changes else PromotionStatus.UNCHANGED, changes
            )
        )
    return tuple(results)


def describe(plan: Plan) -> list[str]:
    """The plan for people."""
    head = f"rollback {plan.target.name} to {plan.source.ref} ({(plan.source.commit or '')[:12]})"
    if not plan.changes_anything:
        return [head, f"  nothing to roll back: {plan.target.name}'s files are as they were there"]
    changed = [line for line in change_lines(plan) if ": unchanged" not in line]
    return [head, *(f"  {line}" for line in changed)]


def commit_message(plan: Plan) -> str:
    """Names the state restored and, in a trailer, what was rolled back: the source commits
    since REF that changed ENV's directory."""
    env, ref, sha = plan.target.name, plan.source.ref, plan.source.commit or ""
    repo = plan.source.config.root
    head = git.head_sha(repo)
    directory = f"{plan.source.prefix}{plan.source.directory}"
    undone = git.commits_changing(repo, sha, head, directory)
    listed = [f"  {commit[:12]} {subject}" for commit, subject in undone[:_LISTED_COMMITS]]
    if len(undone) > _LISTED_COMMITS:
        listed.append(f"  … and {len(undone) - _LISTED_COMMITS} more")
    lines = [
        f"rollback {env} to {ref}",
        "",
        f"Makes {plan.source.directory}/ what it was at {ref} ({sha[:12]}).",
        *(["", f"Rolls back {len(undone)} commit(s) since then:", *listed] if undone else []),
        "",
        *(f"- {line}" for line in change_lines(plan) if ": unchanged" not in line),
        "",
        f"{TRAILER}: {env} {head} -> {ref} {sha}",
    ]
    return "\n".join(lines) + "\n"
