"""A rendered diff as text (a terminal) or JSON (a CI gate), and the dispatch to each format
(the markdown comment is comment.py's, the HTML page page.py's).

Every body printed here comes from comparison.py, where secret values were already redacted;
the key summaries carry sizes only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from toolkit.diff import comment, page, wording
from toolkit.diff.comparison import DiffReport
from toolkit.diff.versions import VersionChange
from toolkit.infra import atomicfiles
from toolkit.manifests.model import ResourceId

_RESET, _BOLD, _RED, _GREEN, _CYAN = "\033[0m", "\033[1m", "\033[31m", "\033[32m", "\033[36m"


# --- text -----------------------------------------------------------------------------------


def _colour(line: str) -> str:
    if line.startswith(("+++", "---")):
        return f"{_BOLD}{line}{_RESET}"
    if line.startswith("+"):
        return f"{_GREEN}{line}{_RESET}"
    if line.startswith("-"):
        return f"{_RED}{line}{_RESET}"
    if line.startswith("@@"):
        return f"{_CYAN}{line}{_RESET}"
    return line


def text(report: DiffReport, *, color: bool = False) -> str:
    """Unified diffs per resource, then a summary line per environment."""
    out = [wording.revisions_line(report, arrow="->"), ""]
    versions = wording.version_lines(report, arrow="->")
    out += [*versions, ""] if versions else []
    for env in report.environments:
        if not env.changes:
            continue
        out.append(f"{_BOLD}== {env.name} =={_RESET}" if color else f"== {env.name} ==")
        out += [
            f"# {source}: {wording.folded_phrase(rule, count)} (noise rule {rule})"
            for source, rule, count in wording.folded_releases(env)
        ]
        for change in env.shown:
            out.append(f"# {wording.title(change)}{wording.rollout_note(change)}")
            for line in change.diff.splitlines():
                out.append(_colour(line) if color else line)
            out += [f"# {wording.secret_line(k)}" for k in change.secret_keys]
        out.append("")
    out += [f"{env.name}: {wording.counts(env)}" for env in report.environments]
    out += [wording.noise_line(*counted) for counted in wording.noise_counts(report)]
    if not report.differs_at_all:
        out.append("no differences")
    return "\n".join(out) + "\n"


# --- json -----------------------------------------------------------------------------------


def _identity(rid: ResourceId) -> dict[str, str]:
    return {"group": rid.group, "kind": rid.kind, "namespace": rid.namespace, "name": rid.name}


def _version(change: VersionChange) -> dict[str, Any]:
    return {"name": change.name, "from": list(change.old), "to": list(change.new)}


def as_dict(report: DiffReport) -> dict[str, Any]:
    """The plan a CI gate reads: per environment, per resource, what changed and where."""
    return {
        "base": report.base,
        "head": report.head,
        "differs": report.differs,
        "differsAtAll": report.differs_at_all,
        "noise": report.folded_by_rule(),
        "validation": [
            {
                "name": env.environment,
                "kubeVersion": env.kube_version,
                "findings": [finding.as_dict() for finding in env.findings],
            }
            for env in report.validation
        ],
        "environments": [
            {
                "name": env.name,
                "baseFrom": env.base_from,
                "headFrom": env.head_from,
                "added": env.added,
                "changed": env.changed,
                "removed": env.removed,
                "folded": env.folded,
                "charts": [_version(change) for change in env.charts],
                "images": [_version(change) for change in env.images],
                "resources": [
                    {
                        **_identity(c.id),
                        "change": c.change,
                        "renamedFrom": _identity(c.renamed_from) if c.renamed_from else None,
                        "paths": list(c.paths),
                        "source": c.source,
                        "foldedBy": c.folded_by,
                        "rolloutChecksums": list(c.rollout_checksums),
                        "secretDataChanged": c.secret_data_changed,
                        "secretKeys": [
                            {
                                "field": k.field,
                                "key": k.key,
                                "status": k.status,
                                "oldSize": k.old_size,
                                "newSize": k.new_size,
                            }
                            for k in c.secret_keys
                        ],
                    }
                    for c in env.changes
                ],
            }
            for env in report.environments
        ],
    }


def as_json(report: DiffReport) -> str:
    return json.dumps(as_dict(report), indent=2, sort_keys=True) + "\n"


def formatted(report: DiffReport, fmt: str, *, max_bytes: int | None, color: bool) -> str:
    """The report in one of the formats `toolkit diff --format` offers."""
    if fmt == "markdown":
        return comment.markdown(report, max_bytes=max_bytes)
    if fmt == "json":
        return as_json(report)
    if fmt == "html":
        return page.page(report)
    return text(report, color=color)


def write_full(path: Path, content: str) -> None:
    """Write the uncut report beside the comment, whole or not at all."""
    atomicfiles.replace_file(path.absolute(), content.encode(), shown=f"--output-full {path}")
