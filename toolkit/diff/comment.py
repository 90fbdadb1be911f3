"""The rendered diff as a pull-request comment: a summary table, then a collapsible section
per environment, within a byte budget (GitHub refuses a comment over 65,536 characters).

Every body printed here comes from comparison.py, where secret values were already redacted;
the key summaries carry sizes only. Every name is escaped or in a code span: a resource name is
the author's text, and the comment is read as markdown and HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from toolkit.diff import wording
from toolkit.diff.comparison import DiffReport, EnvironmentDiff, ResourceChange
from toolkit.manifests.model import ChangeKind

DEFAULT_MAX_BYTES = 65_000
# Below this a comment cannot hold even a few environments' summary rows.
MIN_MAX_BYTES = 2_000
# The first line of every comment: how a CI job finds the comment it posted before.
MARKER = "<!-- toolkit-rendered-diff -->"

_BACKTICKS = re.compile(r"`+")
_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _code(text: str) -> str:
    """Inline code that cannot be broken out of: backticks and pipes (tables) replaced, and
    control characters shown escaped (a line break could end the paragraph, and the span)."""
    shown = _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode(), text)
    return "`" + shown.replace("`", "'").replace("|", "\\|") + "`"


def _text(text: str) -> str:
    """Plain text in markdown: every ASCII punctuation character backslash-escaped (CommonMark
    then shows it as itself, never as markup or HTML)."""
    return _PUNCTUATION.sub(r"\\\g<0>", _CONTROL.sub(" ", text))


def html_text(text: str) -> str:
    """Text inside an HTML element (`<summary>`): markdown is not read there, so it is escaped
    as HTML, line breaks included."""
    return html.escape(_CONTROL.sub(" ", text))


def markdown_title(change: ResourceChange) -> str:
    """`wording.title` with every name in a code span: a heading is read as markdown and HTML."""
    if change.change == ChangeKind.RENAMED and change.renamed_from is not None:
        return f"renamed {_code(str(change.renamed_from))} → {_code(change.id.name)}"
    return f"{change.change} {_code(str(change.id))}"


def fence(body: str) -> str:
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
        return size_of(self.heading) + size_of(self.body)


def change_line(change: ResourceChange, report: DiffReport) -> str:
    line = f"- {markdown_title(change)}"
    paths, noise_left_out = wording.shown_paths(change, report)
    if paths and change.change not in (ChangeKind.ADDED, ChangeKind.REMOVED):
        shown = ", ".join(_code(p) for p in paths[:5])
        more = f" and {len(paths) - 5} more" if len(paths) > 5 else ""
        line += f": {shown}{more}"
    if noise_left_out:
        line += " (and bookkeeping labels)"
    line += wording.rollout_note(change, code=_code)
    if change.secret_data_changed:
        line += " (secret data changed)"
    return line


def diff_body(change: ResourceChange) -> str:
    """The unified diff of a resource, its secret keys' summary after it."""
    return change.diff + "".join(f"# {wording.secret_line(k)}\n" for k in change.secret_keys)


def _block(change: ResourceChange) -> _Block:
    body = diff_body(change)
    return _Block(heading=f"#### {markdown_title(change)}\n\n", body=fenced(body))


def fenced(body: str) -> str:
    """A diff body in a fence it cannot close."""
    around = fence(body)
    return f"{around}diff\n{body}{around}\n\n"


def summary(report: DiffReport) -> list[str]:
    """What stays whatever the budget: the heading, what changed (versions, images, the head's
    validation), the table and the noise folded."""
    folded = any(env.folded for env in report.environments)
    out = [
        f"{MARKER}\n## Rendered diff\n\n",
        wording.revisions_line(report, code=_code, text=_text) + "\n\n",
        *_versions_section(report),
        *_validation_section(report),
        "| environment | added | changed | removed |" + (" folded |" if folded else "") + "\n",
        "|---|---:|---:|---:|" + ("---:|" if folded else "") + "\n",
    ]
    for env in report.environments:
        row = f"| {_text(env.name)} | {env.added} | {env.changed} | {env.removed} |"
        out.append(row + (f" {env.folded} |" if folded else "") + "\n")
    out.append("\n")
    out += [
        f"> {wording.noise_line(*counted, code=_code)}\n\n"
        for counted in wording.noise_counts(report)
    ]
    return out


