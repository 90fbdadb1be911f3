"""`tools:` in toolkit.yaml: the pinned helm and kustomize are the ones that render, over
whatever PATH holds, or the run stops with a message; a new pin whose output is byte for byte
the same adds no commit and no tag."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fixtures.pinned import HELM3, HELM4, KUBECTL133, KUBECTL135, install_into, pip_from
from tests.helpers import commit_all, git, hydrated_environments, make_repo, show
from toolkit import cli
from toolkit.render import provision, tools

CHART = {
    "charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n",
    "charts/app/values.yaml": "level: info\n",
    "charts/app/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n"
        "data: {level: {{ .Values.level | quote }}}\n"
    ),
}


def repository(root: Path, tools_yaml: str) -> Path:
    releases = "releases:\n  - {name: app, namespace: app, chart: ../../charts/app}\n"
    files = {
        **CHART,
        "toolkit.yaml": f"tools:\n{tools_yaml}environments: [{{name: dev}}, {{name: prod}}]\n",
        "overlays/dev/releases.yaml": releases,
        "overlays/prod/releases.yaml": releases,
    }
    return make_repo(root, files, example=False)


@pytest.fixture(scope="session")
def both_builds(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Path:
    """A toolkit cache holding helm 3.18.0 and 4.1.4 (and their kubectls)."""
    cache = tmp_path_factory.mktemp("both-builds")
    install_into(cache, wheelhouse, 3)
    return install_into(cache, wheelhouse, 4)


@pytest.fixture
def helm4_first_on_path(both_builds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No TOOLKIT_HELM, the cache with both builds, and helm 4.1.4 first on PATH."""
    monkeypatch.delenv("TOOLKIT_HELM", raising=False)
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(both_builds))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "helm").symlink_to(both_builds / HELM4)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir / "helm"


def toolkit(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.main, ["-C", str(root), *args])
    return result.exit_code, result.stdout, result.stderr


def set_pin(repo: Path, old: str, new: str) -> None:
    config = repo / "toolkit.yaml"
    config.write_text(config.read_text().replace(old, new))


def test_the_pinned_helm_renders_and_a_new_pin_with_the_same_output_adds_nothing(
    helm4_first_on_path: Path, tmp_path: Path
) -> None:
    repo = repository(tmp_path / "config", '  helm: "3.18.0"\n')

    code, _, stderr = toolkit(repo, "hydrate", "--tag")

    assert code == 0, stderr
    assert json.loads(show(repo, "dev/hydrator.metadata"))["tools"]["helm"] == "v3.18.0"
    code, stdout, _ = toolkit(repo, "tools", "status")
    assert stdout.splitlines()[0] == (
        f"helm: v3.18.0 at {os.environ['TOOLKIT_CACHE_DIR']}/{HELM3} (toolkit.yaml:2 pins helm "
        f"3.18.0; toolkit's own build, in its cache, not helm v4.1.4 on PATH "
        f"({helm4_first_on_path}))"
    )
    rendered, tags = git(repo, "rev-parse", "rendered"), git(repo, "tag", "--list")
    assert tags.splitlines() == ["dev/1", "prod/1"]

    set_pin(repo, '"3.18.0"', '"4.1.4"')
    commit_all(repo, "render with helm 4")
    code, stdout, stderr = toolkit(repo, "hydrate", "--tag", "--json")

    assert code == 0, stderr
    dev = hydrated_environments(stdout)["dev"]
    assert (dev["renders"], dev["rendersFromCache"]) == (1, 0)  # rendered to see
    assert git(repo, "rev-parse", "rendered") == rendered
    assert git(repo, "tag", "--list") == tags
    assert json.loads(show(repo, "dev/hydrator.metadata"))["tools"]["helm"] == "v3.18.0"

    (repo / "charts/app/values.yaml").write_text("level: debug\n")
    commit_all(repo, "debug logging")
    code, _, stderr = toolkit(repo, "hydrate", "--tag")

    assert code == 0, stderr
    assert json.loads(show(repo, "dev/hydrator.metadata"))["tools"]["helm"] == "v4.1.4"
    assert git(repo, "tag", "--list").splitlines() == ["dev/1", "dev/2", "prod/1", "prod/2"]


