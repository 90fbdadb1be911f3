"""config -> resolve: the one way every command plans the environments it renders.

A run is planned first (load, resolve, merge values, hash every input), then rendered by
`rendering`; the plan's per-environment input hash lets the rendered branch skip environments
that did not change.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit import __version__
from toolkit.config.project import Config, Environment
from toolkit.infra import runmemo
from toolkit.render import toolprobes, tools
from toolkit.render.settings import RenderSettings
from toolkit.render.tools import Tool

if TYPE_CHECKING:
    from toolkit.charts.chartsource import ChartSources
    from toolkit.render.jobs import EnvironmentPlan, RunPlan


class Planner:
    """Plans environments on demand, each at most once per run, with the tools found once.

    A hydrate asks only for the environments whose inputs may have changed; the others are
    never loaded.
    """

    def __init__(
        self,
        config: Config,
        environments: Sequence[Environment],
        settings: RenderSettings = RenderSettings(),
    ) -> None:
        self.config = config
        self.environments = tuple(environments)
        # Its reporter hears each warning (a stale lock resolved in memory) as it is found.
        self.settings = settings
        self._sources: ChartSources | None = None  # made with the first plan
        self._file_digests: dict[Path, bytes] = {}
        self._plans: dict[str, EnvironmentPlan] = {}
        self._tools: dict[str, Tool] = {}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(env.name for env in self.environments)

    @property
    def planned(self) -> tuple[str, ...]:
        """The environments planned so far."""
        return tuple(name for name in self.names if name in self._plans)

    def plans(self, names: Collection[str]) -> tuple[EnvironmentPlan, ...]:
        """The named environments planned (in the run's order), planning those not yet."""
        missing = [e for e in self.environments if e.name in names and e.name not in self._plans]
        if missing:
            self._plan(missing)
        return tuple(self._plans[e.name] for e in self.environments if e.name in names)

    def run_plan(self, names: Collection[str]) -> RunPlan:
        """The named environments, and the tools their jobs need, ready to render."""
        from toolkit.render import jobs  # see _plan

        plans = self.plans(names)
        found = self._find_tools(jobs.tool_kinds(job for p in plans for job in p.jobs))
        return jobs.RunPlan(plans, found.get("helm"), found.get("kustomize"))

    def tool_versions(self, kinds: Collection[str]) -> dict[str, str]:
        """toolkit's version, and those of the named tools (`helm`, `kustomize`) as found."""
        versions = {"toolkit": __version__}
        versions.update((kind, tool.version) for kind, tool in self._find_tools(kinds).items())
        return versions

    def kustomize_command(self, directory: Path) -> str:
        """The command line a render of `directory` is recorded under, with the found tool."""
        kustomize = self._find_tools({"kustomize"})["kustomize"]
        return tools.kustomize_command_line(
            kustomize, directory.relative_to(self.config.root).as_posix()
        )

    def _find_tools(self, kinds: Collection[str]) -> dict[str, Tool]:
        finders = {"helm": tools.find_helm, "kustomize": tools.find_kustomize}
        choice = self.settings.tools
        choices = {"helm": choice.helm, "kustomize": choice.kustomize}
        pins = self.config.tool_pins
        probing = []
        # Most runs find every tool's answer remembered (toolprobes): asked in turn, no thread.
        with toolprobes.remembered_only():
            for kind in (kind for kind in finders if kind in kinds and kind not in self._tools):
                try:
                    self._tools[kind] = finders[kind](choices[kind], pin=pins.get(kind))
                except toolprobes.NotRemembered:
                    probing.append(kind)
        if probing:
            # Each probe runs the tool once (`helm version`, `kubectl version`): side by side.
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=len(probing)) as pool:
                probes = {
                    kind: pool.submit(finders[kind], choices[kind], pin=pins.get(kind))
                    for kind in probing
                }
                self._tools.update((kind, probe.result()) for kind, probe in probes.items())
        return {kind: self._tools[kind] for kind in finders if kind in kinds}

    def _plan(self, environments: Sequence[Environment]) -> None:
        # Imported on the first plan: a hydrate that settles every environment from git (most,
        # in CI) never loads the chart sources, values or kustomize inputs.
        from toolkit.charts.chartsource import ChartSources
        from toolkit.render import jobs

        config = self.config
        if self._sources is None:
            self._sources = ChartSources(config)  # each repository index fetched once a run
        with runmemo.run():
            planned = [
                jobs.environment_jobs(
                    config, env, self._file_digests, self._sources, self.settings.locked
                )
                for env in environments
            ]
        found = self._find_tools(jobs.tool_kinds(job for p in planned for job in p.jobs))
        helm, kustomize = found.get("helm"), found.get("kustomize")
        for p in planned:
            for warning in p.warnings:
                self.settings.reporter.warning(warning)
            tool_versions = self.tool_versions(jobs.tool_kinds(p.jobs))
            commands = jobs.commands(config, p.releases, p.jobs, helm, kustomize)
            input_hash = jobs.input_hash(
                p.spec.environment, p.releases, p.jobs, commands, config.cluster_scoped_kinds
            )
            self._plans[p.spec.environment.name] = jobs.EnvironmentPlan(
                p.spec,
                p.releases,
                p.jobs,
                commands,
                tool_versions,
                input_hash,
                p.warnings,
                p.environments_read,
                config.cluster_scoped_kinds,
            )


def plan_environments(
    config: Config,
    environments: Sequence[Environment],
    settings: RenderSettings = RenderSettings(),
) -> RunPlan:
    """Load, resolve and hash every environment asked for, and find the tools they need.
    Charts come from each environment's releases.lock; with `settings.locked`, a stale lock is
    an error."""
    planner = Planner(config, environments, settings)
    return planner.run_plan(planner.names)
