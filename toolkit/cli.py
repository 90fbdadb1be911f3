"""click commands: parse, call, print. No logic lives here."""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from toolkit import __version__
from toolkit.charts import lockfile
from toolkit.config import project
from toolkit.diff import comment, comparison, formats, noise, split
from toolkit.hydrate import envdir, outputdir, rendered
from toolkit.hydrate import shard as shard_module
from toolkit.infra import atomicfiles, git
from toolkit.infra.errors import CheckFailed, ToolkitError
from toolkit.render import pipeline, tools

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Context:
    """The shared flags, as every command receives them."""

    root: Path
    jobs: int
    locked: bool
    verbosity: int
    tool_choice: pipeline.ToolChoice
    use_cache: bool = True  # --no-cache: render everything, answer nothing from the render cache

    def load(self) -> project.Config:
        """The configuration, once a write that a killed run left half done is put back."""
        for path in atomicfiles.recover(self.root):
            self.info(f"note: {path}: put back as it was (a toolkit run was killed writing it)")
        return project.load_config(self.root)

    def info(self, message: str) -> None:
        if self.verbosity >= 0:
            click.echo(message, err=True)

    def detail(self, message: str) -> None:
        """A note for -v only."""
        if self.verbosity > 0:
            click.echo(f"note: {message}", err=True)


def _run_guarded(debug: bool, call: Callable[[], int | None]) -> None:
    """The one place expected failures become a message and an exit code."""
    try:
        code = call()
    except ToolkitError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(code or 0)


