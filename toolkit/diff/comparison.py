"""Resource diffs: two sets of rendered resources compared by identity, noise dropped, secrets
reduced to their keys. revisiondiff.py gathers the two sides; formats.py prints the result."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from toolkit.config.checks import DiffIgnore
from toolkit.diff import noise, revisions, versions
from toolkit.diff.noise import without_noise as without_noise
from toolkit.diff.versions import VersionChange
from toolkit.infra import kubeyaml
from toolkit.manifests import secrets
from toolkit.manifests.model import ChangeKind, Resource, ResourceId
from toolkit.manifests.secrets import SecretKeyChange

if TYPE_CHECKING:
    from toolkit.validate.check import EnvironmentReport

# kustomize's configMapGenerator/secretGenerator suffix: "-" and 10 characters of its hash.
_HASH_SUFFIX = re.compile(r"^(?P<stem>.+)-[a-z0-9]{10}$")
_GENERATED_KINDS = frozenset({("", "ConfigMap"), ("", "Secret")})


@dataclass(frozen=True)
class ResourceChange:
    """One resource that differs between base and head.

    `id` is the head's identity (the base's for a removal); `diff` is a unified diff of the
    printable bodies (secret values redacted unless asked otherwise) and may be empty when only
    a secret value changed; `paths` are the JSON pointers whose values differ.
    """

    id: ResourceId
    change: ChangeKind
    renamed_from: ResourceId | None
    diff: str
    paths: tuple[str, ...]
    secret_keys: tuple[SecretKeyChange, ...]
    source: str = ""  # the release (or `kustomize`) that renders it
    folded_by: str | None = None  # the noise rule that folds it (noise.py)

    @property
    def secret_data_changed(self) -> bool:
        return any(k.status != ChangeKind.UNCHANGED for k in self.secret_keys)

    @property
    def rollout_checksums(self) -> tuple[str, ...]:
        """The pod-template checksum annotations that changed: the pods restart."""
        return noise.rollout_checksums(self.paths)


@dataclass(frozen=True)
class EnvironmentDiff:
    """One environment's changes, and where each side's resources came from."""

    name: str
    changes: tuple[ResourceChange, ...]
    base_from: str
    head_from: str
    charts: tuple[VersionChange, ...] = ()  # chart versions by release
    images: tuple[VersionChange, ...] = ()  # image tags by repository

    def count(self, change: ChangeKind) -> int:
        return sum(1 for c in self.shown if c.change == change)

    @property
    def shown(self) -> tuple[ResourceChange, ...]:
        """The changes a noise rule did not fold."""
        return tuple(c for c in self.changes if c.folded_by is None)

    @property
    def folded(self) -> int:
        return len(self.changes) - len(self.shown)

    @property
    def added(self) -> int:
        return self.count(ChangeKind.ADDED)

    @property
    def changed(self) -> int:
        """Changed resources, renames included (a rename is a change of one resource)."""
        return self.count(ChangeKind.CHANGED) + self.count(ChangeKind.RENAMED)

    @property
    def removed(self) -> int:
        return self.count(ChangeKind.REMOVED)


@dataclass(frozen=True)
class DiffReport:
    """Every environment compared: what `toolkit diff` prints in each format."""

    base: str
    head: str | None  # None: the work tree, with uncommitted changes
    environments: tuple[EnvironmentDiff, ...]
    # `toolkit validate`'s findings for the head, per environment (what the change would land).
    validation: tuple[EnvironmentReport, ...] = ()
    folding: tuple[str, ...] = noise.DEFAULT_FOLDING  # the noise rules that were on
    base_subject: str = ""
    head_subject: str = ""
    work_tree_on: str | None = None  # the commit uncommitted changes sit on

    @property
    def differs(self) -> bool:
        """Whether anything differs that no noise rule folded (what `--exit-code` counts)."""
        return any(env.shown for env in self.environments)

    @property
    def differs_at_all(self) -> bool:
        """Whether anything differs, folded changes included (`--exit-code --strict`)."""
        return any(env.changes for env in self.environments)

    def folded_by_rule(self) -> dict[str, int]:
        """How many changes each rule that was on folded, in the rules' order."""
        folded = [c.folded_by for env in self.environments for c in env.changes]
        return {name: folded.count(name) for name in self.folding}


# --- comparing ------------------------------------------------------------------------------


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """JSON pointers to every value that differs; a list whose length changed counts whole."""
    if isinstance(old, dict) and isinstance(new, dict):
        paths = []
        for key in sorted(old.keys() | new.keys(), key=str):
            path = f"{prefix}/{_escape(str(key))}"
            if key not in old or key not in new:
                paths.append(path)
            else:
                paths += changed_paths(old[key], new[key], path)
        return paths
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        paths = []
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            paths += changed_paths(a, b, f"{prefix}/{index}")
        return paths
    return [] if old == new else [prefix or "/"]


def _printable(resource: Resource | None, show_secrets: bool) -> list[str]:
    if resource is None:
        return []
    text = resource.text  # as on the branch
    if not show_secrets:
        if secrets.is_secret(resource.id):
            text = kubeyaml.dump(secrets.redact_secret(resource.body))
        elif (redacted := secrets.redact_annotations(resource.body)) is not None:
            text = kubeyaml.dump(redacted)  # a Secret serialized in an annotation
    return text.splitlines(keepends=True)


