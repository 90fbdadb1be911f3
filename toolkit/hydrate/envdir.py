"""One environment's directory on the rendered branch: the source it came from, its files
(manifests, README, hydrator.metadata), and what writing them would change."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.hydrate import metadata
from toolkit.infra import git
from toolkit.infra.errors import GitError, InputError

if TYPE_CHECKING:
    from toolkit.render.rendering import EnvironmentRender

README = "README.md"


@dataclass(frozen=True)
class SourceCommit:
    """The source commit a render came from. Its subject and remote URL are asked of git when
    first used: only what writes (a commit, a README, a tag, the metadata) needs them."""

    sha: str
    repo: Path | None  # the repository to ask; None when the render is not of a commit

    @functools.cached_property
    def subject(self) -> str:
        return git.subject(self.repo, self.sha) if self.repo else "not a git commit"

    @functools.cached_property
    def repo_url(self) -> str:
        """The remote's URL (origin's), without credentials; "" when there is none."""
        url = git.remote_url(self.repo) if self.repo else None
        return git.without_credentials(url or "")


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


def current_source(repo: Path, work_tree: git.WorkTreeStatus | None = None) -> SourceCommit:
    """HEAD of the source repository (as `work_tree`, its status, saw it, when given); an error
    in a repository without commits."""
    head = work_tree.head if work_tree is not None else None
    return SourceCommit(head or git.head_sha(repo), repo)  # head_sha: the error without one


def source_or_none(repo: Path) -> SourceCommit:
    """The source commit when `repo` is a git repository with commits, else an empty one."""
    try:
        return current_source(repo)
    except GitError:
        return SourceCommit("", None)


def refuse_dirty(repo: Path, *, allow_dirty: bool) -> git.WorkTreeStatus:
    """A render of uncommitted files would be attributed to a commit that does not hold them.
    Returns how the work tree differs from HEAD (with `allow_dirty`, it may)."""
    git.toplevel(repo)
    status = git.work_tree_status(repo)
    dirty = status.changed
    if dirty and not allow_dirty:
        listed = "\n".join(f"    {path}" for path in dirty[:20])
        more = f"\n    … and {len(dirty) - 20} more" if len(dirty) > 20 else ""
        raise InputError(
            f"the work tree has uncommitted changes:\n{listed}{more}\n"
            "commit or stash them first, or pass --allow-dirty to hydrate them anyway"
        )
    return status


def readme(render: EnvironmentRender, source: SourceCommit) -> str:
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


def environment_files(
    render: EnvironmentRender, source: SourceCommit, input_environments: Sequence[str] | None = None
) -> dict[str, bytes]:
    """Every file of `<env>/` on the branch, by path relative to the branch root."""
    env = render.name
    files = {f"{env}/{path}": data for path, data in render.tree.files.items()}
    files[f"{env}/{README}"] = readme(render, source).encode()
    recorded = metadata.of_render(render, source.sha, source.repo_url, input_environments)
    files[metadata.path_of(env)] = recorded.dump()
    return files


def _blob_sha(data: bytes) -> str:
    """git's object name for `data` (not a secret), without copying it behind its header."""
    import hashlib  # here: a hydrate that settles every environment from git never hashes

    digest = hashlib.sha1(b"blob %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()


def _without_provenance(files: Mapping[str, str], env: str) -> dict[str, str]:
    """Blob names of an environment, ignoring the files that name the source commit."""
    skip = {metadata.path_of(env), f"{env}/{README}"}
    return {path: sha for path, sha in files.items() if path not in skip}


def change(
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
    before = metadata.read(repo, tip, [env])[env]
    if tip and same_files and (before.input_hash if before else None) != render.input_hash:
        changed = [metadata.path_of(env)]
    return EnvironmentChange(
        env,
        added=tuple(sorted(new.keys() - old.keys())),
        changed=tuple(changed),
        removed=tuple(sorted(old.keys() - new.keys())),
    )


KUSTOMIZE_SOURCE = "kustomize"  # the directory the Kustomize output has on the branch


def losses(render: EnvironmentRender, change: EnvironmentChange) -> str | None:
    """What writing `change` would lose without anyone having said so, in words, or None.

    Losing every file of the environment, of a release or of the Kustomize output is what a
    renamed directory, a deleted or misspelt releases.yaml or a broken overlay looks like, and
    with Argo CD's or Flux's pruning it deletes what runs. A release taken out of releases.yaml
    is an explicit removal and is not a loss (the environment's last file still is).
    """
    spec, env = render.spec, render.name
    removed = [path for path in change.removed if path.count("/") >= 2]
    if not removed:
        return None
    directory = spec.environment.path
    if not render.tree.files:
        if spec.releases_file is None and spec.kustomization is None:
            why = f"{directory}/ has neither releases.yaml nor a kustomization"
        elif not spec.releases and spec.kustomization is None:
            why = f"{directory}/releases.yaml lists no releases and there is no kustomization"
        else:
            why = "its renders produce no resources"
        return f"environment '{env}': every file ({len(removed)}), as {why}"
    kept = {path.split("/", 1)[0] for path in render.tree.files}
    listed = {release.name for release in spec.releases}
    gone: dict[str, int] = {}
    for path in removed:
        source = path.split("/")[1]
        gone[source] = gone.get(source, 0) + 1
    by_reason: dict[str, list[str]] = {}
    for source, count in sorted(gone.items()):
        if source in kept:
            continue
        if source == KUSTOMIZE_SOURCE:
            what = f"the Kustomize output ({count} files)"
            why = (
                f"{directory}/ has no kustomization any more"
                if spec.kustomization is None
                else "the kustomization renders nothing"
            )
        elif source in listed:
            what, why = f"release '{source}' ({count} files)", "it renders nothing"
        elif spec.releases_file is None:
            what, why = (
                f"release '{source}' ({count} files)",
                f"{directory}/releases.yaml is missing",
            )
        else:
            continue  # taken out of releases.yaml: removed on purpose
        by_reason.setdefault(why, []).append(what)
    if not by_reason:
        return None
    parts = [f"{' and '.join(whats)}, as {why}" for why, whats in by_reason.items()]
    return f"environment '{env}': {'; '.join(parts)}"


def describe_change(c: EnvironmentChange) -> str:
    if c.skipped:
        return f"{c.environment}: skipped: {c.skipped}"
    if c.changed_anything:
        return (
            f"{c.environment}: {len(c.added)} added, {len(c.changed)} changed, "
            f"{len(c.removed)} removed"
        )
    return f"{c.environment}: unchanged"