def guarded(func: F) -> F:
    """Run a command body, turning ToolkitError into one message and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        debug = bool(click.get_current_context().find_root().params.get("debug"))
        _run_guarded(debug, lambda: func(*args, **kwargs))

    return wrapper  # type: ignore[return-value]


pass_context = click.make_pass_decorator(Context)
environments_argument = click.argument("environments", metavar="[ENV]...", nargs=-1)
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="toolkit")
@click.option(
    "-C",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    help="Repository root (where toolkit.yaml is).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Parallel renders (default: CPU count).",
)
@click.option(
    "--locked", is_flag=True, help="A stale releases.lock is an error, not resolved in memory."
)
@click.option("-v", "--verbose", count=True, help="Say more.")
@click.option("-q", "--quiet", count=True, help="Say less.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Run every helm and kustomize render (bypass the render cache and incremental hydrate).",
)
@click.option("--helm", "helm_path", envvar=None, default=None, help="The helm binary to use.")
@click.option(
    "--kustomize", "kustomize_path", default=None, help="The kustomize (or kubectl) binary to use."
)
@click.pass_context
def main(
    ctx: click.Context,
    root: Path,
    jobs: int | None,
    locked: bool,
    verbose: int,
    quiet: int,
    debug: bool,
    helm_path: str | None,
    kustomize_path: str | None,
    no_cache: bool,
) -> None:
    """Render, hydrate, promote and diff a GitOps config repository."""
    ctx.obj = Context(
        root=root.resolve(),
        jobs=jobs or os.cpu_count() or 1,
        locked=locked,
        verbosity=verbose - quiet,
        tool_choice=pipeline.ToolChoice(helm_path, kustomize_path),
        use_cache=not no_cache,
    )


@main.command("render")
@environments_argument
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write `<DIR>/<env>/…` instead of printing to stdout.",
)
@pass_context
@guarded
def render_command(obj: Context, environments: tuple[str, ...], output: Path | None) -> int:
    """Render environments to a directory or stdout; touches nothing else."""
    cfg = obj.load()
    renders = pipeline.render_environments(
        cfg,
        cfg.select(environments),
        tool_choice=obj.tool_choice,
        parallel=obj.jobs,
        locked=obj.locked,
        use_cache=obj.use_cache,
        notify=obj.detail,
    )
    for render in renders:
        for warning in render.warnings:
            obj.info(f"warning: {warning}")
        for note in render.tree.notes:
            obj.info(f"note: {note}")
    if output is None:
        click.echo(outputdir.as_stream(renders), nl=False)
    else:
        source = envdir.source_or_none(cfg.root)
        trees = [envdir.environment_files(render, source) for render in renders]
        outputdir.write_environments(output, trees)
        for render in renders:
            obj.info(f"{render.name}: {len(render.tree.files)} files in {output / render.name}")
    return 0


@main.command("hydrate")
@environments_argument
@click.option("--allow-dirty", is_flag=True, help="Hydrate even with uncommitted changes.")
@click.option("--push", is_flag=True, help="Push the rendered branch (retrying on a lost race).")
@click.option(
    "--remote",
    default=None,
    help="The remote to push to (default: origin); with --check, compare with its branch.",
)
@click.option("--check", is_flag=True, help="Exit 1 and list stale environments; write nothing.")
@click.option("--shard", default=None, metavar="K/N", help="Only the K-th of N shares of ENVs.")
@click.option("--author", default=None, metavar="'NAME <EMAIL>'", help="The commit's author.")
@click.option("--committer", default=None, metavar="'NAME <EMAIL>'", help="The commit's committer.")
@click.option("--tag", is_flag=True, help="Tag the source commit <env>/<n> per hydrated env.")
@click.option(
    "--allow-prune",
    is_flag=True,
    help="Write an environment even where every file of it, of a release or of its Kustomize "
    "output goes.",
)
@click.option(
    "--validate",
    "validate_output",
    is_flag=True,
    help="Validate what renders first; commit nothing when it has errors.",
)
@json_option
@pass_context
@guarded
def hydrate_command(
    obj: Context,
    environments: tuple[str, ...],
    allow_dirty: bool,
    push: bool,
    remote: str | None,
    check: bool,
    shard: str | None,
    author: str | None,
    committer: str | None,
    tag: bool,
    allow_prune: bool,
    validate_output: bool,
    as_json: bool,
) -> int:
    """Render and commit to the rendered branch (and push it with --push)."""
    if check and (push or tag):
        raise click.UsageError("--check writes nothing: it cannot be combined with --push or --tag")
    options = rendered.HydrateOptions(
        author=git.parse_identity(author, what="--author") if author else None,
        committer=git.parse_identity(committer, what="--committer") if committer else None,
        push=push,
        remote=remote or "origin",
        tag=tag,
        incremental=obj.use_cache,
        allow_prune=allow_prune,
    )
    cfg = obj.load()
    selected = cfg.select(environments)
    if shard is not None:
        selected = tuple(shard_module.pick(selected, *shard_module.parse(shard)))
        obj.info(f"shard {shard}: {', '.join(e.name for e in selected) or 'no environments'}")
        if not selected:
            return 0
    work_tree = envdir.refuse_dirty(cfg.root, allow_dirty=allow_dirty)
    source = envdir.current_source(cfg.root)
    planner = pipeline.Planner(
        cfg,
        selected,
        tool_choice=obj.tool_choice,
        locked=obj.locked,
        warn=lambda warning: obj.info(f"warning: {warning}"),
    )
    cache = pipeline.default_cache(enabled=obj.use_cache, notify=obj.detail)

    def render(names: Collection[str]) -> list[pipeline.EnvironmentRender]:
        plan = planner.run_plan(names)
        renders = pipeline.render_plan(plan, parallel=obj.jobs, cache=cache, only=names)
        for done in renders:
            for note in done.tree.notes:
                obj.info(f"note: {note}")
            if obj.verbosity > 0:
                obj.info(f"{done.name}: {done.renders} renders, {done.cached} from the cache")
        if validate_output:
            from toolkit.commands import validate as validation

            again = None
            if cfg.validate.determinism != "off":
                again = pipeline.render_plan(plan, parallel=obj.jobs, cache=None, only=names)
            result = validation.gate(cfg, renders, again)
            # Findings that stop the commit are shown even with -q.
            show = functools.partial(click.echo, err=True) if result.failed else obj.info
            for line in result.lines():
                show(line)
            if result.failed:
                raise CheckFailed("validation found errors: nothing was committed or pushed")
        return renders

    def report_planned() -> None:
        if obj.verbosity > 0:
            settled = len(selected) - len(planner.planned)
            why = " (nothing they read changed since their render)"
            rest = f"; {settled} settled from git{why}" if settled else ""
            obj.info(f"loaded {len(planner.planned)} of {len(selected)} environments{rest}")

    if check:
        changes = rendered.check(
            cfg,
            planner,
            render,
            source,
            work_tree,
            remote=remote,
            incremental=obj.use_cache,
            allow_prune=allow_prune,
        )
        report_planned()
        stale = [c for c in changes if c.changed_anything]
        if as_json:
            click.echo(json.dumps({"stale": [c.environment for c in stale]}, indent=2))
        for change in changes:
            obj.info(("stale: " if change in stale else "") + envdir.describe_change(change))
        return 1 if stale else 0
    results = rendered.hydrate(cfg, planner, render, source, work_tree, options, notify=obj.info)
    report_planned()
    if as_json:
        click.echo(json.dumps([rendered.result_as_dict(r) for r in results], indent=2))
    else:
        for line in rendered.describe_results(results):
            obj.info(line)
    return 0


@main.command("init")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--argocd",
    "operator",
    flag_value="argocd",
    default=True,
    help="An Argo CD Application per environment (the default).",
)
@click.option("--flux", "operator", flag_value="flux", help="A Flux Kustomization per environment.")
@click.option("--chart", metavar="NAME", default=None, help="Add a chart made by `helm create`.")
@click.option(
    "--from",
    "adopt",
    is_flag=True,
    help="Adopt the layout DIR has: its kustomization directories become environments.",
)
@pass_context
@guarded
def init_command(
    obj: Context, directory: Path | None, operator: str, chart: str | None, adopt: bool
) -> int:
    """Scaffold a config repository in DIR (default: -C), or adopt the one there (--from)."""
    from toolkit.commands import init  # the templates load only for init

    if chart is not None and not project.DNS_LABEL.pattern.fullmatch(chart):
        raise click.BadParameter(project.DNS_LABEL.description, param_hint="--chart")
    root = (directory or obj.root).absolute()
    result = init.init(root, operator=operator, chart=chart, adopt=adopt, helm=obj.tool_choice.helm)
    for path in result.written:
        obj.info(f"wrote {path}")
    for note in result.notes:
        obj.info(f"note: {note}")
    where = "" if root == Path.cwd() else f"cd {root} && "
    commit = "" if adopt else "git init && "
    obj.info(
        f"next: {where}{commit}git add -A && git commit -m 'toolkit init', then `toolkit "
        "hydrate` commits the rendered manifests to the rendered branch"
    )
    return 0


@main.command("validate")
@environments_argument
@click.option(
    "--ref", default=None, metavar="REF", help="Validate this revision, not the work tree."
)
@click.option("--strict", is_flag=True, help="A custom kind without a schema is an error.")
@click.option(
    "--determinism",
    is_flag=True,
    help="Render twice without the cache and report every resource that differs.",
)
@json_option
@pass_context
@guarded
def validate_command(
    obj: Context,
    environments: tuple[str, ...],
    ref: str | None,
    strict: bool,
    determinism: bool,
    as_json: bool,
) -> int:
    """Check rendered environments: schemas, custom kinds, retired APIs and policies (exit 1 on
    an error).

    \b
    Examples:
      toolkit validate
      toolkit validate production --strict --json
      toolkit validate --determinism
    """
    from toolkit.commands import validate as validation  # the schemas load only for this command

    result = validation.validate_environments(
        obj.load(),
        environments,
        ref=ref,
        tool_choice=obj.tool_choice,
        parallel=obj.jobs,
        locked=obj.locked,
        use_cache=obj.use_cache,
        strict=strict,
        determinism=determinism,
    )
    for report in result.reports:
        for note in report.notes:
            obj.info(f"note: {note}")
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        for line in result.lines():
            click.echo(line)
    return 1 if result.failed else 0


@main.command("status")
@environments_argument
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    help="A listing for a terminal, a markdown table (PR, wiki), or JSON.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "--remote", default="origin", help="Read its rendered branch when there is no local one."
)
@pass_context
@guarded
def status_command(
    obj: Context, environments: tuple[str, ...], output_format: str, as_json: bool, remote: str
) -> int:
    """What runs where: per environment, the source commit, tag, releases and images on the
    rendered branch, whether the work tree has moved on, and what the next promotion moves.

    \b
    Examples:
      toolkit status
      toolkit status production --json
      toolkit status --format markdown >> "$GITHUB_STEP_SUMMARY"
    """
    from toolkit.commands import status  # only this command reads every manifest on the branch

    cfg = obj.load()
    report = status.environment_status(
        cfg,
        environments,
        remote=remote,
        plan=status.planned_hashes(
            cfg,
            tool_choice=obj.tool_choice,
            locked=obj.locked,
            warn=lambda warning: obj.info(f"warning: {warning}"),
        ),
    )
    chosen = "json" if as_json else output_format
    text = {"json": report.as_json, "markdown": report.as_markdown, "text": report.as_text}[chosen]
    click.echo(text(), nl=False)
    return 0


@main.group("tools")
def tools_group() -> None:
    """Provision or show helm and kustomize."""


def _tool_pins(obj: Context) -> Mapping[str, project.ToolPin]:
    """toolkit.yaml's `tools:` pins, where the root has a toolkit.yaml."""
    if not (obj.root / project.CONFIG_FILE).is_file():
        return {}
    return obj.load().tool_pins


