"""`toolkit diff`: the rendered difference between two revisions, resource by resource."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.diff import comment, comparison, formats, noise, revisiondiff, split
from toolkit.infra import jsondoc
from toolkit.render.settings import RenderSettings


@dataclass(frozen=True)
class DiffOptions:
    environments: tuple[str, ...] = ()  # all the head defines when none
    base: str | None = None  # default: the merge-base with main
    head: str | None = None  # default: the work tree
    format: str = "text"  # text, markdown, json or html
    color: bool = False  # colour the text format (a terminal)
    exit_code: bool = False  # exit 1 when anything differs
    strict: bool = False  # what a noise rule folded counts for exit_code too
    unfolded: tuple[str, ...] = ()  # noise rules turned off: their changes listed
    max_bytes: int = comment.DEFAULT_MAX_BYTES  # the markdown comment's budget
    output_full: Path | None = None  # also write the uncut report here
    split_into: Path | None = None  # write numbered comments here instead of one
    show_secrets: bool = False


@dataclass(frozen=True)
class DiffResult:
    report: comparison.DiffReport
    text: str  # the report in the format asked for, cut to its budget
    exit_code: int
    comments: tuple[Path, ...] = ()  # the comment files --split wrote, in order

    def as_dict(self) -> dict[str, Any]:
        return formats.as_dict(self.report)


def diff(root: Path, options: DiffOptions, settings: RenderSettings) -> DiffResult:
    report = revisiondiff.diff_revisions(
        root,
        options.environments,
        base=options.base,
        head=options.head,
        settings=settings,
        show_secrets=options.show_secrets,
        fold=[rule for rule in noise.DEFAULT_FOLDING if rule not in options.unfolded],
    )
    if options.output_full is not None:
        full = _formatted(report, options.format, max_bytes=None, color=False)
        formats.write_full(options.output_full, full)
    comments: tuple[Path, ...] = ()
    text = ""
    if options.split_into is not None:
        comments = tuple(split.write_comments(options.split_into, report, options.max_bytes))
    else:
        text = _formatted(report, options.format, max_bytes=options.max_bytes, color=options.color)
    differs = report.differs_at_all if options.strict else report.differs
    return DiffResult(report, text, 1 if options.exit_code and differs else 0, comments)


def _formatted(
    report: comparison.DiffReport, fmt: str, *, max_bytes: int | None, color: bool
) -> str:
    if fmt == "json":  # the document every --json prints (JSON has no byte budget)
        return jsondoc.document("diff", formats.as_dict(report))
    return formats.formatted(report, fmt, max_bytes=max_bytes, color=color)
