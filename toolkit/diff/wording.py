"""The phrases every format of a rendered diff shares: counts, titles, secret keys, folded
noise, so the terminal, the comment and the page say the same thing in the same words."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from toolkit.diff import noise
from toolkit.diff.comparison import DiffReport, EnvironmentDiff, ResourceChange
from toolkit.manifests.model import ChangeKind
from toolkit.manifests.secrets import SecretKeyChange


def counts(env: EnvironmentDiff) -> str:
    folded = f", {env.folded} folded" if env.folded else ""
    return f"{env.added} added, {env.changed} changed, {env.removed} removed{folded}"


def _size(size: int | None) -> str:
    return "-" if size is None else f"{size} bytes"


def secret_line(key: SecretKeyChange) -> str:
    if key.status == "changed":
        sizes = f"{_size(key.old_size)} -> {_size(key.new_size)}"
    else:
        sizes = _size(key.new_size if key.new_size is not None else key.old_size)
    return f"secret key {key.field}.{key.key}: {key.status} ({sizes})"


def title(change: ResourceChange) -> str:
    if change.change == ChangeKind.RENAMED and change.renamed_from is not None:
        return f"renamed {change.renamed_from} -> {change.id.name}"
    return f"{change.change} {change.id}"


def folded_releases(env: EnvironmentDiff) -> list[tuple[str, str, int]]:
    """(release, rule, how many resources) for each release with changes a rule folded."""
    found = Counter((c.source, c.folded_by) for c in env.changes if c.folded_by is not None)
    return [(source, rule, n) for (source, rule), n in sorted(found.items())]


def folded_phrase(rule: str, count: int) -> str:
    """`50 resources changed only in chart bookkeeping labels`."""
    return f"{count} resource{'s' * (count != 1)} {noise.RULES[rule].summary}"


def noise_counts(report: DiffReport) -> list[tuple[str, int, list[str]]]:
    """(rule, how many changes it folded, its keys) for each rule that folded something."""
    return [
        (rule, count, sorted(noise.RULES[rule].keys))
        for rule, count in report.folded_by_rule().items()
        if count
    ]


def noise_line(rule: str, count: int, keys: list[str], code: Callable[[str], str] = str) -> str:
    """What a rule folded and how to see it; `code` marks the literal parts (markdown)."""
    return (
        f"noise rule {code(rule)} folded {count} change{'s' * (count != 1)} "
        f"({', '.join(code(k) for k in keys)}): {code(f'--no-fold {rule}')} lists them, "
        f"{code('--strict')} counts them for {code('--exit-code')}"
    )


def rollout_note(change: ResourceChange, code: Callable[[str], str] = str) -> str:
    """` (rollout: checksum/config changed, the pods restart)`, or nothing."""
    keys = ", ".join(code(key) for key in change.rollout_checksums)
    return f" (rollout: {keys} changed, the pods restart)" if keys else ""


def shown_paths(change: ResourceChange, report: DiffReport) -> tuple[list[str], bool]:
    """The changed paths a reviewer reads (those of enabled noise rules left out), and whether
    any were left out."""
    real = [p for p in change.paths if not noise.is_noise(p, report.folding)]
    return real, len(real) < len(change.paths)


def version_lines(
    report: DiffReport,
    code: Callable[[str], str] = str,
    text: Callable[[str], str] = str,
    arrow: str = "→",
) -> list[str]:
    """`dev chart api: 1.4.0 → 1.5.0`, `dev image ghcr.io/acme/api: 3.12.4 → 3.12.5`: each
    chart version and image that changed, per environment, charts first."""

    def side(versions: tuple[str, ...]) -> str:
        return ", ".join(code(v) for v in versions) if versions else "(none)"

    return [
        f"{text(env.name)} {what} {code(change.name)}: "
        f"{side(change.old)} {arrow} {side(change.new)}"
        for env in report.environments
        for what, changes in (("chart", env.charts), ("image", env.images))
        for change in changes
    ]


def revisions_line(
    report: DiffReport,
    code: Callable[[str], str] = str,
    text: Callable[[str], str] = str,
    arrow: str = "→",
) -> str:
    """`base 1a2b3c4d5e6f (subject) → head 7a8b9c0d1e2f (subject)`; a head with uncommitted
    changes is `work tree (uncommitted changes on <commit>)`."""

    def named(sha: str, subject: str) -> str:
        return f"{code(sha[:12])} ({text(subject)})" if subject else code(sha[:12])

    if report.head is not None:
        head = named(report.head, report.head_subject)
    elif report.work_tree_on is not None:
        head = f"{code('work tree')} (uncommitted changes on {code(report.work_tree_on[:12])})"
    else:
        head = code("work tree")
    return f"base {named(report.base, report.base_subject)} {arrow} head {head}"
