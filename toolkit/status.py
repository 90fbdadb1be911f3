"""`toolkit status`: what runs where, from git alone, and what the next promotion would move.

Each environment's state is read from its rendered branch (local, else the remote's): the
source commit and when it was made, the releases in hydrator.metadata, the images of its
manifests, its newest `<env>/<n>` tag; planning the work tree (no render) says whether the
branch is stale. The pending promotion compares each environment with the next one in
promotion order: release versions, images by repository, and `promotion.copy` files.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit import git, manifests, pipeline, tags
from toolkit.config import Config, Environment
from toolkit.envtree import METADATA

SCHEMA_VERSION = 1
_TAG_NUMBER = re.compile(r"/([0-9]+)$")


@dataclass(frozen=True)
class ReleaseState:
    name: str
    namespace: str
    chart: str
    version: str
    digest: str


@dataclass(frozen=True)
class EnvironmentStatus:
    name: str
    branch: str
    rendered_commit: str | None  # None: never hydrated
    source_commit: str | None
    source_date: str | None
    source_subject: str | None
    last_tag: str | None
    releases: tuple[ReleaseState, ...]
    images: tuple[str, ...]
    stale: bool | None  # the work tree's inputs differ from the render's; None: not hydrated
    next_environment: str | None
    pending: tuple[str, ...]  # what promoting to next_environment would move, one line each

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "branch": self.branch,
            "renderedCommit": self.rendered_commit,
            "sourceCommit": self.source_commit,
            "sourceDate": self.source_date,
            "sourceSubject": self.source_subject,
            "lastTag": self.last_tag,
            "releases": [vars(release) for release in self.releases],
            "images": list(self.images),
            "stale": self.stale,
            "nextEnvironment": self.next_environment,
            "pendingPromotion": list(self.pending),
        }

    @property
    def state(self) -> str:
        if self.rendered_commit is None:
            return "not hydrated"
        return "stale" if self.stale else "up to date"


@dataclass(frozen=True)
class StatusReport:
    environments: tuple[EnvironmentStatus, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "schemaVersion": SCHEMA_VERSION,
            "command": "status",
            "environments": [env.as_dict() for env in self.environments],
        }

    def as_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2) + "\n"

    def as_text(self) -> str:
        lines: list[str] = []
        for env in self.environments:
            lines.append(f"{env.name}: {env.state}" + _where_from(env))
            if env.last_tag:
                lines.append(f"  tag: {env.last_tag}")
            for release in env.releases:
                lines.append(
                    f"  release {release.name} ({release.namespace}): "
                    f"{release.chart} {release.version}"
                )
            for image in env.images:
                lines.append(f"  image {image}")
            if env.next_environment:
                moves = "; ".join(env.pending) if env.pending else "nothing"
                lines.append(f"  promote to {env.next_environment}: {moves}")
        return "\n".join(lines) + "\n"

    def as_markdown(self) -> str:
        rows = [
            "| environment | state | source | tag | releases | images | promotion to next |",
            "|---|---|---|---|---|---|---|",
        ]
        for env in self.environments:
            source = (
                f"`{env.source_commit[:12]}` {env.source_date or ''}" if env.source_commit else ""
            )
            releases = "<br>".join(f"{r.name}: {r.chart} {r.version}" for r in env.releases)
            images = "<br>".join(f"`{image}`" for image in env.images)
            pending = (
                f"{env.next_environment}: " + ("<br>".join(env.pending) or "nothing")
                if env.next_environment
                else ""
            )
            cells = (env.name, env.state, source, env.last_tag or "", releases, images, pending)
            rows.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
        return "\n".join(rows) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _where_from(env: EnvironmentStatus) -> str:
    if env.source_commit is None:
        return ""
    subject = f' "{env.source_subject}"' if env.source_subject else ""
    when = f", {env.source_date}" if env.source_date else ""
    return f" (from {env.source_commit[:12]}{when}{subject})"


@dataclass(frozen=True)
class _Rendered:
    tip: str | None
    metadata: Mapping[str, Any]
    images: tuple[str, ...]


def _branch_tip(repo: Path, branch: str, remote: str) -> str | None:
    for ref in (f"refs/heads/{branch}", f"refs/remotes/{remote}/{branch}"):
        sha = git.rev_parse(repo, f"{ref}^{{commit}}")
        if sha:
            return sha
    return None


def _read_rendered(repo: Path, tip: str | None, environment: str) -> _Rendered:
    if tip is None:
        return _Rendered(None, {}, ())
    raw = git.read_blob(repo, tip, f"{environment}/{METADATA}")
    try:
        metadata = json.loads(raw) if raw else {}
    except ValueError:
        metadata = {}
    paths = [e.path for e in git.list_tree(repo, tip, environment) if e.path.endswith(".yaml")]
    bodies = []
    for path, blob in git.read_blobs(repo, tip, paths).items():
        where = f"{environment} on the rendered branch, {path}"
        bodies += manifests.load_documents((blob or b"").decode(errors="replace"), where=where)
    found = sorted({image for body in bodies for image in tags.images_in(body)})
    return _Rendered(tip, metadata if isinstance(metadata, dict) else {}, tuple(found))


def _releases(metadata: Mapping[str, Any]) -> tuple[ReleaseState, ...]:
    found = []
    for entry in metadata.get("releases") or ():
        if isinstance(entry, dict):
            found.append(
                ReleaseState(
                    *(
                        str(entry.get(key, ""))
                        for key in ("name", "namespace", "chart", "version", "digest")
                    )
                )
            )
    return tuple(sorted(found, key=lambda r: r.name))


def _last_tag(repo: Path, environment: str) -> str | None:
    names = git.ref_names(repo, tags.tag_pattern(environment).removesuffix("*"))
    numbered = [(int(m[1]), name) for name in names if (m := _TAG_NUMBER.search(name))]
    return max(numbered)[1].removeprefix(tags.TAGS_PREFIX) if numbered else None


def _image_repository(image: str) -> str:
    """An image without its tag or digest (a registry's port stays)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return name.rsplit(":", 1)[0] if ":" in last else name


def _pending(
    config: Config,
    repo: Path,
    src: Environment,
    dst: Environment,
    states: Mapping[str, tuple[tuple[ReleaseState, ...], tuple[str, ...]]],
) -> Iterator[str]:
    (src_releases, src_images), (dst_releases, dst_images) = states[src.name], states[dst.name]
    dst_versions = {r.name: r for r in dst_releases}
    for release in src_releases:
        there = dst_versions.get(release.name)
        if there is None:
            yield f"release {release.name}: new ({release.chart} {release.version})"
        elif (there.chart, there.version, there.digest) != (
            release.chart,
            release.version,
            release.digest,
        ):
            yield f"release {release.name}: {there.version} -> {release.version}"
    dst_by_repo = {_image_repository(image): image for image in dst_images}
    for image in src_images:
        running = dst_by_repo.get(_image_repository(image))
        if running is not None and running != image:
            yield f"image {running} -> {image}"
    yield from (f"file {name}" for name in _copied_files_that_differ(config, repo, src, dst))


def _copied_files_that_differ(
    config: Config, repo: Path, src: Environment, dst: Environment
) -> list[str]:
    if not config.promotion_copy:
        return []
    top = git.toplevel(config.root)

    def blobs(env: Environment) -> dict[str, str]:
        prefix = env.directory.resolve().relative_to(top).as_posix()
        return {
            entry.path.removeprefix(prefix + "/"): entry.sha
            for entry in git.list_tree(repo, "HEAD", prefix)
        }

    before, after = blobs(dst), blobs(src)
    return sorted(
        name
        for name, sha in after.items()
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in config.promotion_copy)
        and before.get(name) != sha
    )


