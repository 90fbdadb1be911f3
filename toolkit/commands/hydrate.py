"""`toolkit hydrate`: render what changed and commit it to the rendered branch (or, with
`check`, say which environments are stale, writing nothing)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from toolkit.config.project import Config
from toolkit.hydrate import branchplan, envdir, rendered
from toolkit.hydrate.envdir import EnvironmentChange
from toolkit.hydrate.failures import RenderFailures, failure_as_dict
from toolkit.hydrate.rendered import HydrateResult
from toolkit.infra import git, runmemo
from toolkit.infra.errors import CheckFailed, RenderError, ToolkitError
from toolkit.render import pipeline
from toolkit.render.progress import Progress
from toolkit.render.settings import RenderSettings

if TYPE_CHECKING:
    from toolkit.render.rendering import EnvironmentRender
    from toolkit.validate.report import ValidateResult


@dataclass(frozen=True)
class HydrateCommandOptions:
    environments: tuple[str, ...] = ()  # all when none
    author: git.Identity | None = None
    committer: git.Identity | None = None
    push: bool = False
    remote: str | None = None  # where to push (default origin); with `check`, compare with it
    tag: bool = False  # tag the source commit <env>/<n> per hydrated environment
    allow_prune: bool = False
    allow_dirty: bool = False
    check: bool = False  # list the stale environments, write nothing
    shard: str | None = None  # "K/N": only the K-th of N shares of the environments
    validate: bool = False  # validate what renders first; commit nothing on an error
    keep_going: bool = False  # commit what renders, then fail (exit 3) naming what did not


@dataclass(frozen=True)
class HydrateOutcome:
    """What a hydrate committed (`results`), or what a check found (`changes`)."""

    check: bool
    results: tuple[HydrateResult, ...] = ()
    changes: tuple[EnvironmentChange, ...] = ()
    # --keep-going: the environments that failed, and the error (exit 3) that names them all
    failed: tuple[tuple[str, ToolkitError], ...] = ()
    error: RenderError | None = None

    @property
    def stale(self) -> tuple[EnvironmentChange, ...]:
        return tuple(c for c in self.changes if c.changed_anything)

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return self.error.exit_code
        return 1 if self.stale else 0

    def as_dict(self) -> dict[str, Any]:
        """One shape for a hydrate and a check: every environment (stale or not), and the
        branches written (none for a check)."""
        changes = self.changes or tuple(c for r in self.results for c in r.changes)
        work = {c.environment: _work(r, c.environment) for r in self.results for c in r.changes}
        return {
            "check": self.check,
            "stale": [c.environment for c in changes if c.changed_anything],
            "environments": [
                {
                    "name": c.environment,
                    "stale": c.changed_anything,
                    "added": list(c.added),
                    "changed": list(c.changed),
                    "removed": list(c.removed),
                    "skipped": c.skipped,
                    **work.get(c.environment, {}),
                }
                for c in changes
            ],
            "branches": [_result_as_dict(result) for result in self.results],
            "failed": [failure_as_dict(name, error) for name, error in self.failed],
            "exitCode": self.exit_code,
        }

    def lines(self, *, unchanged: bool = True) -> list[str]:
        """One line per environment and one per branch, for people; the environments that
        did not change only with `unchanged` (-v), and always a line that sums it up."""
        if self.check:
            lines = [
                ("stale: " if c.changed_anything else "") + envdir.describe_change(c)
                for c in self.changes
                if unchanged or c.changed_anything
            ]
            total = len(self.changes)
            if self.stale:
                lines.append(f"{len(self.stale)} of {total} environments stale")
            else:
                lines.append(f"up to date: {total} environment{'s' if total != 1 else ''}")
            return lines
        lines = []
        for result in self.results:
            lines += [
                envdir.describe_change(c)
                for c in result.changes
                if unchanged or c.changed_anything or c.skipped
            ]
            where = " and pushed" if result.pushed else ""
            if result.commit:
                lines.append(f"{result.branch}: committed {result.commit[:12]}{where}")
            else:
                lines.append(f"{result.branch}: nothing to commit")
            lines += [f"tagged {name}" for name in result.tags]
            lines += [
                f"note: local {ref} has commits the remote does not; it was left as it was"
                for ref in result.left_behind
            ]
        return lines


def _work(result: HydrateResult, environment: str) -> dict[str, Any]:
    """What a hydrate (not a check) did for an environment: loaded it (else settled it from
    git), and its helm and kustomize renders, how many from the cache."""
    renders, cached = result.renders.get(environment, (0, 0))
    return {
        "loaded": environment in result.loaded,
        "renders": renders,
        "rendersFromCache": cached,
    }


def _result_as_dict(result: HydrateResult) -> dict[str, Any]:
    return {
        "name": result.branch,
        "commit": result.commit,
        # A --push run marks every branch pushed; one it made no commit for sent nothing.
        "pushed": result.pushed and result.commit is not None,
        "environments": [c.environment for c in result.changes],
        "tags": list(result.tags),
        "leftBehind": list(result.left_behind),
    }


def gate(
    config: Config,
    renders: Sequence[EnvironmentRender],
    again: Sequence[EnvironmentRender] | None,
) -> ValidateResult:
    """`hydrate --validate`: the findings of what is about to be committed; `again`, a second
    uncached render, when `validate.determinism` asks for reproducible output."""
    from toolkit.diff import determinism
    from toolkit.validate.findings import Severity
    from toolkit.validate.report import ValidateResult, check_renders

    reports = check_renders(config, renders)
    if again is not None:
        severity = Severity(config.validate.determinism)
        found = determinism.determinism_findings(config, renders, again, severity)
        reports = determinism.with_findings(reports, found)
    return ValidateResult(reports, None)


def hydrate(
    config: Config, options: HydrateCommandOptions, settings: RenderSettings
) -> HydrateOutcome:
    # One run (runmemo): a hydrate reads the work tree and never writes it, so what its stages
    # ask of it (where the repository is, a values file's parse) is asked once.
    with runmemo.run():
        return _hydrate(config, options, settings)


def _hydrate(
    config: Config, options: HydrateCommandOptions, settings: RenderSettings
) -> HydrateOutcome:
    report = settings.reporter
    selected = config.select(options.environments)
    if options.shard is not None:
        from toolkit.hydrate import shard

        selected = tuple(shard.pick(selected, *shard.parse(options.shard)))
        picked = ", ".join(e.name for e in selected) or "no environments"
        report.line(f"shard {options.shard}: {picked}")
        if not selected:
            return HydrateOutcome(options.check)
    work_tree = envdir.refuse_dirty(config.root, allow_dirty=options.allow_dirty)
    source = envdir.current_source(config.root, work_tree)
    planner = pipeline.Planner(config, selected, settings)
    progress = Progress(report)
    failures = RenderFailures(notify=progress.failed)

    def render(names: Collection[str]) -> list[EnvironmentRender]:
        # Imported here, as the validation's checks in `gate`: a run with nothing to render
        # (most, in CI) spends its time starting, so it imports only what decides that.
        from toolkit.render import rendering

        plan = planner.run_plan(names)
        renders = rendering.render_plan(
            plan,
            parallel=settings.jobs,
            cache=rendering.default_cache(settings),
            only=names,
            failed=failures.add if options.keep_going else None,
            on_environment=progress.rendered,
            watcher=settings.watcher,
        )
        names = [done.name for done in renders]  # --keep-going: what rendered goes on
        for done in renders:
            for note in done.tree.notes:
                report.note(note)
        if options.validate:
            again = None
            if config.validate.determinism != "off":
                again = rendering.render_plan(
                    plan, parallel=settings.jobs, cache=None, only=names, watcher=settings.watcher
                )
            result = gate(config, renders, again)
            for line in result.lines():
                # Findings that stop the commit are shown even with -q.
                (report.always if result.failed else report.line)(line)
            if result.failed:
                raise CheckFailed("validation found errors: nothing was committed or pushed")
        return renders

    if options.check:
        changes = rendered.check(
            config,
            planner,
            render,
            source,
            work_tree,
            remote=options.remote,
            incremental=settings.use_cache,
            allow_prune=options.allow_prune,
        )
        outcome = HydrateOutcome(True, changes=tuple(changes))
    else:
        write = branchplan.HydrateOptions(
            author=options.author,
            committer=options.committer,
            push=options.push,
            remote=options.remote or "origin",
            tag=options.tag,
            incremental=settings.use_cache,
            allow_prune=options.allow_prune,
        )
        results = rendered.hydrate(
            config, planner, render, source, work_tree, write, notify=report.line
        )
        outcome = HydrateOutcome(False, results=tuple(results))
    settled = len(selected) - len(planner.planned)
    why = " (nothing they read changed since their render)"
    rest = f"; {settled} settled from git{why}" if settled else ""
    report.line(f"loaded {len(planner.planned)} of {len(selected)} environments{rest}", level=1)
    # What was done is said first, then the failures (exit 3).
    error = failures.error(
        done="the others were checked" if options.check else "the others were hydrated"
    )
    return replace(outcome, failed=tuple(failures.errors.items()), error=error)
