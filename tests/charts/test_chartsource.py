"""Chart sources against the real helm: an HTTP repository and an OCI registry on 127.0.0.1,
the download cache, and bad repositories."""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tests.fixtures.charts import ChartRepo, Registry, free_port, package_chart, serve_chart_repo
from tests.helpers import Cli, commit_all, write_config
from toolkit.charts import chartsource, lockfile, locking, semver
from toolkit.config.project import load_config
from toolkit.config.releases import load_environment
from toolkit.infra import process
from toolkit.infra.errors import InputError
from toolkit.render import tools

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
    archives = [demo_archives / f"demo-{v}.tgz" for v in oci_versions(helm_tool)]
    with ThreadPoolExecutor(8) as pool:
        (base,) = set(pool.map(lambda a: oci_registry.push(a, "differential"), archives))
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
    changes = locking.lock_environments(config, config.environments)
    assert len(changes) == len(found)
    locked = lockfile.read_lock(root / "overlays" / "dev", root=root)
    assert locked is not None
    picks = {c: locked.get(f"r{i:02d}").version for i, c in enumerate(found)}  # type: ignore[union-attr]
    assert picks == {c: expected[c] for c in found}
    # Where helm finds none, toolkit reports none.
    sources = chartsource.ChartSources(config)
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


# --- bad repositories and bad requests: one message, where it came from, exit 2 -------------


@pytest.fixture(scope="module")
def small_repo(
    helm_tool: tools.Tool, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ChartRepo]:
    """A read-only repository shared by the module's tests."""
    with serve_chart_repo(helm_tool, tmp_path_factory.mktemp("small") / "repo") as repo:
        repo.add("demo", "1.0.0", "1.2.0", "2.0.0")
        yield repo


def lock_error(tmp_path: Path, run_cli: Cli, repositories: dict[str, str], **release: str) -> str:
    root = write_config(tmp_path / "config", repositories, {"dev": [{"name": "web", **release}]})
    result = run_cli(root, "lock")
    assert result.exit_code == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert not lockfile.lock_path(root / "overlays" / "dev").exists()  # nothing half-written
    return result.stderr


def test_an_invalid_constraint(tmp_path: Path, run_cli: Cli, small_repo: ChartRepo) -> None:
    stderr = lock_error(
        tmp_path, run_cli, {"charts": small_repo.url}, chart="charts/demo", version=">=1.0 <<2"
    )
    assert stderr.startswith(
        "error: overlays/dev/releases.yaml:2: release web: invalid version constraint '>=1.0 <<2'"
    )


def test_no_version_satisfies_lists_the_nearest(
    tmp_path: Path, run_cli: Cli, small_repo: ChartRepo
) -> None:
    stderr = lock_error(
        tmp_path, run_cli, {"charts": small_repo.url}, chart="charts/demo", version="~1.5"
    )
    assert stderr == (
        f"error: overlays/dev/releases.yaml:2: release web: no version of {small_repo.url} "
        "(chart demo) satisfies '~1.5'; nearest available: 2.0.0, 1.2.0, 1.0.0; change the "
        "constraint in releases.yaml\n"
    )


def test_an_unknown_repository_alias(tmp_path: Path, run_cli: Cli, small_repo: ChartRepo) -> None:
    stderr = lock_error(tmp_path, run_cli, {"charts": small_repo.url}, chart="chart/demo")
    assert stderr.startswith("error: overlays/dev/releases.yaml:4: release 'web': unknown chart")
    assert "(did you mean 'charts'?)" in stderr


def test_a_chart_the_repository_does_not_have(
    tmp_path: Path, run_cli: Cli, small_repo: ChartRepo
) -> None:
    stderr = lock_error(tmp_path, run_cli, {"charts": small_repo.url}, chart="charts/dem")
    assert f"release web: repository 'charts' ({small_repo.url}) has no chart 'dem'" in stderr
    assert "(did you mean 'demo'?)" in stderr


def test_an_unreachable_repository(tmp_path: Path, run_cli: Cli) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    stderr = lock_error(tmp_path, run_cli, {"charts": url}, chart="charts/demo")
    assert stderr.startswith(
        f"error: repository 'charts': cannot fetch {url}/index.yaml: connection refused "
        "(tried 3 times, timeout 30s)"
    )