def environment_status(
    config: Config,
    names: Sequence[str],
    *,
    remote: str,
    plan: Callable[[Sequence[Environment]], Mapping[str, str]],
) -> StatusReport:
    """The status of the named environments (all when none); `plan` gives each environment's
    input hash for the work tree (what its next render would be keyed by)."""
    repo = git.toplevel(config.root)
    order = list(config.environments)
    chosen = config.select(names)
    wanted = {env.name for env in chosen}
    # The next environment of each chosen one is read too: the pending promotion needs it.
    needed = [
        env
        for i, env in enumerate(order)
        if env.name in wanted or (i and order[i - 1].name in wanted)
    ]
    rendered = {
        env.name: _read_rendered(
            repo, _branch_tip(repo, config.branch_for(env.name), remote), env.name
        )
        for env in needed
    }
    states = {name: (_releases(r.metadata), r.images) for name, r in rendered.items()}
    sources = [
        str(r.metadata["drySha"]) for r in rendered.values() if _sha(r.metadata.get("drySha"))
    ]
    summaries = git.commit_summaries(repo, sorted(set(sources)))
    hashes = plan([env for env in chosen if rendered[env.name].tip])
    results = []
    for env in chosen:
        state = rendered[env.name]
        position = order.index(env)
        nxt = order[position + 1] if position + 1 < len(order) else None
        source = state.metadata.get("drySha") if _sha(state.metadata.get("drySha")) else None
        date, subject = summaries.get(str(source), (None, None)) if source else (None, None)
        results.append(
            EnvironmentStatus(
                name=env.name,
                branch=config.branch_for(env.name),
                rendered_commit=state.tip,
                source_commit=str(source) if source else None,
                source_date=date,
                source_subject=subject,
                last_tag=_last_tag(repo, env.name),
                releases=states[env.name][0],
                images=states[env.name][1],
                stale=None
                if state.tip is None
                else hashes.get(env.name) != state.metadata.get("inputHash"),
                next_environment=nxt.name if nxt else None,
                pending=tuple(_pending(config, repo, env, nxt, states)) if nxt else (),
            )
        )
    return StatusReport(tuple(results))


def _sha(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", value) is not None


def planned_hashes(
    config: Config, *, tool_choice: pipeline.ToolChoice, locked: bool, warn: Callable[[str], None]
) -> Callable[[Sequence[Environment]], Mapping[str, str]]:
    """Input hashes by planning (no render), as `hydrate` computes them."""

    def plan(environments: Sequence[Environment]) -> Mapping[str, str]:
        if not environments:
            return {}
        planner = pipeline.Planner(
            config, environments, tool_choice=tool_choice, locked=locked, warn=warn
        )
        return {p.name: p.input_hash for p in planner.plans([e.name for e in environments])}

    return plan
