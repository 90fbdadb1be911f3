"""toolkit.render.rendering: what a run's watcher (a terminal's live display) hears of its
renders: the totals first, each render as it is done, each failure, and the end however the
run ends."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.helpers import break_staging_api
from toolkit.config.project import load_config
from toolkit.infra.errors import RenderError, ToolkitError
from toolkit.render import pipeline, progress, rendering, tools
from toolkit.render.settings import RenderSettings, ToolChoice

Event = tuple[str, ...] | tuple[str, dict[str, int]]
EVERY = {"dev": 3, "staging": 3, "production": 3}  # the example's renders per environment


class Recorder(progress.Watcher):
    def __init__(self) -> None:
        self.events: list[Event] = []

    def planned(self, totals: Mapping[str, int]) -> None:
        self.events.append(("planned", dict(totals)))

    def advanced(self, environment: str) -> None:
        self.events.append(("advanced", environment))

    def failed(self, environment: str) -> None:
        self.events.append(("failed", environment))

    def stopped(self) -> None:
        self.events.append(("stopped",))


def _settings(helm: tools.Tool, kustomize: tools.Tool, watcher: Recorder) -> RenderSettings:
    choice = ToolChoice(str(helm.path), str(kustomize.path))
    return RenderSettings(choice, 2, use_cache=False, watcher=watcher)


def test_the_watcher_hears_every_render(
    example_repo: Path, helm_tool: tools.Tool, kustomize_tool: tools.Tool
) -> None:
    config = load_config(example_repo)
    recorder = Recorder()
    settings = _settings(helm_tool, kustomize_tool, recorder)
    rendering.render_environments(config, config.environments, settings)
    first, *renders, last = recorder.events
    assert first == ("planned", EVERY) and last == ("stopped",)
    assert sorted(renders) == sorted(
        ("advanced", env) for env, n in EVERY.items() for _ in range(n)
    )


def test_the_watcher_hears_a_failure_and_the_end_of_a_failed_run(
    example_repo: Path, helm_tool: tools.Tool, kustomize_tool: tools.Tool
) -> None:
    break_staging_api(example_repo)
    config = load_config(example_repo)
    recorder = Recorder()
    settings = _settings(helm_tool, kustomize_tool, recorder)
    failed: dict[str, ToolkitError] = {}
    plan = pipeline.plan_environments(config, config.environments, settings)
    rendering.render_plan(plan, parallel=2, failed=failed.__setitem__, watcher=recorder)
    assert list(failed) == ["staging"]
    assert recorder.events.count(("failed", "staging")) == 1
    assert recorder.events.count(("advanced", "staging")) == 2
    assert recorder.events[-1] == ("stopped",)

    recorder.events.clear()  # without --keep-going the failure ends the run: the end is heard
    with pytest.raises(RenderError, match="broken on purpose"):
        rendering.render_environments(config, config.environments, settings)
    assert recorder.events[0] == ("planned", EVERY) and recorder.events[-1] == ("stopped",)
