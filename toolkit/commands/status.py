"""`toolkit status`: what runs where, from git alone, and what the next promotion would move.

Each environment's state is read from its rendered branch (local, else the remote's): the
source commit and when it was made, the releases in hydrator.metadata, the images of its
manifests, its newest `<env>/<n>` tag; planning the work tree (no render) says whether the
branch is stale. The pending promotion is `toolkit promote`'s own plan from each environment
to the next one in promotion order: release versions, images and `promotion.copy` files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.config.project import Config, Environment
from toolkit.hydrate import current, metadata, reach, tags
from toolkit.hydrate.metadata import Metadata
from toolkit.infra import git, runmemo
from toolkit.infra.errors import ToolkitError
from toolkit.manifests import model
from toolkit.promote import changes, planning
from toolkit.render import pipeline
from toolkit.render.settings import RenderSettings

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
    branch_ref: str | None  # the ref read: the local branch, or the remote's when it is ahead
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
            "branchRef": self.branch_ref,
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
        return {"environments": [env.as_dict() for env in self.environments]}

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
            releases = _lines(f"{r.name}: {r.chart} {r.version}" for r in env.releases)
            images = "<br>".join(_code(image) for image in env.images)
            pending = (
                f"{_text(env.next_environment)}: " + (_lines(env.pending) or "nothing")
                if env.next_environment
                else ""
            )
            cells = (
                _text(env.name),
                env.state,
                source,
                _text(env.last_tag or ""),
                releases,
                images,
                pending,
            )
            rows.append("| " + " | ".join(cells) + " |")
        return "\n".join(rows) + "\n"


def _text(text: str) -> str:
    """Text from the repository in a table cell: markup, HTML and cell breaks escaped."""
    return re.sub(r"[\\`*_<>|\[\]]", lambda m: "\\" + m[0], text.replace("\n", " "))


def _code(text: str) -> str:
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def _lines(items: Iterable[str]) -> str:
    return "<br>".join(_text(item) for item in items)


def _where_from(env: EnvironmentStatus) -> str:
    if env.source_commit is None:
        return ""
    subject = f' "{env.source_subject}"' if env.source_subject else ""
    when = f", {env.source_date}" if env.source_date else ""
    return f" (from {env.source_commit[:12]}{when}{subject})"


@dataclass(frozen=True)
class _Rendered:
    tip: str | None
    metadata: Metadata | None
    images: tuple[str, ...]


def _branch_tip(repo: Path, branch: str, remote: str) -> tuple[str | None, str | None]:
    """(ref, commit) of the rendered branch: the remote's when it is ahead of the local one
    (or there is no local one): that is what Argo CD or Flux syncs from."""
    local_ref, remote_ref = f"refs/heads/{branch}", f"refs/remotes/{remote}/{branch}"
    local = git.rev_parse(repo, f"{local_ref}^{{commit}}")
    ahead = git.rev_parse(repo, f"{remote_ref}^{{commit}}")
    if ahead and (local is None or (ahead != local and git.is_ancestor(repo, local, ahead))):
        return remote_ref, ahead
    return (local_ref, local) if local else (None, None)


def _read_rendered(
    repo: Path, tip: str | None, environments: Sequence[str]
) -> dict[str, _Rendered]:
    """What commit `tip` of a rendered branch holds of each environment, from three git
    processes however many environments share the branch."""
    recorded = metadata.read(repo, tip, environments)
    found = {env: _Rendered(None, None, ()) for env in environments}  # no render of it there
    # Each distinct file once (a chart's CRDs and dashboards repeat in every release and
    # environment): its blob, and where it was first seen.
    files: dict[str, dict[str, str]] = {env: {} for env in environments if recorded[env]}
    if tip is None or not files:
        return found
    for entry in git.list_tree(repo, tip):
        env = entry.path.split("/", 1)[0]
        if env in files and entry.path.endswith(".yaml"):
            files[env].setdefault(entry.sha, entry.path)
    blobs = sorted({blob for held in files.values() for blob in held})
    texts = dict(zip(blobs, git.read_objects(repo, blobs), strict=True))
    images_of: dict[str, set[str]] = {}
    for env, held in files.items():
        images: set[str] = set()
        for blob, path in held.items():
            if blob not in images_of:
                images_of[blob] = _images(
                    texts[blob] or b"", f"{env} on the rendered branch, {path}"
                )
            images |= images_of[blob]
        found[env] = _Rendered(tip, recorded[env], tuple(sorted(images)))
    return found


def _images(text: bytes, where: str) -> set[str]:
    """The images a rendered file names; parsed only when it can name one: parsing is most of
    what status would otherwise cost."""
    if not _may_name_images(text):
        return set()
    bodies = model.bodies(text.decode(errors="replace"), where=where)
    return {image for body in bodies for image in tags.images_in(body)}


# In a double-quoted YAML scalar, the escapes and the escaped line break that can spell `image`.
_SPELLING_ESCAPE = re.compile(rb"\\[xuU\r\n]")


def _may_name_images(text: bytes) -> bool:
    """Whether a file can hold a container's image: its text has the key `image`, or an escape
    that could spell it."""
    return b"image" in text or _SPELLING_ESCAPE.search(text) is not None


def _releases(recorded: Metadata | None) -> tuple[ReleaseState, ...]:
    found = [
        ReleaseState(r.name, r.namespace, r.chart, r.version, r.digest)
        for r in (recorded.releases if recorded else ())
    ]
    return tuple(sorted(found, key=lambda r: r.name))


def _last_tags(repo: Path) -> dict[str, str]:
    """Each environment's highest numbered tag (`<env>/<n>`), from one git process."""
    numbered: dict[str, tuple[int, str]] = {}
    for name in git.ref_names(repo, tags.TAGS_PREFIX):
        tag = name.removeprefix(tags.TAGS_PREFIX)
        env = tag.split("/", 1)[0]
        if m := _TAG_NUMBER.search(tag):
            numbered[env] = max(numbered.get(env, (-1, "")), (int(m[1]), tag))
    return {env: tag for env, (_, tag) in numbered.items()}