def test_a_repository_that_never_answers_fails_within_the_timeout(
    tmp_path: Path, run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts connections, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        monkeypatch.setenv("TOOLKIT_HTTP_TIMEOUT", "0.2")
        stderr = lock_error(tmp_path, run_cli, {"charts": url}, chart="charts/demo")
    assert "cannot fetch" in stderr and "timeout 0.2s" in stderr
    assert "TOOLKIT_HTTP_TIMEOUT" in stderr


@pytest.mark.parametrize(
    ("index", "problem"),
    [
        ("entries: [\n", "index.yaml:2: invalid YAML"),
        ("apiVersion: v1\n", "it has no `entries` mapping"),
        ("\xff\xfe", "index.yaml:1: not valid UTF-8"),
        ("x: [1]\ny: *a\n", "index.yaml:2: alias '*a' refers to no finished anchor"),
        ("entries:" + " [" * 300 + "\n", "index.yaml:1: nested more than 200 levels deep"),
    ],
)
def test_a_malformed_index(
    tmp_path: Path, run_cli: Cli, chart_repo: ChartRepo, index: str, problem: str
) -> None:
    (chart_repo.directory / "index.yaml").write_bytes(index.encode("latin-1"))
    stderr = lock_error(tmp_path, run_cli, {"charts": chart_repo.url}, chart="charts/demo")
    assert stderr.startswith(
        f"error: repository 'charts': {chart_repo.url}/index.yaml is not a valid Helm "
        f"repository index: {problem}"
    )


def test_a_repository_url_without_an_index(
    tmp_path: Path, run_cli: Cli, small_repo: ChartRepo
) -> None:
    url = f"{small_repo.url}/nothing-here"
    stderr = lock_error(tmp_path, run_cli, {"charts": url}, chart="charts/demo")
    assert stderr.startswith(f"error: repository 'charts': {url}/index.yaml answered 404")


# --- OCI end to end, and the cache ----------------------------------------------------------


def test_an_oci_chart_locks_renders_and_is_verified(
    tmp_path: Path,
    run_cli: Cli,
    helm_tool: tools.Tool,
    oci_registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = tmp_path / "work"
    for version in ("0.4.0", "0.5.0"):
        oci_registry.push(package_chart(helm_tool, work, "ocidemo", version, work / "out"), "e2e")
    base = f"oci://{oci_registry.host}/e2e"
    root = write_config(
        tmp_path / "config",
        {"registry": base},
        {"dev": [{"name": "web", "chart": "registry/ocidemo", "version": "~0.4"}]},
    )
    assert run_cli(root, "lock").exit_code == 0
    (entry,) = lockfile.read_lock(root / "overlays" / "dev", root=root).entries  # type: ignore[union-attr]
    assert (entry.chart, entry.repository, entry.version) == ("ocidemo", base, "0.4.0")
    # The digest is the manifest's, as the registry reports it.
    head = urllib.request.Request(
        f"http://{oci_registry.host}/v2/e2e/ocidemo/manifests/0.4.0",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        method="HEAD",
    )
    with urllib.request.urlopen(head) as answer:
        assert entry.digest == answer.headers["Docker-Content-Digest"]
    commit_all(root, "lock")
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "fresh-cache"))
    out = tmp_path / "out"
    result = run_cli(root, "--locked", "render", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert (
        'chartVersion: "0.4.0"\n' in (out / "dev" / "web" / "configmap-web-demo.yaml").read_text()
    )
    metadata = json.loads((out / "dev" / "hydrator.metadata").read_text())
    assert metadata["releases"][0]["digest"] == entry.digest
    assert f"{base}/ocidemo --version 0.4.0" in metadata["commands"][0]

    # The tag is pushed again with other content: a machine without the cache refuses it.
    again = package_chart(helm_tool, work, "ocidemo", "0.4.0", work / "again", greeting="hi")
    oci_registry.push(again, "e2e")
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "another-cache"))
    result = run_cli(root, "render")
    assert result.exit_code == 2
    assert f"but releases.lock pins {entry.digest}" in result.stderr
