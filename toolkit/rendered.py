"""The rendered branch: each environment's tree, its metadata, and the commit that moves it."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit import git
from toolkit.config import Config
from toolkit.errors import GitError, InputError
from toolkit.pipeline import EnvironmentPlan, EnvironmentRender

METADATA = "hydrator.metadata"
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

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.removed)


@dataclass(frozen=True)
class HydrateResult:
    """One branch after a hydrate: the commit made (None when nothing changed) and the changes."""

    branch: str
    commit: str | None
    changes: tuple[EnvironmentChange, ...]


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


def _recorded_input_hash(repo: Path, tip: str, env: str) -> str | None:
    return _input_hash_of(git.read_blob(repo, tip, f"{env}/{METADATA}"))


def _input_hash_of(metadata: bytes | None) -> str | None:
    if metadata is None:
        return None
    try:
        value = json.loads(metadata).get("inputHash")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def unchanged_environments(config: Config, plans: Sequence[EnvironmentPlan]) -> set[str]:
    """The planned environments whose input hash is the one their rendered branch records.

    Those need neither rendering nor rewriting: everything that can change their directory is in
    the hash. Each branch's metadata is read in one git process.
    """
    by_branch: dict[str, list[EnvironmentPlan]] = {}
    for plan in plans:
        by_branch.setdefault(config.branch_for(plan.name), []).append(plan)
    unchanged = set()
    for branch, branch_plans in by_branch.items():
        tip = git.rev_parse(config.root, f"refs/heads/{branch}")
        if tip is None:
            continue
        recorded = git.read_blobs(config.root, tip, [f"{p.name}/{METADATA}" for p in branch_plans])
        unchanged |= {
            p.name
            for p in branch_plans
            if _input_hash_of(recorded[f"{p.name}/{METADATA}"]) == p.input_hash
        }
    return unchanged


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
    if tip and same_files and _recorded_input_hash(repo, tip, env) != render.input_hash:
        changed = [f"{env}/{METADATA}"]
    return EnvironmentChange(
        env,
        added=tuple(sorted(new.keys() - old.keys())),
        changed=tuple(changed),
        removed=tuple(sorted(old.keys() - new.keys())),
    )


def commit_message(source: Source, changes: Sequence[EnvironmentChange]) -> str:
    """The rendered commit's message: what changed per environment, and the source trailer."""
    envs = ", ".join(c.environment for c in changes)
    lines = [f"hydrate {envs} from {source.sha[:12]}", "", f"Source: {source.subject}", ""]
    for change in changes:
        lines.append(
            f"{change.environment}: {len(change.added)} added, {len(change.changed)} changed, "
            f"{len(change.removed)} removed"
        )
    lines += ["", f"Toolkit-Source: {source.sha}"]
    return "\n".join(lines) + "\n"


def hydrate_branch(
    repo: Path,
    branch: str,
    renders: Sequence[EnvironmentRender | str],
    source: Source,
) -> HydrateResult:
    """Commit the renders to `branch` with git plumbing; no commit when nothing changed.

    An environment given by name alone is one known to be unchanged (see
    `unchanged_environments`): it is reported, and its directory is left as it is.
    """
    ref = f"refs/heads/{branch}"
    tip = git.rev_parse(repo, ref)
    files: dict[str, bytes] = {}
    changes = []
    for render in renders:
        if isinstance(render, str):
            changes.append(EnvironmentChange(render, (), (), ()))
            continue
        env_files = environment_files(render, source)
        change = _change(repo, tip, render, env_files)
        changes.append(change)
        if change.changed_anything:
            files.update(env_files)
    changed = [c for c in changes if c.changed_anything]
    if not changed:
        return HydrateResult(branch, None, tuple(changes))
    scratch = f"refs/toolkit/hydrate-{os.getpid()}"
    try:
        commit = git.write_commit(
            repo,
            ref=scratch,
            parent=tip,
            message=commit_message(source, changed),
            author=git.identity(repo, "author"),
            committer=git.identity(repo, "committer"),
            delete=[c.environment for c in changed],
            files=files,
        )
        if not git.update_ref(repo, ref, commit, tip):
            raise GitError(
                f"branch {branch} moved while hydrating (another toolkit run?): run hydrate again"
            )
    finally:
        git.delete_ref(repo, scratch)
    return HydrateResult(branch, commit, tuple(changes))


def hydrate(
    config: Config,
    renders: Sequence[EnvironmentRender],
    source: Source,
    *,
    unchanged: Collection[str] = (),
) -> list[HydrateResult]:
    """Commit every environment's render to its rendered branch; the `unchanged` environments
    (not rendered) are reported as such, in the order of toolkit.yaml with the rest."""
    by_name: dict[str, EnvironmentRender | str] = {name: name for name in unchanged}
    by_name.update((render.name, render) for render in renders)
    ordered = [by_name[e.name] for e in config.environments if e.name in by_name]
    by_branch: dict[str, list[EnvironmentRender | str]] = {}
    for render in ordered:
        name = render if isinstance(render, str) else render.name
        by_branch.setdefault(config.branch_for(name), []).append(render)
    return [
        hydrate_branch(config.root, branch, branch_renders, source)
        for branch, branch_renders in by_branch.items()
    ]


def result_as_dict(result: HydrateResult) -> dict[str, Any]:
    """A hydrate result for `--json`."""
    return {
        "branch": result.branch,
        "commit": result.commit,
        "environments": {
            c.environment: {"added": c.added, "changed": c.changed, "removed": c.removed}
            for c in result.changes
        },
    }


def describe_results(results: Sequence[HydrateResult]) -> list[str]:
    """One line per environment and one per branch, for people."""
    lines = []
    for result in results:
        for c in result.changes:
            if c.changed_anything:
                lines.append(
                    f"{c.environment}: {len(c.added)} added, {len(c.changed)} changed, "
                    f"{len(c.removed)} removed"
                )
            else:
                lines.append(f"{c.environment}: unchanged")
        if result.commit:
            lines.append(f"{result.branch}: committed {result.commit[:12]}")
        else:
            lines.append(f"{result.branch}: nothing to commit")
    return lines