def pending_promotion(config: Config, source: Environment, target: Environment) -> tuple[str, ...]:
    """What `toolkit promote SOURCE TARGET` would change now, one line each (its own plan)."""
    try:
        plan = planning.plan_promotion(config, source.name, target.name, allow_dirty=True)
    except ToolkitError as exc:
        return (f"cannot be planned: {exc}",)
    lines = [
        f"release {r.name}: {r.before or 'new'} -> {r.after}"
        for r in plan.releases
        if r.status == changes.PromotionStatus.PROMOTED
    ]
    for image in plan.images:
        if image.status == changes.PromotionStatus.PROMOTED:
            fields = ", ".join(
                f"{c.field} {c.before or '-'} -> {c.after or '-'}" for c in image.changes
            )
            lines.append(f"image {image.name}: {fields}")
    lines += [f"file {f.path} ({f.action})" for f in plan.files]
    return tuple(lines)


@dataclass(frozen=True)
class StatusOptions:
    environments: tuple[str, ...] = ()  # all when none
    remote: str = "origin"  # whose rendered branch is read where there is no local one


def status(config: Config, options: StatusOptions, settings: RenderSettings) -> StatusReport:
    """The status of the environments; staleness by planning the work tree with `settings`."""
    plan = planned_hashes(config, settings)
    return environment_status(config, options.environments, remote=options.remote, plan=plan)


