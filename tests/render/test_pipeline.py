"""Planning and rendering environments: input hashes, and the render cache they key."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import Cli
from toolkit.config.project import load_config
from toolkit.infra.errors import RenderError
from toolkit.render import jobs, pipeline, rendering, runs, tools
from toolkit.render.cache import RenderCache
from toolkit.render.settings import RenderSettings, ToolChoice

Files = dict[str, bytes]


def render_files(
    root: Path,
    helm: tools.Tool,
    kustomize: tools.Tool,
    envs: tuple[str, ...] = (),
    *,
    use_cache: bool = True,
) -> tuple[Files, list[rendering.EnvironmentRender]]:
    config = load_config(root)
    renders = rendering.render_environments(
        config,
        config.select(envs),
        RenderSettings(ToolChoice(str(helm.path), str(kustomize.path)), 2, use_cache=use_cache),
    )
    files = {f"{r.name}/{path}": data for r in renders for path, data in r.tree.files.items()}
    return files, renders


def plan(root: Path, helm: tools.Tool, kustomize: tools.Tool) -> jobs.RunPlan:
    config = load_config(root)
    settings = RenderSettings(ToolChoice(str(helm.path), str(kustomize.path)))
    return pipeline.plan_environments(config, config.environments, settings)


def hashes(run: jobs.RunPlan) -> dict[str, str]:
    return {p.name: p.input_hash for p in run.environments}


def cached_sources(renders: list[rendering.EnvironmentRender], env: str) -> tuple[int, int]:
    (found,) = [r for r in renders if r.name == env]
    return found.renders, found.cached


def test_cached_output_is_byte_identical_to_uncached(
    example_repo: Path, helm_tool: tools.Tool, kustomize_tool: tools.Tool, render_cache: Path
) -> None:
    uncached, _ = render_files(example_repo, helm_tool, kustomize_tool, use_cache=False)
    assert not render_cache.exists()
    cold, cold_renders = render_files(example_repo, helm_tool, kustomize_tool)
    warm, warm_renders = render_files(example_repo, helm_tool, kustomize_tool)
    assert uncached == cold == warm
    assert all(r.renders > 0 and r.cached == 0 for r in cold_renders)
    assert all(r.cached == r.renders for r in warm_renders)


def test_a_hit_answers_from_the_cache_without_running_helm(
    example_repo: Path, helm_tool: tools.Tool, kustomize_tool: tools.Tool, render_cache: Path
) -> None:
    render_files(example_repo, helm_tool, kustomize_tool, ("dev",))
    (dev,) = plan(example_repo, helm_tool, kustomize_tool).environments[:1]
    (api_job,) = [j for j in dev.jobs if j.source == "api"]
    cache, key = RenderCache(render_cache), runs.job_key(api_job, helm_tool)
    stored = cache.get(key)
    assert stored is not None
    # Only a render answered from the stored bytes can print what helm never would.
    cache.put(key, stored.replace('LOG_LEVEL: "debug"', 'LOG_LEVEL: "from-cache"'))
    files, renders = render_files(example_repo, helm_tool, kustomize_tool, ("dev",))
    assert b'LOG_LEVEL: "from-cache"' in files["dev/api/configmap-api.yaml"]
    assert cached_sources(renders, "dev") == (3, 3)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path} no longer holds {old!r}"
    path.write_text(text.replace(old, new, 1))


ALL = frozenset({"dev", "staging", "production"})

# Each edit, the environments whose hash it must change (and no other), the environment that
# must re-render, how many of its renders miss, and a file whose bytes must show the edit. A
# file in an overlay's own directory is an input of its kustomize build too (kustomize may read
# any of them), so a values edit also re-runs that build.
MUTATIONS: dict[str, tuple[Callable[[Path], None], frozenset[str], str, int, str]] = {
    "a value": (
        lambda root: _edit(
            root / "overlays/dev/values/api.yaml", "logLevel: debug", "logLevel: trace"
        ),
        frozenset({"dev"}),
        "dev",
        2,
        "dev/api/configmap-api.yaml",
    ),
    "a chart file": (
        lambda root: _edit(
            root / "charts/api/templates/configmap.yaml",
            "  LOG_FORMAT:",
            '  EDITED: "yes"\n  LOG_FORMAT:',
        ),
        ALL,
        "dev",
        1,
        "dev/api/configmap-api.yaml",
    ),
    "a subchart file": (
        lambda root: _edit(
            root / "charts/api/charts/redis-cache/templates/service.yaml",
            "spec:",
            "spec:\n  publishNotReadyAddresses: true",
        ),
        ALL,
        "dev",
        1,
        "dev/api/service-api-redis-cache.yaml",
    ),
    "a kustomize base file": (
        lambda root: _edit(
            root / "overlays/base/deployment.yaml",
            "revisionHistoryLimit: 5",
            "revisionHistoryLimit: 7",
        ),
        ALL,
        "dev",
        1,
        "dev/kustomize/deployment-web.yaml",
    ),
    "the kube version": (
        lambda root: _edit(root / "toolkit.yaml", 'kubeVersion: "1.33.0"', 'kubeVersion: "1.30.0"'),
        frozenset({"production"}),
        "production",
        2,
        "production/api/service-api.yaml",
    ),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_each_input_invalidates_the_cache(
    mutation: str,
    example_repo: Path,
    helm_tool: tools.Tool,
    kustomize_tool: tools.Tool,
    render_cache: Path,
) -> None:
    edit, reached, env, misses, witness = MUTATIONS[mutation]
    before, _ = render_files(example_repo, helm_tool, kustomize_tool, (env,))
    hashes_before = hashes(plan(example_repo, helm_tool, kustomize_tool))
    edit(example_repo)
    hashes_after = hashes(plan(example_repo, helm_tool, kustomize_tool))
    assert {e for e in ALL if hashes_after[e] != hashes_before[e]} == reached
    cached, renders = render_files(example_repo, helm_tool, kustomize_tool, (env,))
    uncached, _ = render_files(example_repo, helm_tool, kustomize_tool, (env,), use_cache=False)
    assert cached == uncached, "a stale cache hit"
    assert cached[witness] != before[witness]
    total, hits = cached_sources(renders, env)
    assert total - hits == misses, "exactly the renders the edit reaches run again"


def test_the_helm_version_invalidates_the_cache_not_the_input_hash(
    example_repo: Path,
    helm_tool: tools.Tool,
    other_helm: tools.Tool,
    kustomize_tool: tools.Tool,
    render_cache: Path,
) -> None:
    render_files(example_repo, helm_tool, kustomize_tool, ("dev",))
    ours, theirs = (plan(example_repo, h, kustomize_tool) for h in (helm_tool, other_helm))
    # The environments' input hashes leave the tools out; their recorded versions differ.
    assert hashes(ours) == hashes(theirs)
    assert ours.environments[0].tool_versions != theirs.environments[0].tool_versions
    cached, renders = render_files(example_repo, other_helm, kustomize_tool, ("dev",))
    uncached, _ = render_files(example_repo, other_helm, kustomize_tool, ("dev",), use_cache=False)
    assert cached == uncached
    # Only the kustomize render (which helm does not touch) is answered from the cache.
    assert cached_sources(renders, "dev") == (3, 1)


def test_a_tool_of_another_version_has_another_key(
    example_repo: Path, helm_tool: tools.Tool, kustomize_tool: tools.Tool
) -> None:
    (dev, *_) = plan(example_repo, helm_tool, kustomize_tool).environments
    job = dev.jobs[0]
    other = tools.Tool("helm", helm_tool.path, "v0.0.1-other", helm_tool.command, "flag")
    assert runs.job_key(job, helm_tool) != runs.job_key(job, other)


def test_the_input_hash_does_not_depend_on_where_the_repository_is(
    example_repo: Path,
    tmp_path: Path,
    helm_tool: tools.Tool,
    kustomize_tool: tools.Tool,
    render_cache: Path,
) -> None:
    render_files(example_repo, helm_tool, kustomize_tool, ("dev",))
    elsewhere = shutil.copytree(example_repo, tmp_path / "another" / "clone")
    assert hashes(plan(elsewhere, helm_tool, kustomize_tool)) == hashes(
        plan(example_repo, helm_tool, kustomize_tool)
    )
    _, renders = render_files(elsewhere, helm_tool, kustomize_tool, ("dev",))
    assert cached_sources(renders, "dev") == (3, 3)


def test_no_cache_neither_reads_nor_writes_the_cache(
    example_repo: Path, run_cli: Cli, render_cache: Path
) -> None:
    result = run_cli(example_repo, "--no-cache", "render", "dev")
    assert result.exit_code == 0, result.stderr
    assert not render_cache.exists()
    assert run_cli(example_repo, "render", "dev").stdout == result.stdout
    assert any(render_cache.rglob("*"))


def test_a_failed_render_is_not_cached(
    example_repo: Path, helm_tool: tools.Tool, kustomize_tool: tools.Tool, render_cache: Path
) -> None:
    _edit(
        example_repo / "charts/api/templates/configmap.yaml", "data:", '{{ fail "broken" }}\ndata:'
    )
    for _ in range(2):  # the second run fails too: the failure was not stored as a hit
        with pytest.raises(RenderError, match="broken"):
            render_files(example_repo, helm_tool, kustomize_tool, ("dev",))
    # The environment's other renders (cert-rotator, kustomize) succeeded and were kept.
    assert len([p for p in render_cache.rglob("*") if p.is_file()]) == 2


def test_a_kustomization_outside_overlays_is_an_input(
    example_repo: Path, helm_tool: tools.Tool, kustomize_tool: tools.Tool, render_cache: Path
) -> None:
    shared = example_repo / "common" / "extra"
    shared.mkdir(parents=True)
    (shared / "kustomization.yaml").write_text("resources: [configmap.yaml]\n")
    (shared / "configmap.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {colour: blue}\n"
    )
    _edit(
        example_repo / "overlays/dev/kustomization.yaml",
        "  - ../base\n",
        "  - ../base\n  - ../../common/extra\n",
    )
    before, _ = render_files(example_repo, helm_tool, kustomize_tool, ("dev",))
    assert b"colour: blue" in before["dev/kustomize/configmap-extra.yaml"]
    hash_before = hashes(plan(example_repo, helm_tool, kustomize_tool))["dev"]
    _edit(shared / "configmap.yaml", "blue", "green")
    assert hashes(plan(example_repo, helm_tool, kustomize_tool))["dev"] != hash_before
    after, renders = render_files(example_repo, helm_tool, kustomize_tool, ("dev",))
    assert b"colour: green" in after["dev/kustomize/configmap-extra.yaml"]
    assert cached_sources(renders, "dev") == (3, 2)


def reads(run: jobs.RunPlan) -> dict[str, tuple[str, ...] | None]:
    return {p.name: p.environments_read for p in run.environments}


def test_a_chart_symlink_into_another_environment_is_read_and_hashed(
    example_repo: Path, helm_tool: tools.Tool, kustomize_tool: tools.Tool, run_cli: Cli
) -> None:
    """helm follows a chart's symlinks, so the chart digest does, and the environment that
    renders the chart reads the directory the link leads into."""
    assert reads(plan(example_repo, helm_tool, kustomize_tool)) == {
        "dev": ("dev",),
        "staging": ("staging",),
        "production": ("production",),
    }
    shared = example_repo / "overlays/staging/chart-extras"
    shared.mkdir()
    (shared / "configmap.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {colour: blue}\n"
    )
    (example_repo / "charts/api/templates/extras").symlink_to(
        "../../../overlays/staging/chart-extras"
    )
    assert run_cli(example_repo, "lock").exit_code == 0  # the chart's digest changed
    locked = plan(example_repo, helm_tool, kustomize_tool)
    assert reads(locked) == {
        "dev": ("dev", "staging"),
        "staging": ("staging",),
        "production": ("production", "staging"),
    }
    files, _ = render_files(example_repo, helm_tool, kustomize_tool, ("dev",))
    assert b"colour: blue" in files["dev/api/configmap-extra.yaml"]

    _edit(shared / "configmap.yaml", "blue", "green")

    assert hashes(plan(example_repo, helm_tool, kustomize_tool))["dev"] != hashes(locked)["dev"]


def test_an_environment_resolved_in_memory_records_no_environments_read(
    example_repo: Path, helm_tool: tools.Tool, kustomize_tool: tools.Tool
) -> None:
    """Without its lock, what dev renders depends on more than its files (a repository may
    publish a newer chart), so nothing may skip loading it."""
    (example_repo / "overlays/dev/releases.lock").unlink()

    planned = plan(example_repo, helm_tool, kustomize_tool)

    assert reads(planned) == {"dev": None, "staging": ("staging",), "production": ("production",)}
    (dev, *_) = planned.environments
    assert dev.warnings


# A wrapper that notes when each `version` (a probe) starts and ends, slow enough that two
# probes run side by side overlap for certain.
NOTED_VERSION = """#!/bin/sh
if [ "$1" = version ]; then echo "start $0" >> {log}; sleep 0.3; echo "end $0" >> {log}; fi
exec {real} "$@"
"""


def test_the_planner_probes_new_tools_side_by_side_and_remembered_ones_not_at_all(
    example_repo: Path, tmp_path: Path, helm_tool: tools.Tool, kustomize_tool: tools.Tool
) -> None:
    log = tmp_path / "probes.log"
    wrappers = {}
    for name, real in (("helm", helm_tool.path), ("kustomize", kustomize_tool.path)):
        wrapper = tmp_path / name
        wrapper.write_text(NOTED_VERSION.format(log=log, real=real))
        wrapper.chmod(0o755)
        old = wrapper.stat().st_mtime - 60  # not written just now: its answer may be kept
        os.utime(wrapper, (old, old))
        wrappers[name] = str(wrapper)
    config = load_config(example_repo)
    settings = RenderSettings(ToolChoice(wrappers["helm"], wrappers["kustomize"]))

    def versions() -> dict[str, str]:
        planner = pipeline.Planner(config, config.environments, settings)
        return planner.tool_versions({"helm", "kustomize"})

    first = versions()
    assert (first["helm"], first["kustomize"]) == (helm_tool.version, kustomize_tool.version)
    # Side by side: both tools had started answering before either ended.
    events = log.read_text().split()[::2]
    assert events[:2] == ["start", "start"], log.read_text()

    log.unlink()
    assert versions() == first  # from what the first run remembered
    assert not log.exists()  # neither tool ran