def test_a_flag_or_variable_naming_another_version_than_the_pin_is_refused(
    helm4_first_on_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = repository(tmp_path / "config", '  helm: "3.18.0"\n')

    code, _, stderr = toolkit(repo, "--helm", str(helm4_first_on_path), "render")

    assert code == 2
    assert stderr == (
        f"error: --helm names {helm4_first_on_path}, which is helm v4.1.4, but toolkit.yaml:2 "
        "pins helm 3.18.0: point --helm at helm 3.18.0, or change tools.helm there\n"
    )
    monkeypatch.setenv("TOOLKIT_HELM", str(helm4_first_on_path))
    code, _, stderr = toolkit(repo, "render")
    assert code == 2
    assert stderr.startswith(f"error: $TOOLKIT_HELM names {helm4_first_on_path}, which is helm")


def test_a_version_toolkit_cannot_provision_must_be_on_path(
    helm4_first_on_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = repository(tmp_path / "config", '  helm: "3.17.0"\n')

    code, _, stderr = toolkit(repo, "render")

    assert code == 2
    assert stderr == (
        "error: toolkit.yaml:2 pins helm 3.17.0, which toolkit cannot provision (it provisions "
        f"helm 3.18.0 and 4.1.4) and which is not on PATH (helm on PATH ({helm4_first_on_path}) "
        "is v4.1.4): install helm 3.17.0 on PATH or point --helm / $TOOLKIT_HELM at it, or pin "
        "a version toolkit provisions\n"
    )

    # Were 4.1.4 a version toolkit did not provision, the helm 4.1.4 on PATH would do.
    monkeypatch.setattr(tools, "WHEELS", {3: provision.WHEELS[3]})
    set_pin(repo, '"3.17.0"', '"4.1.4"')
    code, stdout, stderr = toolkit(repo, "render")
    assert code == 0, stderr
    code, stdout, _ = toolkit(repo, "tools", "status")
    assert stdout.splitlines()[0] == (
        f"helm: v4.1.4 at {helm4_first_on_path} (toolkit.yaml:2 pins helm 4.1.4; found on PATH)"
    )


def test_a_pinned_build_not_yet_in_the_cache_is_not_downloaded_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = repository(tmp_path / "config", '  helm: "4.1.4"\n')
    monkeypatch.delenv("TOOLKIT_HELM", raising=False)
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("TOOLKIT_OFFLINE", "1")

    code, _, stderr = toolkit(repo, "render")

    assert code == 2
    assert stderr.startswith(
        "error: toolkit.yaml:2 pins helm 4.1.4, which is not in toolkit's cache ("
    )
    assert "(TOOLKIT_OFFLINE=1 is set): run `toolkit tools install` with access to PyPI" in stderr


def test_tools_install_provisions_what_toolkit_yaml_pins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wheelhouse: Path
) -> None:
    repo = repository(tmp_path / "config", '  helm: "4.1.4"\n  kustomize: v5.6.0\n')
    cache = tmp_path / "cache"
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(cache))
    for name, value in pip_from(wheelhouse).items():
        monkeypatch.setenv(name, value)

    code, stdout, stderr = toolkit(repo, "tools", "install")

    assert code == 0, stderr
    assert stdout.splitlines() == [
        f"helm v4.1.4: {cache / HELM4}",
        f"kustomize v5.6.0: {cache / KUBECTL133}",
    ]
    assert (cache / KUBECTL135).is_file()  # it came with helm 4.1.4


@pytest.mark.parametrize(
    ("tools_yaml", "message"),
    [
        ("  helm: 3.18\n", 'toolkit.yaml:2: tools.helm must be a version such as "3.18.0"'),
        ("  kubectl: 1.33.9\n", "unknown key 'kubectl' in tools"),
        ("  kustomize: latest\n", 'tools.kustomize must be a version such as "5.6.0" or "any"'),
    ],
)
def test_a_pin_is_a_version_or_any(tmp_path: Path, tools_yaml: str, message: str) -> None:
    repo = repository(tmp_path / "config", tools_yaml)

    code, _, stderr = toolkit(repo, "render")

    assert code == 2
    assert message in stderr


def test_any_leaves_the_tool_to_be_found_as_always(tmp_path: Path, helm_tool: tools.Tool) -> None:
    repo = repository(tmp_path / "config", "  helm: any\n  kustomize: any\n")

    code, _, stderr = toolkit(repo, "--helm", str(helm_tool.path), "render")

    assert code == 0, stderr
