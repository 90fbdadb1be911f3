"""`promote --dry-run`: DST's rendered diff, before and after the plan, with nothing written.

The plan is applied to a temporary copy of the repository (never to the work tree) and DST is
rendered there; DST as it stands is taken from the rendered branch where that holds it current
(as `toolkit diff` takes a side, diff/sides.py), rendered otherwise; the resources are compared
as `toolkit diff` compares them.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from toolkit.charts import localtrees
from toolkit.charts.lockfile import parse_lock
from toolkit.config.project import Config, load_config
from toolkit.config.releases import LOCK_FILE
from toolkit.diff import comparison, formats, noise, sides
from toolkit.infra import owned
from toolkit.promote.planning import Plan
from toolkit.render import rendering
from toolkit.render.settings import RenderSettings

_COPY_PREFIX = "toolkit-promote-"


def rendered_diff(plan: Plan, settings: RenderSettings) -> comparison.DiffReport:
    """DST rendered as it is, against DST rendered as the plan would leave it, with the run's
    settings (with --locked a stale lock is an error; with --no-cache everything renders)."""
    config = plan.source.config
    name = plan.target.name
    now, branches = sides.of_work_tree(config, [name], settings)
    before, _ = now.take(name, branches, config)
    temporary = Path(tempfile.gettempdir())
    owned.remove_abandoned(temporary, _COPY_PREFIX)  # the copies of killed dry runs
    with owned.owned_directory(temporary, _COPY_PREFIX) as scratch:
        copy = scratch / "root"
        shutil.copytree(config.root, copy, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        for path, data in plan.writes.items():
            target = copy / path.relative_to(config.root)
            if data is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        _export_locked_trees(config, plan)  # the copy has no .git to read them from
        after_config = load_config(copy)
        promoted = after_config.environment(plan.target.name)
        after = rendering.render_environments(after_config, [promoted], settings)[0]
    found = comparison.compare_environment(
        name, before, after.tree.resources, config.diff_ignore, False, noise.DEFAULT_FOLDING
    )
    environment = replace(found, base_from=now.origin[name], images=())
    return comparison.DiffReport(
        base=plan.source.commit or "", head=None, environments=(environment,)
    )


def _export_locked_trees(config: Config, plan: Plan) -> None:
    """The local chart trees the plan's locks pin (with their file:// dependencies' trees),
    exported into the cache from the repository."""
    for path, data in plan.writes.items():
        if path.name == LOCK_FILE and data is not None:
            lock = parse_lock(data.decode("utf-8"), name=path.name)
            for entry in lock.entries:
                trees = [entry.tree, *(pin.tree for pin in entry.dependencies)]
                for tree in filter(None, trees):
                    localtrees.tree_directory(config.root, tree)


def describe(report: comparison.DiffReport, *, after: str = "promotion") -> list[str]:
    """The diff as `toolkit diff` prints it, under a heading that says what is compared."""
    (environment,) = report.environments
    lines = formats.text(report).splitlines()[2:]  # past the base -> head heading
    return [f"rendered diff of {environment.name}, now -> after {after}:", *lines]
