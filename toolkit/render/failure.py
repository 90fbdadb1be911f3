"""A failed `helm template`, told so that a user can act on it: the environment and release,
the template's file and line in the repository, what helm said, and a command that runs the
same render again (its values written to a file under the cache, since toolkit passes them
on stdin, which nobody can rerun)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.infra import atomicfiles, paths, process
from toolkit.infra.errors import RenderError

if TYPE_CHECKING:
    from toolkit.render.runs import HelmRender

# `execution error at (api/templates/x.yaml:20:28): …`, `parse error at (api/templates/x.yaml:5)`
_TEMPLATE_AT = re.compile(r"\bat \((?P<file>[^()\s:]+):(?P<line>\d+)(?::\d+)?\)")
# `YAML parse error on api/templates/x.yaml: …`: the line helm gives then is of its output
_YAML_ON = re.compile(r"\bYAML parse error on (?P<file>[^\s:]+):")
# helm's hint names its own flag; toolkit's --debug is the one that shows that output here
_HELM_HINT = "Use --debug flag to render out invalid YAML"
_VALUES_DIRECTORY = "failed-renders"


@dataclass(frozen=True)
class TemplateLocation:
    """Where in a chart's templates helm failed, as a path a user can open."""

    file: str  # repository-relative for a chart in the repository, else `<chart>/templates/…`
    line: int | None

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


def template_location(job: HelmRender, stderr: str) -> TemplateLocation | None:
    """The template helm's error names, with its line where helm gives one for the source."""
    found = _TEMPLATE_AT.search(stderr)
    line = int(found["line"]) if found else None
    found = found or _YAML_ON.search(stderr)
    if found is None:
        return None
    in_chart = found["file"]  # helm names it from the chart's name: `<name>/templates/x.yaml`
    root = job.release.location.root
    _, _, rest = in_chart.partition("/")
    if root is not None and rest and job.chart.is_dir() and job.chart.is_relative_to(root):
        return TemplateLocation((job.chart / rest).relative_to(root).as_posix(), line)
    return TemplateLocation(in_chart, line)


def write_values(job: HelmRender, values: bytes) -> Path:
    """The merged values of a failed render in a file under the cache (readable by its owner
    alone: values may hold secrets, as the render cache's outputs do)."""
    directory = paths.cache_dir() / _VALUES_DIRECTORY
    path = directory / job.environment.name / f"{job.release.name}.values.json"
    directory.mkdir(parents=True, exist_ok=True)  # the root of the write set must exist
    with atomicfiles.all_or_nothing(directory) as changes:
        changes.write(path, values, mode=0o600)
    return path


def helm_failure(
    job: HelmRender, command: Sequence[str], values: bytes, stderr: str
) -> RenderError:
    """toolkit's error for a failed `helm template` `command` that read `values` on stdin."""
    said = "\n".join(line for line in stderr.strip().splitlines() if line.strip() != _HELM_HINT)
    where = template_location(job, stderr)
    values_file = write_values(job, values)
    rerun = [values_file.as_posix() if arg == "-" else arg for arg in command]
    message = "\n".join(
        [
            f"{job.describe()}: helm template failed" + (f" at {where}" if where else ""),
            process.indent(said.strip()),
            f"    to reproduce: {shlex.join(rerun)}",
            "    (toolkit --debug shows helm's debug output)",
        ]
    )

    def debug_output() -> str:
        output = process.run([*rerun, "--debug"], check=False)
        return (output.stderr + output.stdout).decode(errors="replace").rstrip()

    return RenderError(
        message,
        debug=debug_output,
        file=where.file if where else None,
        line=where.line if where else None,
        environment=job.environment.name,
        release=job.release.name,
    )
