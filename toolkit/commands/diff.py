"""`toolkit diff`: the rendered difference between two revisions, resource by resource."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from toolkit.diff import comparison, formats
from toolkit.render.settings import RenderSettings


@dataclass(frozen=True)
class DiffOptions:
    environments: tuple[str, ...] = ()  # all the head defines when none
    base: str | None = None  # default: the merge-base with main
    head: str | None = None  # default: the work tree
    format: str = "text"  # text, markdown or json
    color: bool = False  # colour the text format (a terminal)
    exit_code: bool = False  # exit 1 when anything differs
    max_bytes: int = formats.DEFAULT_MAX_BYTES  # the markdown comment's budget
    output_full: Path | None = None  # also write the uncut report here
    show_secrets: bool = False


@dataclass(frozen=True)
class DiffResult:
    report: comparison.DiffReport
    text: str  # the report in the format asked for, cut to its budget
    exit_code: int


def diff(root: Path, options: DiffOptions, settings: RenderSettings) -> DiffResult:
    report = comparison.diff_revisions(
        root,
        options.environments,
        base=options.base,
        head=options.head,
        settings=settings,
        show_secrets=options.show_secrets,
    )
    if options.output_full is not None:
        full = formats.formatted(report, options.format, max_bytes=None, color=False)
        formats.write_full(options.output_full, full)
    text = formats.formatted(
        report, options.format, max_bytes=options.max_bytes, color=options.color
    )
    return DiffResult(report, text, 1 if options.exit_code and report.differs else 0)