def _unified(old: Resource | None, new: Resource | None, show_secrets: bool) -> str:
    lines = difflib.unified_diff(
        _printable(old, show_secrets),
        _printable(new, show_secrets),
        fromfile=f"base/{old.id}" if old else "/dev/null",
        tofile=f"head/{new.id}" if new else "/dev/null",
        n=3,
    )
    # A value without a final newline (a block scalar's last line) still ends its diff line.
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _change(
    change: ChangeKind,
    old: Resource | None,
    new: Resource | None,
    show_secrets: bool,
    fold: Collection[str],
) -> ResourceChange:
    either = new or old
    assert either is not None
    old_body, new_body = (old.body if old else None), (new.body if new else None)
    paths = tuple(changed_paths(old_body, new_body)) if old and new else ()
    secret_keys = (
        secrets.secret_key_changes(old_body, new_body) if secrets.is_secret(either.id) else ()
    )
    return ResourceChange(
        id=either.id,
        change=change,
        renamed_from=old.id if old and change == ChangeKind.RENAMED else None,
        diff=_unified(old, new, show_secrets),
        paths=paths,
        secret_keys=secret_keys,
        source=either.source,
        # Only a change in place folds: an addition, removal or rename is never bookkeeping.
        folded_by=noise.folding_rule(paths, fold) if change == ChangeKind.CHANGED else None,
    )


def _stem(rid: ResourceId) -> tuple[str, str, str, str] | None:
    match = _HASH_SUFFIX.match(rid.name)
    if (rid.group, rid.kind) not in _GENERATED_KINDS or match is None:
        return None
    return rid.group, rid.kind, rid.namespace, match["stem"]


def _renames(
    removed: Sequence[ResourceId], added: Sequence[ResourceId]
) -> list[tuple[ResourceId, ResourceId]]:
    """Pairs (old, new) of generated ConfigMaps/Secrets whose hash suffix alone changed.

    Only a one-to-one match of stems pairs: two removed and one added `web-config-*` stay as
    removals and an addition, since which one became which would be a guess.
    """
    by_stem: dict[tuple[str, str, str, str], tuple[list[ResourceId], list[ResourceId]]] = {}
    for rid in removed:
        stem = _stem(rid)
        if stem:
            by_stem.setdefault(stem, ([], []))[0].append(rid)
    for rid in added:
        stem = _stem(rid)
        if stem and stem in by_stem:
            by_stem[stem][1].append(rid)
    return [(olds[0], news[0]) for olds, news in by_stem.values() if len(olds) == len(news) == 1]


def compare(
    base: Mapping[ResourceId, Resource],
    head: Mapping[ResourceId, Resource],
    *,
    show_secrets: bool = False,
    fold: Collection[str] = noise.DEFAULT_FOLDING,
) -> tuple[ResourceChange, ...]:
    """Every resource that differs between two sets, in identity order (bodies compared), each
    marked with the noise rule of `fold` that folds it, if one does."""
    removed = sorted(base.keys() - head.keys())
    added = sorted(head.keys() - base.keys())
    renames = _renames(removed, added)
    paired_old = {old for old, _ in renames}
    paired_new = {new for _, new in renames}
    changes = [
        _change(ChangeKind.RENAMED, base[old], head[new], show_secrets, fold)
        for old, new in renames
    ]
    changes += [
        _change(ChangeKind.CHANGED, base[rid], head[rid], show_secrets, fold)
        for rid in sorted(base.keys() & head.keys())
        if base[rid].body != head[rid].body
    ]
    changes += [
        _change(ChangeKind.REMOVED, base[rid], None, show_secrets, fold)
        for rid in removed
        if rid not in paired_old
    ]
    changes += [
        _change(ChangeKind.ADDED, None, head[rid], show_secrets, fold)
        for rid in added
        if rid not in paired_new
    ]
    return tuple(sorted(changes, key=lambda c: (c.id, c.change)))


def compare_environment(
    name: str,
    base: Sequence[Resource],
    head: Sequence[Resource],
    rules: Sequence[DiffIgnore],
    show_secrets: bool,
    fold: Collection[str],
) -> EnvironmentDiff:
    """One environment's changes and images; texts are compared first, and a resource whose
    text is the same on both sides is parsed only if the images need it."""
    base_by_id = {r.id: r for r in base}
    head_by_id = {r.id: r for r in head}
    same = [
        r for rid, r in head_by_id.items() if rid in base_by_id and base_by_id[rid].data == r.data
    ]
    alike = {r.id for r in same}
    base_kept = without_noise((r for r in base_by_id.values() if r.id not in alike), rules)
    head_kept = without_noise((r for r in head_by_id.values() if r.id not in alike), rules)
    return EnvironmentDiff(
        name=name,
        changes=compare(base_kept, head_kept, show_secrets=show_secrets, fold=fold),
        base_from=revisions.FROM_RENDER,
        head_from=revisions.FROM_RENDER,
        images=versions.image_changes(
            base_kept.values(),
            head_kept.values(),
            alike=lambda: without_noise(same, rules).values(),
        ),
    )
