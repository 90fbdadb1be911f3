"""Chart sources against the real helm: an HTTP repository and an OCI registry on 127.0.0.1,
the download cache, and bad repositories."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tests.fixtures.charts import ChartRepo, Registry, package_chart, serve_chart_repo
from toolkit import charts, lock, process, semver, tools
from toolkit.config import load_config, load_environment
from toolkit.errors import InputError

# 27 versions of one chart: prereleases, `v` prefixes and build metadata among them. No two
# have equal precedence: helm's sort is not stable, so a tie would make its pick arbitrary.
VERSIONS = (
    "0.0.1", "0.1.0", "0.9.0", "1.0.0-alpha.1", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0",
    "1.2.0-beta.2", "1.2.0", "1.2.3", "1.2.10", "1.3.0+build.7", "1.4.0", "1.10.0",
    "2.0.0-0", "2.0.0-alpha", "2.0.0", "2.1.0", "2.1.1-rc.0", "2.5.0",
    "v3.0.0", "v3.1.0", "3.1.1+meta", "3.2.0", "4.0.0-beta.1", "10.0.0",
)  # fmt: skip

# 48 constraints; the ones no version satisfies are among them.
CONSTRAINTS = (
    "*", "1.2.3", "=1.2.3", "1.2", "1", "v1.2.3", "^1.2", "^1.2.0", "~1.2", "~1.2.0", "~1",
    "^0.1", "^0.0.1", "^0", ">=1.0.0", ">1.2.3", "<2", "<=1.2.3", ">=1.0 <2.0",
    ">=1.0.0-0 <2", "1.x", "1.2.x", "2.x", "x", "1.0.0 - 2.0.0", "1 - 2", ">=2.0.0-0",
    ">=2.0.0-alpha", "^2.0.0-0", "~2.1.1-rc.0", "!=1.2.3", "!=2.0.0 >=2 <3", "^1.2 || ^3",
    "<1 || >=10", "1.3.0+build.7", "v3.0.0", "3.0.0", "5.x", ">10.0.0", "^4", "^4.0.0-0",
    "~0.9", ">=0.1.0, <1.0.0", "1.0.0-rc.1", "=2.0.0-0", "1.2.3 - 1.4",
    ">1.0.0-alpha.1 <1.0.0", "1.0.0-0 - 1.0.0",
)  # fmt: skip


def helm4_only(constraint: str) -> bool:
    """Helm 3.18 links Masterminds semver v3.3.0, which opts prereleases in per comparator;
    helm 4 (v3.4.0, and toolkit) per AND group. They differ only where an AND group mixes a
    comparator naming a prerelease with one that does not, so those compare under helm 4."""
    groups = semver.parse_constraint(constraint).groups
    return any(
        len({bool(c.version.prerelease) for c in group}) > 1 for group in groups if len(group) > 1
    )


def helm_pick(helm: tools.Tool, chart: list[str], constraint: str) -> str | None:
    """The version `helm show chart --version CONSTRAINT` picks; None when helm finds none."""
    output = process.run([helm.path, "show", "chart", *chart, "--version", constraint], check=False)
    if output.returncode != 0:
        return None
    version: str = yaml.safe_load(output.stdout)["version"]
    return version


def compared(helm: tools.Tool) -> list[str]:
    major4 = helm.version.startswith("v4")
    return [c for c in CONSTRAINTS if major4 or not helm4_only(c)]


@pytest.fixture(scope="session")
def demo_archives(helm_tool: tools.Tool, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every demo version, packaged once by the real helm."""
    out = tmp_path_factory.mktemp("demo-archives")
    work = tmp_path_factory.mktemp("demo-sources")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda v: package_chart(helm_tool, work, "demo", v, out), VERSIONS))
    return out


@pytest.fixture(scope="session")
def demo_repo(
    helm_tool: tools.Tool, demo_archives: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ChartRepo]:
    directory = tmp_path_factory.mktemp("demo-repo") / "repo"
    shutil.copytree(demo_archives, directory)
    with serve_chart_repo(helm_tool, directory) as repo:
        repo.reindex()
        yield repo


def oci_versions(helm: tools.Tool) -> list[str]:
    # helm 3.18's push of a version with build metadata fails against distribution 2.8
    # ("not found" after the upload); helm 4 pushes it as tag 1.3.0_build.7.
    return [v for v in VERSIONS if helm.version.startswith("v4") or "+" not in v]


@pytest.fixture(scope="session")
def demo_oci(helm_tool: tools.Tool, oci_registry: Registry, demo_archives: Path) -> str:
    """The demo chart pushed to the registry: its oci:// URL."""
    base = ""
    for version in oci_versions(helm_tool):
        base = oci_registry.push(demo_archives / f"demo-{version}.tgz", "differential")
    return f"{base}/demo"


def config_repo(root: Path, repositories: dict[str, str], releases: list[dict[str, str]]) -> Path:
    """A config repository with one environment, dev, holding `releases`."""
    (root / "overlays" / "dev").mkdir(parents=True)
    (root / "toolkit.yaml").write_text(
        yaml.safe_dump({"environments": [{"name": "dev"}], "repositories": repositories})
    )
    items = [{"namespace": "demo", **release} for release in releases]
    (root / "overlays" / "dev" / "releases.yaml").write_text(
        yaml.safe_dump({"releases": items}, sort_keys=False)
    )
    return root


def differential(
    tmp_path: Path,
    helm: tools.Tool,
    repositories: dict[str, str],
    chart: str,
    helm_chart: list[str],
) -> None:
    constraints = compared(helm)
    with ThreadPoolExecutor(8) as pool:
        expected = dict(
            zip(
                constraints,
                pool.map(lambda c: helm_pick(helm, helm_chart, c), constraints),
                strict=True,
            )
        )
    found = [c for c in constraints if expected[c] is not None]
    assert len(constraints) >= 40 and len(found) >= 30 and len(found) < len(constraints)
    releases = [{"name": f"r{i:02d}", "chart": chart, "version": c} for i, c in enumerate(found)]
    root = config_repo(tmp_path, repositories, releases)
    config = load_config(root)
    changes = lock.lock_environments(config, config.environments)
    assert len(changes) == len(found)
    locked = lock.read_lock(root / "overlays" / "dev", root=root)
    assert locked is not None
    picks = {c: locked.get(f"r{i:02d}").version for i, c in enumerate(found)}  # type: ignore[union-attr]
    assert picks == {c: expected[c] for c in found}
    # Where helm finds none, toolkit reports none.
    sources = charts.ChartSources(config)
    spec = load_environment(config, config.environments[0])
    template = spec.releases[0]
    for constraint in (c for c in constraints if expected[c] is None):
        release = dataclasses.replace(template, version=constraint)
        with pytest.raises(InputError, match=r"no version of|404|has no tag"):
            sources.resolve(release)


def test_http_repository_picks_what_helm_picks(
    tmp_path: Path, helm_tool: tools.Tool, demo_repo: ChartRepo
) -> None:
    differential(
        tmp_path, helm_tool, {"demo": demo_repo.url}, "demo/demo", ["--repo", demo_repo.url, "demo"]
    )


def test_oci_registry_picks_what_helm_picks(
    tmp_path: Path, helm_tool: tools.Tool, demo_oci: str
) -> None:
    differential(tmp_path, helm_tool, {}, demo_oci, [demo_oci, "--plain-http"])
