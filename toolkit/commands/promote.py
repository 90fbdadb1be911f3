"""`toolkit promote`: make DST run what SRC runs (chart versions, image tags and
`promotion.copy` files), then write, commit and tag; or, as a dry run, show the plan and DST's
rendered diff."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from toolkit.config.project import Config
from toolkit.diff import comparison, formats
from toolkit.infra import git
from toolkit.promote import dryrun, planning, writer
from toolkit.render.settings import RenderSettings


@dataclass(frozen=True)
class PromoteOptions:
    source: str
    target: str
    ref: str | None = None  # read SRC as it was at this tag or commit
    only: tuple[str, ...] = ()  # only these releases or images; all when none
    dry_run: bool = False
    commit: bool = False
    branch: str | None = None  # with commit: on this new branch
    tag: bool = False  # with commit: tag it promote/<DST>/<n>
    author: git.Identity | None = None  # with commit: its author (else who git says)
    push: str | None = None  # with commit: push it to this remote
    force: bool = False  # allow skipping a stage or promoting backwards
    allow_dirty: bool = False


@dataclass(frozen=True)
class PromoteResult:
    plan: planning.Plan
    dry_run: bool
    diff: comparison.DiffReport | None = None  # the dry run's rendered diff of DST
    commit: writer.CommitResult | None = None

    @property
    def written(self) -> bool:
        return not self.dry_run and self.plan.changes_anything

    @property
    def exit_code(self) -> int:
        """A dry run that finds work to do exits 1, as `hydrate --check` does."""
        return 1 if self.dry_run and self.plan.changes_anything else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            **writer.as_dict(self.plan),
            "diff": formats.as_dict(self.diff) if self.diff else None,
            "written": self.written,
            "commit": self.commit.commit if self.commit else None,
            "branch": self.commit.branch if self.commit else None,
            "tag": self.commit.tag if self.commit else None,
            "pushedTo": self.commit.pushed_to if self.commit else None,
        }

    def lines(self) -> list[str]:
        lines = writer.describe(self.plan)
        if self.diff is not None:
            lines += ["", *dryrun.describe(self.diff)]
        if self.commit is not None:
            lines.append(self.commit.summary())
        return lines


def promote(config: Config, options: PromoteOptions, settings: RenderSettings) -> PromoteResult:
    plan = planning.plan_promotion(
        config,
        options.source,
        options.target,
        ref=options.ref,
        only=options.only,
        force=options.force,
        allow_dirty=options.allow_dirty,
    )
    if not plan.changes_anything:
        return PromoteResult(plan, options.dry_run)
    if options.dry_run:
        report = dryrun.rendered_diff(plan, settings)
        return PromoteResult(plan, True, diff=report)
    publishing = writer.check_branch(
        config,
        options.branch if options.commit else None,
        writer.Publishing(author=options.author, remote=options.push),
    )
    writer.apply(plan)
    settings.reporter.line(f"{options.target}: wrote {len(plan.writes)} file(s)")
    made = None
    if options.commit:
        message = writer.commit_message(plan)
        made = writer.commit(
            plan,
            message=message,
            branch=options.branch,
            tag=options.tag,
            publishing=publishing,
            notify=settings.reporter.note,
        )
    return PromoteResult(plan, False, commit=made)