@tools_group.command("install")
@click.option(
    "--helm-major",
    type=click.Choice(["3", "4"]),
    default=None,
    help="Which helm major (default: what toolkit.yaml's tools: pins, else 3).",
)
@json_option
@pass_context
@guarded
def tools_install_command(obj: Context, helm_major: str | None, as_json: bool) -> int:
    """Download the pinned helm and kubectl (kustomize) into toolkit's cache."""
    major = int(helm_major) if helm_major else None
    installed = tools.install(helm_major=major, pins=_tool_pins(obj) if major is None else None)
    if as_json:
        click.echo(json.dumps({t.name: str(t.path) for t in installed}, indent=2))
    else:
        for tool in installed:
            click.echo(f"{tool.name} {tool.version}: {tool.path}")
    return 0


@tools_group.command("status")
@json_option
@pass_context
@guarded
def tools_status_command(obj: Context, as_json: bool) -> int:
    """Show which helm and kustomize toolkit would use, and why."""
    choice = obj.tool_choice
    statuses = tools.status(_tool_pins(obj), {"helm": choice.helm, "kustomize": choice.kustomize})
    if as_json:
        click.echo(
            json.dumps(
                {
                    s.name: {
                        "path": str(s.tool.path) if s.tool else None,
                        "version": s.tool.version if s.tool else None,
                        "origin": s.tool.origin if s.tool else None,
                        "reason": s.reason,
                        "problem": s.problem,
                    }
                    for s in statuses
                },
                indent=2,
            )
        )
    else:
        for s in statuses:
            if s.tool:
                click.echo(f"{s.name}: {s.tool.version} at {s.tool.path} ({s.reason})")
            else:
                click.echo(f"{s.name}: not found: {s.problem}")
    return 0 if all(s.tool for s in statuses) else 1


