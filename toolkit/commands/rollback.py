"""`toolkit rollback ENV --to REF`: ENV's source files as they were at REF, as a new commit.

The plan is a promotion's, from ENV at REF into ENV (promote/rollback.py); with `dry_run` it
is shown with ENV's rendered diff and nothing is written; otherwise every file is written
(all or none) and committed with a trailer naming what was rolled back. The rendered branch
then moves forward when the commit is hydrated: never backwards is untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from toolkit.config.project import Config
from toolkit.diff import comparison, formats
from toolkit.promote import dryrun, writer
from toolkit.promote import rollback as rollback_plan
from toolkit.promote.planning import Plan
from toolkit.render.settings import RenderSettings


@dataclass(frozen=True)
class RollbackResult:
    plan: Plan
    diff: comparison.DiffReport | None  # the dry run's
    commit: writer.CommitResult | None
    dry_run: bool

    @property
    def exit_code(self) -> int:
        """1 when a dry run finds something to roll back (as `promote --dry-run`)."""
        return 1 if self.dry_run and self.plan.changes_anything else 0

    def lines(self) -> list[str]:
        lines = rollback_plan.describe(self.plan)
        if self.diff is not None:
            lines += ["", *dryrun.describe(self.diff, after="rollback")]
        if self.commit is not None:
            lines.append(self.commit.summary())
        return lines

    def as_dict(self) -> dict[str, Any]:
        document = writer.as_dict(self.plan)
        document["diff"] = formats.as_dict(self.diff) if self.diff else None
        document["written"] = not self.dry_run and self.plan.changes_anything
        document["commit"] = self.commit.commit if self.commit else None
        document["pushedTo"] = self.commit.pushed_to if self.commit else None
        return document


@dataclass(frozen=True)
class RollbackOptions:
    environment: str
    ref: str  # the tag or commit ENV goes back to
    dry_run: bool = False
    allow_dirty: bool = False
    publishing: writer.Publishing = writer.LOCAL_ONLY  # the commit's author; where it is pushed


def rollback(config: Config, options: RollbackOptions, settings: RenderSettings) -> RollbackResult:
    """The rollback of ENV to REF: planned, then shown (``dry_run``) or written and committed
    (and pushed, as ``publishing`` says)."""
    plan = rollback_plan.plan_rollback(
        config, options.environment, options.ref, allow_dirty=options.allow_dirty
    )
    dry_run = options.dry_run
    if not plan.changes_anything:
        return RollbackResult(plan, None, None, dry_run)
    if dry_run:
        diff = dryrun.rendered_diff(plan, settings)
        return RollbackResult(plan, diff, None, dry_run)
    publishing = writer.check_branch(config, None, options.publishing)
    message = rollback_plan.commit_message(plan)
    writer.apply(plan)
    result = writer.commit(
        plan,
        message=message,
        branch=None,
        tag=False,
        publishing=publishing,
        notify=settings.reporter.note,
    )
    return RollbackResult(plan, None, result, dry_run)