VERSION_LINES = 30  # chart and image changes listed; the sections below hold every change


def _versions_section(report: DiffReport) -> list[str]:
    """The chart versions and images that changed, per environment, one line each."""
    lines = wording.version_lines(report, code=_code, text=_text)
    if not lines:
        return []
    out = ["**What changed**\n\n"]
    out += [f"- {line}\n" for line in lines[:VERSION_LINES]]
    if len(lines) > VERSION_LINES:
        out.append(f"- … and {len(lines) - VERSION_LINES} more\n")
    return [*out, "\n"]


def folded_lines(env: EnvironmentDiff) -> list[str]:
    """One line per release for the changes a noise rule folded."""
    return [
        f"- {_code(source)}: {wording.folded_phrase(rule, count)} (noise rule {_code(rule)})\n"
        for source, rule, count in wording.folded_releases(env)
    ]


def _render_markdown(
    report: DiffReport,
    blocks: Sequence[Sequence[_Block]],
    cut: set[tuple[int, int]],
    list_limit: int | None,
    budget_note: str,
) -> str:
    out = summary(report)
    if not report.differs_at_all:
        out.append("No differences.\n")
    elif not report.differs:
        out.append("No differences but the noise folded below.\n\n")
    if budget_note:
        out.append(budget_note)
    for e, env in enumerate(report.environments):
        if not env.changes:
            continue
        out.append(f"<details><summary>{html_text(env.name)}: {wording.counts(env)}</summary>\n\n")
        out += folded_lines(env)
        listed = env.shown if list_limit is None else env.shown[:list_limit]
        out += [change_line(c, report) + "\n" for c in listed]
        if len(listed) < len(env.shown):
            out.append(f"- … and {len(env.shown) - len(listed)} more\n")
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


def size_of(text: str) -> int:
    return len(text.encode())


def markdown(report: DiffReport, *, max_bytes: int | None = DEFAULT_MAX_BYTES) -> str:
    """The PR comment: a summary table, then a collapsible section per environment.

    To fit `max_bytes`, resource bodies are cut largest first; the summary and the list of
    changed resources stay. Only when the bodies are all gone and it still does not fit are the
    diff sections dropped and then the lists shortened (the table always stays).
    """
    blocks = [[_block(c) for c in env.shown] for env in report.environments]
    rendered = _render_markdown(report, blocks, set(), None, "")
    if max_bytes is None or size_of(rendered) <= max_bytes:
        return rendered
    order = sorted(
        ((e, r) for e, env_blocks in enumerate(blocks) for r in range(len(env_blocks))),
        key=lambda er: (-blocks[er[0]][er[1]].size, er),
    )
    total = sum(len(env_blocks) for env_blocks in blocks)
    cut: set[tuple[int, int]] = set()
    position = 0
    while size_of(rendered) > max_bytes and position < len(order):
        deficit = size_of(rendered) - max_bytes
        saved = 0
        while saved < deficit and position < len(order):
            e, r = order[position]
            saved += blocks[e][r].size
            cut.add(order[position])
            position += 1
        note = (
            f"> {len(cut)} of {total} resource diffs left out to fit {max_bytes} bytes, "
            "largest first (the lists still name every resource); "
            "`toolkit diff --split DIR` writes them all as several comments.\n\n"
        )
        rendered = _render_markdown(report, blocks, cut, None, note)
    limit = max((len(env.shown) for env in report.environments), default=0)
    note = (
        f"> All {total} resource diffs left out to fit {max_bytes} bytes; "
        "`toolkit diff --split DIR` writes them all as several comments.\n\n"
    )
    if size_of(rendered) > max_bytes:
        rendered = _render_markdown(report, blocks, cut, limit, note)
    while size_of(rendered) > max_bytes and limit > 0:
        limit //= 2
        rendered = _render_markdown(report, blocks, cut, limit, note)
    return rendered