# --- lock -----------------------------------------------------------------------------------


def _split_upgrade(words: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """`[ENV...] [--upgrade [RELEASE...]]` as (environments, releases to upgrade or None)."""
    if "--upgrade" not in words:
        environments, upgrade = words, None
    else:
        at = words.index("--upgrade")
        environments, upgrade = words[:at], words[at + 1 :]
    for word in (*environments, *(upgrade or ())):
        if word.startswith("-"):
            raise click.UsageError(f"no such option: {word}")
    return environments, upgrade


@main.command(
    "lock",
    context_settings={"ignore_unknown_options": True},
    short_help="Resolve chart constraints and write releases.lock.",
)
@click.argument(
    "words", metavar="[ENV]... [--upgrade [RELEASE]...]", nargs=-1, type=click.UNPROCESSED
)
@json_option
@pass_context
@guarded
def lock_command(obj: Context, words: tuple[str, ...], as_json: bool) -> int:
    """Resolve chart constraints and write each environment's releases.lock.

    Entries that still satisfy their release are kept; `--upgrade` re-resolves every
    release, `--upgrade RELEASE...` only the named ones.
    """
    environments, upgrade = _split_upgrade(words)
    cfg = obj.load()
    changes = lockfile.lock_environments(
        cfg, cfg.select(environments), upgrade=upgrade, locked=obj.locked
    )
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "environment": c.environment,
                        "release": c.release,
                        "from": c.before.version if c.before else None,
                        "to": c.after.version if c.after else None,
                    }
                    for c in changes
                ],
                indent=2,
            )
        )
    else:
        for change in changes:
            obj.info(change.describe())
        if not changes:
            obj.info("releases.lock is up to date")
    return 0


# --- toolkit diff ---------------------------------------------------------------------------


