"""The rendered diff as one self-contained HTML page (`toolkit diff --format html`), for a CI
artifact: the summary, then each environment and each resource collapsible, with its unified
diff. It loads nothing (its Content-Security-Policy forbids every fetch and every script) and
runs no script: `<details>` does the collapsing.

Every body printed here comes from comparison.py, where secret values were already redacted;
every piece of text is escaped.
"""

from __future__ import annotations

from html import escape

from toolkit.diff import wording
from toolkit.diff.comparison import DiffReport, EnvironmentDiff, ResourceChange
from toolkit.manifests.model import ChangeKind

_STYLE = """\
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 80em; color: #1f2328; }
code, pre { font: 12px/1.4 ui-monospace, monospace; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #d0d7de; padding: .25em .75em; }
td.n { text-align: right; }
details { margin: .5em 0; }
details.environment > summary { font-size: 1.2em; font-weight: 600; }
details.resource { margin-left: 1.5em; }
pre.diff { background: #f6f8fa; padding: .5em; overflow-x: auto; }
.add { background: #dafbe1; } .del { background: #ffebe9; } .hunk { color: #0969da; }
.file { font-weight: 600; } .note { color: #59636e; }
"""
_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def _code(text: str) -> str:
    return f"<code>{escape(text)}</code>"


def _diff_line(line: str) -> str:
    kind = (
        "file"
        if line.startswith(("+++", "---"))
        else "add"
        if line.startswith("+")
        else "del"
        if line.startswith("-")
        else "hunk"
        if line.startswith("@@")
        else ""
    )
    shown = escape(line)
    return f'<span class="{kind}">{shown}</span>' if kind else shown


def _resource(change: ResourceChange, report: DiffReport, anchor: str) -> str:
    title = (
        f"renamed {_code(str(change.renamed_from))} → {_code(change.id.name)}"
        if change.renamed_from is not None
        else f"{escape(change.change)} {_code(str(change.id))}"
    )
    paths, noise_left_out = wording.shown_paths(change, report)
    if paths and change.change not in (ChangeKind.ADDED, ChangeKind.REMOVED):
        title += ": " + ", ".join(_code(p) for p in paths)
    if noise_left_out:
        title += " (and bookkeeping labels)"
    title += wording.rollout_note(change, code=_code)
    if change.secret_data_changed:
        title += " (secret data changed)"
    lines = [_diff_line(line) for line in change.diff.splitlines()]
    lines += [escape(f"# {wording.secret_line(k)}") for k in change.secret_keys]
    body = "\n".join(lines)
    return (
        f'<details class="resource" id="{anchor}"><summary>{title}</summary>\n'
        f'<pre class="diff" id="{anchor}-diff">{body}</pre>\n</details>\n'
    )


def _environment(report: DiffReport, env: EnvironmentDiff, number: int) -> str:
    out = [
        f'<details class="environment" id="env-{number}">'
        f"<summary>{escape(env.name)}: {escape(wording.counts(env))}</summary>\n"
    ]
    folded = wording.folded_releases(env)
    if folded:
        out.append("<ul>\n")
        out += [
            f"<li>{_code(source)}: {escape(wording.folded_phrase(rule, count))} "
            f"(noise rule {_code(rule)})</li>\n"
            for source, rule, count in folded
        ]
        out.append("</ul>\n")
    out += [
        _resource(change, report, f"env-{number}-{index}")
        for index, change in enumerate(env.shown, 1)
    ]
    out.append("</details>\n")
    return "".join(out)


def _summary(report: DiffReport) -> list[str]:
    out = [f"<p>{wording.revisions_line(report, code=_code, text=escape)}</p>\n"]
    versions = wording.version_lines(report, code=_code, text=escape)
    if versions:
        out.append("<h2>What changed</h2>\n<ul>\n")
        out += [f"<li>{line}</li>\n" for line in versions]
        out.append("</ul>\n")
    findings = [f for env in report.validation for f in env.findings]
    if findings:
        out.append(f"<h2>Validation of the head: {len(findings)} findings</h2>\n<ul>\n")
        out += [
            f"<li>{escape(f.severity.value)} {_code(f.location)} {_code(f.resource)}: "
            f"{escape(f.message)} ({_code(f.rule)})</li>\n"
            for f in findings
        ]
        out.append("</ul>\n")
    folded = any(env.folded for env in report.environments)
    out.append("<table>\n<tr><th>environment</th><th>added</th><th>changed</th><th>removed</th>")
    out.append("<th>folded</th></tr>\n" if folded else "</tr>\n")
    for env in report.environments:
        cells = [env.added, env.changed, env.removed, *([env.folded] if folded else [])]
        numbers = "".join(f'<td class="n">{n}</td>' for n in cells)
        out.append(f"<tr><td>{escape(env.name)}</td>{numbers}</tr>\n")
    out.append("</table>\n")
    out += [
        f'<p class="note">{wording.noise_line(*counted, code=_code)}</p>\n'
        for counted in wording.noise_counts(report)
    ]
    if not report.differs_at_all:
        out.append("<p>No differences.</p>\n")
    return out


def page(report: DiffReport) -> str:
    """The whole page: summary, then a collapsed section per environment with changes."""
    out = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">\n',
        "<title>Rendered diff</title>\n",
        f"<style>\n{_STYLE}</style>\n</head>\n<body>\n<h1>Rendered diff</h1>\n",
        *_summary(report),
    ]
    out += [
        _environment(report, env, number)
        for number, env in enumerate(report.environments, 1)
        if env.changes
    ]
    out.append("</body>\n</html>\n")
    return "".join(out)
