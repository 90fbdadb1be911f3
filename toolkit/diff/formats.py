"""A rendered diff as text (a terminal), markdown (a pull-request comment) or JSON (a CI gate).

Every body printed here comes from diff.py, where secret values were already redacted; the key
summaries carry sizes only.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.diff.comparison import (
    DiffReport,
    EnvironmentDiff,
    ResourceChange,
)
from toolkit.infra import atomicfiles
from toolkit.manifests.model import ChangeKind, ResourceId
from toolkit.manifests.secrets import SecretKeyChange

DEFAULT_MAX_BYTES = 65_000
# Below this a comment cannot hold even a few environments' summary rows.
MIN_MAX_BYTES = 2_000

_RESET, _BOLD, _RED, _GREEN, _CYAN = "\033[0m", "\033[1m", "\033[31m", "\033[32m", "\033[36m"
_BACKTICKS = re.compile(r"`+")
_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _counts(env: EnvironmentDiff) -> str:
    return f"{env.added} added, {env.changed} changed, {env.removed} removed"


def _size(size: int | None) -> str:
    return "-" if size is None else f"{size} bytes"


def _secret_line(key: SecretKeyChange) -> str:
    if key.status == ChangeKind.CHANGED:
        sizes = f"{_size(key.old_size)} -> {_size(key.new_size)}"
    else:
        sizes = _size(key.new_size if key.new_size is not None else key.old_size)
    return f"secret key {key.field}.{key.key}: {key.status} ({sizes})"


def _title(change: ResourceChange) -> str:
    if change.change == ChangeKind.RENAMED and change.renamed_from is not None:
        return f"renamed {change.renamed_from} -> {change.id.name}"
    return f"{change.change} {change.id}"


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
    out = [f"base {report.base[:12]} -> head {report.head_label}", ""]
    for env in report.environments:
        if not env.changes:
            continue
        out.append(f"{_BOLD}== {env.name} =={_RESET}" if color else f"== {env.name} ==")
        for change in env.changes:
            out.append(f"# {_title(change)}")
            for line in change.diff.splitlines():
                out.append(_colour(line) if color else line)
            out += [f"# {_secret_line(k)}" for k in change.secret_keys]
        out.append("")
    out += [f"{env.name}: {_counts(env)}" for env in report.environments]
    if not report.differs:
        out.append("no differences")
    return "\n".join(out) + "\n"


# --- json -----------------------------------------------------------------------------------


def _identity(rid: ResourceId) -> dict[str, str]:
    return {"group": rid.group, "kind": rid.kind, "namespace": rid.namespace, "name": rid.name}


def as_dict(report: DiffReport) -> dict[str, Any]:
    """The plan a CI gate reads: per environment, per resource, what changed and where."""
    return {
        "base": report.base,
        "head": report.head,
        "differs": report.differs,
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
                "resources": [
                    {
                        **_identity(c.id),
                        "change": c.change,
                        "renamedFrom": _identity(c.renamed_from) if c.renamed_from else None,
                        "paths": list(c.paths),
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


# --- markdown -------------------------------------------------------------------------------


def _code(text: str) -> str:
    """Inline code that cannot be broken out of: backticks and pipes (tables) replaced, and
    control characters shown escaped (a line break could end the paragraph, and the span)."""
    shown = _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode(), text)
    return "`" + shown.replace("`", "'").replace("|", "\\|") + "`"


def _text(text: str) -> str:
    """Plain text in markdown: every ASCII punctuation character backslash-escaped (CommonMark
    then shows it as itself, never as markup or HTML)."""
    return _PUNCTUATION.sub(r"\\\g<0>", _CONTROL.sub(" ", text))


def _html(text: str) -> str:
    """Text inside an HTML element (`<summary>`): markdown is not read there, so it is escaped
    as HTML, line breaks included."""
    return html.escape(_CONTROL.sub(" ", text))


def _markdown_title(change: ResourceChange) -> str:
    """`_title` with every name in a code span: a heading is read as markdown and HTML."""
    if change.change == ChangeKind.RENAMED and change.renamed_from is not None:
        return f"renamed {_code(str(change.renamed_from))} → {_code(change.id.name)}"
    return f"{change.change} {_code(str(change.id))}"


def _fence(body: str) -> str:
    """A fence longer than any backtick run in the body, so the body cannot close it."""
    longest = max((len(m) for m in _BACKTICKS.findall(body)), default=0)
    return "`" * max(3, longest + 1)


@dataclass(frozen=True)
class _Block:
    """One resource's section: its heading and its diff body (left out whole when cut: the
    list of changed resources above already names it)."""

    heading: str
    body: str

    @property
    def size(self) -> int:
        return _size_of(self.heading) + _size_of(self.body)


def _change_line(change: ResourceChange) -> str:
    if change.change == ChangeKind.RENAMED and change.renamed_from is not None:
        line = f"- renamed {_code(str(change.renamed_from))} → {_code(change.id.name)}"
    else:
        line = f"- {change.change} {_code(str(change.id))}"
    if change.paths and change.change not in (ChangeKind.ADDED, ChangeKind.REMOVED):
        shown = ", ".join(_code(p) for p in change.paths[:5])
        more = f" and {len(change.paths) - 5} more" if len(change.paths) > 5 else ""
        line += f": {shown}{more}"
    if change.secret_data_changed:
        line += " (secret data changed)"
    return line


def _block(change: ResourceChange) -> _Block:
    body = change.diff
    if change.secret_keys:
        body += "".join(f"# {_secret_line(k)}\n" for k in change.secret_keys)
    fence = _fence(body)
    return _Block(
        heading=f"#### {_markdown_title(change)}\n\n", body=f"{fence}diff\n{body}{fence}\n\n"
    )


def _render_markdown(
    report: DiffReport,
    blocks: Sequence[Sequence[_Block]],
    cut: set[tuple[int, int]],
    list_limit: int | None,
    budget_note: str,
) -> str:
    out = [
        "## Rendered diff\n\n",
        f"base `{report.base[:12]}` → head `{report.head_label}`\n\n",
        "| environment | added | changed | removed |\n",
        "|---|---:|---:|---:|\n",
    ]
    out += [
        f"| {_text(env.name)} | {env.added} | {env.changed} | {env.removed} |\n"
        for env in report.environments
    ]
    out.append("\n")
    out += _validation_section(report)
    if not report.differs:
        out.append("No differences.\n")
    if budget_note:
        out.append(budget_note)
    for e, env in enumerate(report.environments):
        if not env.changes:
            continue
        out.append(f"<details><summary>{_html(env.name)}: {_counts(env)}</summary>\n\n")
        shown = env.changes if list_limit is None else env.changes[:list_limit]
        out += [_change_line(c) + "\n" for c in shown]
        if len(shown) < len(env.changes):
            out.append(f"- … and {len(env.changes) - len(shown)} more\n")
        out.append("\n")
        if list_limit is None:
            for r, block in enumerate(blocks[e]):
                if (e, r) not in cut:
                    out += [block.heading, block.body]
        out.append("</details>\n\n")
    return "".join(out)


VALIDATION_LINES = 30  # findings listed in a comment; `toolkit validate` gives all


def _validation_section(report: DiffReport) -> list[str]:
    """What `toolkit validate` finds in the head: counts, then the first findings, one line each
    (every piece of it escaped or in a code span)."""
    findings = [f for env in report.validation for f in env.findings]
    if not findings:
        return []
    errors = sum(1 for f in findings if f.severity.value == "error")
    warnings = len(findings) - errors
    counts = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
    out = [f"**Validation of the head**: {counts}\n\n"]
    for finding in findings[:VALIDATION_LINES]:
        out.append(
            f"- {finding.severity.value} {_code(finding.location)} {_code(finding.resource)}: "
            f"{_text(finding.message)} ({_code(finding.rule)})\n"
        )
    if len(findings) > VALIDATION_LINES:
        out.append(f"- … and {len(findings) - VALIDATION_LINES} more: run `toolkit validate`\n")
    return [*out, "\n"]


def _size_of(text: str) -> int:
    return len(text.encode())


def markdown(report: DiffReport, *, max_bytes: int | None = DEFAULT_MAX_BYTES) -> str:
    """The PR comment: a summary table, then a collapsible section per environment.

    To fit `max_bytes`, resource bodies are cut largest first; the summary and the list of
    changed resources stay. Only when the bodies are all gone and it still does not fit are the
    diff sections dropped and then the lists shortened (the table always stays).
    """
    blocks = [[_block(c) for c in env.changes] for env in report.environments]
    rendered = _render_markdown(report, blocks, set(), None, "")
    if max_bytes is None or _size_of(rendered) <= max_bytes:
        return rendered
    order = sorted(
        ((e, r) for e, env_blocks in enumerate(blocks) for r in range(len(env_blocks))),
        key=lambda er: (-blocks[er[0]][er[1]].size, er),
    )
    total = sum(len(env_blocks) for env_blocks in blocks)
    cut: set[tuple[int, int]] = set()
    position = 0
    while _size_of(rendered) > max_bytes and position < len(order):
        deficit = _size_of(rendered) - max_bytes
        saved = 0
        while saved < deficit and position < len(order):
            e, r = order[position]
            saved += blocks[e][r].size
            cut.add(order[position])
            position += 1
        note = (
            f"> {len(cut)} of {total} resource diffs left out to fit {max_bytes} bytes, "
            "largest first (the lists still name every resource); "
            "run `toolkit diff --output-full FILE` for all of them.\n\n"
        )
        rendered = _render_markdown(report, blocks, cut, None, note)
    limit = max((len(env.changes) for env in report.environments), default=0)
    note = (
        f"> All {total} resource diffs left out to fit {max_bytes} bytes; "
        "run `toolkit diff --output-full FILE` for them.\n\n"
    )
    if _size_of(rendered) > max_bytes:
        rendered = _render_markdown(report, blocks, cut, limit, note)
    while _size_of(rendered) > max_bytes and limit > 0:
        limit //= 2
        rendered = _render_markdown(report, blocks, cut, limit, note)
    return rendered


def formatted(report: DiffReport, fmt: str, *, max_bytes: int | None, color: bool) -> str:
    """The report in one of the formats `toolkit diff --format` offers."""
    if fmt == "markdown":
        return markdown(report, max_bytes=max_bytes)
    if fmt == "json":
        return as_json(report)
    return text(report, color=color)


def write_full(path: Path, content: str) -> None:
    """Write the uncut report beside the comment, whole or not at all."""
    atomicfiles.replace_file(path.absolute(), content.encode(), shown=f"--output-full {path}")