@main.command("diff")
@environments_argument
@click.option(
    "--base", metavar="REF", default=None, help="Base revision (default: merge-base with main)."
)
@click.option("--head", metavar="REF", default=None, help="Head revision (default: work tree).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json", "html"]),
    default="text",
    help="text (a terminal), markdown (a PR comment), json (a CI gate) or html (one page).",
)
@click.option("--exit-code", is_flag=True, help="Exit 1 when anything differs.")
@click.option(
    "--no-fold",
    "unfolded",
    multiple=True,
    type=click.Choice(list(noise.RULES)),
    help="List the changes this noise rule folds (repeatable; bookkeeping: chart labels).",
)
@click.option("--strict", is_flag=True, help="Folded noise counts for --exit-code too.")
@click.option(
    "--max-bytes",
    metavar="N",
    type=click.IntRange(min=comment.MIN_MAX_BYTES),
    default=comment.DEFAULT_MAX_BYTES,
    show_default=True,
    help="Byte budget of the markdown comment.",
)
@click.option(
    "--output-full",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the uncut diff to FILE.",
)
@click.option(
    "--split",
    "split_into",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Write the markdown as numbered comments DIR/comment-NNN.md, each within --max-bytes.",
)
@click.option("--show-secrets", is_flag=True, help="Print Secret values (local use only).")
@pass_context
@guarded
def diff_command(
    obj: Context,
    environments: tuple[str, ...],
    base: str | None,
    head: str | None,
    fmt: str,
    exit_code: bool,
    unfolded: tuple[str, ...],
    strict: bool,
    max_bytes: int,
    output_full: Path | None,
    split_into: Path | None,
    show_secrets: bool,
) -> int:
    """Rendered diff between two revisions, resource by resource."""
    if split_into is not None and fmt != "markdown":
        raise click.UsageError("--split writes markdown comments: add --format markdown")
    report = comparison.diff_revisions(
        obj.root,
        environments,
        base=base,
        head=head,
        tool_choice=obj.tool_choice,
        parallel=obj.jobs,
        locked=obj.locked,
        use_cache=obj.use_cache,
        show_secrets=show_secrets,
        fold=[rule for rule in noise.DEFAULT_FOLDING if rule not in unfolded],
    )
    color = fmt == "text" and sys.stdout.isatty()
    if output_full is not None:
        full = formats.formatted(report, fmt, max_bytes=None, color=False)
        formats.write_full(output_full, full)
    if split_into is not None:
        for path in split.write_comments(split_into, report, max_bytes):
            click.echo(path)
    else:
        click.echo(formats.formatted(report, fmt, max_bytes=max_bytes, color=color), nl=False)
    differs = report.differs_at_all if strict else report.differs
    return 1 if exit_code and differs else 0


# --- promote ---------------------------------------------------------------------------------


@main.command("promote")
@click.argument("source", metavar="SRC")
@click.argument("target", metavar="DST")
@click.option("--ref", default=None, help="Read SRC as it was at this tag or commit.")
@click.option(
    "--only",
    multiple=True,
    metavar="NAME",
    help="Promote only this release or image (repeatable, or comma-separated).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing (exit 1 if any).")
@click.option("--commit", "make_commit", is_flag=True, help="Commit the promoted files.")
@click.option("--branch", default=None, help="With --commit: commit on this new branch.")
@click.option("--tag", is_flag=True, help="With --commit: tag the commit <DST>/<n>.")
@click.option("--force", is_flag=True, help="Allow skipping a stage or promoting backwards.")
@click.option("--allow-dirty", is_flag=True, help="Promote over uncommitted edits in DST.")
@json_option
@pass_context
@guarded
def promote_command(
    obj: Context,
    source: str,
    target: str,
    ref: str | None,
    only: tuple[str, ...],
    dry_run: bool,
    make_commit: bool,
    branch: str | None,
    tag: bool,
    force: bool,
    allow_dirty: bool,
    as_json: bool,
) -> int:
    """Make DST run what SRC runs: chart versions, image tags and promotion.copy files."""
    # Imported here: promotion's YAML editor (ruamel.yaml) would slow every other command's start.
    from toolkit.promote import dryrun, planning, writer

    if (branch or tag) and not make_commit:
        raise click.UsageError("--branch and --tag go with --commit")
    if dry_run and make_commit:
        raise click.UsageError("--dry-run writes nothing, so it cannot --commit")
    cfg = obj.load()
    names = tuple(name for item in only for name in item.split(",") if name)
    plan = planning.plan_promotion(
        cfg, source, target, ref=ref, only=names, force=force, allow_dirty=allow_dirty
    )
    result = None
    if not dry_run and plan.changes_anything:
        writer.check_branch(cfg, branch if make_commit else None)
        writer.apply(plan)
        obj.info(f"{target}: wrote {len(plan.writes)} file(s)")
        if make_commit:
            result = writer.commit(plan, branch=branch, tag=tag)
    report = None
    if dry_run and plan.changes_anything:
        report = dryrun.rendered_diff(plan, tool_choice=obj.tool_choice, parallel=obj.jobs)
    if as_json:
        document = writer.as_dict(plan)
        document["diff"] = formats.as_dict(report) if report else None
        document["written"] = not dry_run and plan.changes_anything
        document["commit"] = result.commit if result else None
        document["branch"] = result.branch if result else None
        document["tag"] = result.tag if result else None
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo("\n".join(writer.describe(plan)))
        if report is not None:
            click.echo("\n".join(["", *dryrun.describe(report)]))
        if result is not None:
            where = f" on branch {result.branch}" if result.branch else ""
            tagged = f", tagged {result.tag}" if result.tag else ""
            click.echo(f"committed {result.commit[:12]}{where}{tagged}")
    return 1 if dry_run and plan.changes_anything else 0
