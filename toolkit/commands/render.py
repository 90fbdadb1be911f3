"""`toolkit render`: environments rendered to a directory or to one stream; touches nothing
else."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.config.project import Config
from toolkit.hydrate import envdir, outputdir
from toolkit.render import rendering
from toolkit.render.settings import RenderSettings


@dataclass(frozen=True)
class RenderOptions:
    environments: tuple[str, ...] = ()  # all when none
    output: Path | None = None  # write `<output>/<env>/…`; None: one stream for stdout


@dataclass(frozen=True)
class RenderResult:
    renders: tuple[rendering.EnvironmentRender, ...]
    output: Path | None

    @property
    def stream(self) -> str:
        """Every environment's manifests as one YAML stream (when there is no output)."""
        return outputdir.as_stream(self.renders)

    def as_dict(self) -> dict[str, Any]:
        """Each environment's files by path (as `render -o` writes them and the stream heads
        them), with their contents, and where they were written."""
        return {
            "output": str(self.output) if self.output is not None else None,
            "environments": [
                {
                    "name": render.name,
                    "files": [
                        {"path": f"{render.name}/{path}", "content": data.decode()}
                        for path, data in render.tree.files.items()
                    ],
                }
                for render in self.renders
            ],
        }

    def lines(self) -> list[str]:
        if self.output is None:
            return []
        return [
            f"{render.name}: {len(render.tree.files)} files in {self.output / render.name}"
            for render in self.renders
        ]


def render(config: Config, options: RenderOptions, settings: RenderSettings) -> RenderResult:
    renders = rendering.render_environments(config, config.select(options.environments), settings)
    for done in renders:
        for note in done.tree.notes:
            settings.reporter.note(note)
    if options.output is not None:
        source = envdir.source_or_none(config.root)
        trees = [envdir.environment_files(done, source) for done in renders]
        outputdir.write_environments(options.output, trees)
    return RenderResult(tuple(renders), options.output)