def environment_status(
    config: Config,
    names: Sequence[str],
    *,
    remote: str,
    plan: Callable[[Sequence[Environment], Mapping[str, Metadata | None]], Mapping[str, str]],
) -> StatusReport:
    """The status of the named environments (all when none); `plan` gives each environment's
    input hash for the work tree (what its next render would be keyed by)."""
    repo = git.toplevel(config.root)
    order = list(config.environments)
    chosen = config.select(names)
    by_branch: dict[str, list[str]] = {}
    for env in chosen:
        by_branch.setdefault(config.branch_for(env.name), []).append(env.name)
    tips, rendered = {}, {}
    for branch, names_there in by_branch.items():
        tip = _branch_tip(repo, branch, remote)
        tips.update(dict.fromkeys(names_there, tip))
        rendered.update(_read_rendered(repo, tip[1], names_there))
    last_tags = _last_tags(repo)
    sources = [r.metadata.dry_sha for r in rendered.values() if r.metadata and r.metadata.dry_sha]
    summaries = git.commit_summaries(repo, sorted(set(sources)))
    hydrated = [env for env in chosen if rendered[env.name].tip]
    hashes = plan(hydrated, {env.name: rendered[env.name].metadata for env in hydrated})
    results = []
    with runmemo.run():  # each environment's files parsed once, for both its promotions
        for env in chosen:
            state = rendered[env.name]
            position = order.index(env)
            nxt = order[position + 1] if position + 1 < len(order) else None
            source = state.metadata.dry_sha if state.metadata else None
            date, subject = summaries.get(source, (None, None)) if source else (None, None)
            results.append(
                EnvironmentStatus(
                    name=env.name,
                    branch=config.branch_for(env.name),
                    branch_ref=tips[env.name][0] if state.tip else None,
                    rendered_commit=state.tip,
                    source_commit=source,
                    source_date=date,
                    source_subject=subject,
                    last_tag=last_tags.get(env.name),
                    releases=_releases(state.metadata),
                    images=state.images,
                    stale=_stale(hashes.get(env.name), state),
                    next_environment=nxt.name if nxt else None,
                    pending=pending_promotion(config, env, nxt) if nxt else (),
                )
            )
    return StatusReport(tuple(results))


def _stale(planned: str | None, state: _Rendered) -> bool | None:
    """Whether the work tree would render differently; None when not hydrated or not known."""
    if state.metadata is None or planned is None:
        return None
    return planned != state.metadata.input_hash


def planned_hashes(
    config: Config, settings: RenderSettings
) -> Callable[[Sequence[Environment], Mapping[str, Metadata | None]], Mapping[str, str]]:
    """Input hashes as `hydrate` computes them, given each environment's recorded metadata: the
    recorded one where hydrate would settle the environment from git (nothing it reads changed
    since its render, the same tools), by planning (no render) the others; none (staleness
    unknown, with a warning) where planning fails, e.g. a chart repository that is down."""

    def plan(
        environments: Sequence[Environment], recorded: Mapping[str, Metadata | None]
    ) -> Mapping[str, str]:
        hashes = {}
        settled = _settled_from_git(config, environments, recorded, settings)
        for environment in environments:
            before = recorded[environment.name]
            if environment.name in settled and before is not None and before.input_hash:
                hashes[environment.name] = before.input_hash
                continue
            try:
                planner = pipeline.Planner(config, [environment], settings)
                (planned,) = planner.plans([environment.name])
            except ToolkitError as exc:
                settings.reporter.warning(
                    f"{environment.name}: cannot tell whether it is stale: {exc}"
                )
                continue
            hashes[environment.name] = planned.input_hash
        return hashes

    return plan


def _settled_from_git(
    config: Config,
    environments: Sequence[Environment],
    recorded: Mapping[str, Metadata | None],
    settings: RenderSettings,
) -> set[str]:
    """The environments hydrate would settle without loading them (hydrate/current.py)."""
    if not settings.use_cache:
        return set()
    work_tree = git.work_tree_status(config.root)
    if work_tree.head is None:
        return set()
    changes = reach.SourceChanges(config, work_tree.head, work_tree)
    tools = pipeline.Planner(config, (), settings)
    remote = "origin" if git.remote_url(config.root, "origin") is not None else None
    return {
        env.name
        for env in environments
        if current.unchanged_since_render(changes, tools, env.name, recorded[env.name], remote)
    }
