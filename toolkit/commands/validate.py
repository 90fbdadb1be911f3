"""`toolkit validate`: render (the work tree, or a revision) and check every environment."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace

from toolkit.config.project import Config
from toolkit.diff import determinism, revisions
from toolkit.infra import git
from toolkit.render import rendering
from toolkit.render.settings import RenderSettings
from toolkit.validate.findings import Severity
from toolkit.validate.report import ValidateResult, check_renders


@dataclass(frozen=True)
class ValidateOptions:
    environments: tuple[str, ...] = ()  # all when none
    ref: str | None = None  # a revision to validate instead of the work tree
    strict: bool = False  # a custom kind without a schema is an error
    determinism: bool = False  # render twice, uncached, and report what differs


def validate(config: Config, options: ValidateOptions, settings: RenderSettings) -> ValidateResult:
    """Render the work tree (`config` is its configuration) or `options.ref`, and check the
    named environments."""
    with contextlib.ExitStack() as stack:
        commit = None
        if options.ref is not None:
            repo = git.toplevel(config.root)
            commit = revisions.commit_named(repo, options.ref, "--ref")
            config = revisions.Side("ref", repo, config.root, commit, stack).config()
        chosen = config.select(options.environments)
        first = replace(settings, use_cache=settings.use_cache and not options.determinism)
        renders = rendering.render_environments(config, chosen, first)
        reports = check_renders(config, renders, strict=options.strict)
        if options.determinism:
            again = rendering.render_environments(
                config, chosen, replace(settings, use_cache=False)
            )
            reports = determinism.with_findings(
                reports, determinism.determinism_findings(config, renders, again, Severity.ERROR)
            )
    for report in reports:
        for note in report.notes:
            settings.reporter.note(note)
    return ValidateResult(reports, commit)
