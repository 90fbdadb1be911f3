"""Whether the rendered branch's render of an environment is current: hydrate's own rule,
which `toolkit diff` and `promote --dry-run` follow too to take a side from the branch.

Without planning: nothing the environment reads changed since the source commit the render
names (reach.py), and the same tools are at hand. After planning: the plan's input hash is the
one recorded, and so are the tools.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from toolkit.hydrate import metadata, reach
from toolkit.render.pipeline import Planner

if TYPE_CHECKING:
    from toolkit.render.jobs import EnvironmentPlan


def unchanged_since_render(
    changes: reach.SourceChanges,
    planner: Planner,
    env: str,
    before: metadata.Metadata | None,
    remote: str | None,
) -> bool:
    """Whether the branch's render of `env` (its metadata `before`) is current without planning
    it: no path it reads differs from the source commit it was rendered from, and the tools
    are the same."""
    if before is None or before.dry_sha is None or before.input_environments is None:
        return False
    read = {env, *before.input_environments}
    if not changes.reach_only_others(before.dry_sha, read, remote=remote):
        return False
    kinds = set(before.tools) - {"toolkit"}
    if not kinds <= {"helm", "kustomize"} or planner.tool_versions(kinds) != before.tools:
        return False
    if "kustomize" in kinds:
        directory = planner.config.environment(env).directory
        return planner.kustomize_command(directory) in before.commands
    return True


def same_inputs(before: metadata.Metadata | None, plan: EnvironmentPlan) -> bool:
    """Whether the branch's render (metadata `before`) is of the planned inputs, with the same
    tools: what a render now would write is what the branch holds."""
    return (
        before is not None
        and dict(before.tools) == dict(plan.tool_versions)
        and before.input_hash == plan.input_hash
    )
