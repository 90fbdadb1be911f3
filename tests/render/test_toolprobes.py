"""toolkit.render.toolprobes against real helm and kubectl binaries: a probe's answer is
remembered by the binary's stamp."""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from toolkit.infra.errors import ToolkitError
from toolkit.render import toolprobes, tools

pytestmark = pytest.mark.usefixtures("isolated")

# A wrapper slow to answer `version`, so that two probes run side by side for certain.
SLOW_VERSION = """#!/bin/sh
[ "$1" = version ] && sleep 0.3
exec {real} "$@"
"""


@pytest.fixture
def probes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file the probes' answers are kept in, in a cache of the test's own."""
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "tool-probes.json"


def test_a_probe_is_remembered_until_the_binary_changes(
    tmp_path: Path, probes: Path, helm_tool: tools.Tool, kustomize_tool: tools.Tool
) -> None:
    helm = tmp_path / "bin" / "helm"
    helm.parent.mkdir()
    shutil.copy2(helm_tool.path, helm)
    an_hour_ago = helm.stat().st_mtime - 3600
    os.utime(helm, (an_hour_ago, an_hour_ago))
    assert toolprobes.helm_version(helm) == helm_tool.version
    remembered = probes.read_text()
    assert helm_tool.version in remembered and str(helm) in remembered
    # Another binary in its place has another stamp: it is asked again, and is not helm.
    helm.unlink()
    shutil.copy2(kustomize_tool.path, helm)
    os.utime(helm, (an_hour_ago, an_hour_ago))
    with pytest.raises(ToolkitError, match=r"is not helm|does not run as helm"):
        toolprobes.helm_version(helm)


def test_a_binary_written_just_now_is_not_remembered(
    tmp_path: Path, probes: Path, helm_tool: tools.Tool
) -> None:
    helm = tmp_path / "helm"
    shutil.copyfile(helm_tool.path, helm)
    helm.chmod(0o755)
    assert toolprobes.helm_version(helm) == helm_tool.version
    assert not probes.exists()


def _slow(path: Path, real: Path) -> Path:
    path.write_text(SLOW_VERSION.format(real=real))
    path.chmod(0o755)
    old = time.time() - 60  # not written just now: its answer may be kept
    os.utime(path, (old, old))
    return path


def test_helm_and_kustomize_probed_side_by_side_are_both_remembered(
    tmp_path: Path, probes: Path, helm_tool: tools.Tool, kustomize_tool: tools.Tool
) -> None:
    helm = _slow(tmp_path / "helm", helm_tool.path)
    kustomize = _slow(tmp_path / "kustomize", kustomize_tool.path)
    with ThreadPoolExecutor(max_workers=2) as pool:  # as a run probes them
        versions = pool.submit(toolprobes.helm_version, helm)
        kustomize_versions = pool.submit(toolprobes.kustomize_version, kustomize)
        assert versions.result() == helm_tool.version
        assert kustomize_versions.result()[0] == kustomize_tool.version

    remembered = json.loads(probes.read_text())
    assert sorted(remembered) == [f"helm\0{helm}", f"kustomize\0{kustomize}"]


def test_remembered_only_answers_from_memory_and_never_runs_the_tool(
    tmp_path: Path, probes: Path, helm_tool: tools.Tool
) -> None:
    ran = tmp_path / "ran.log"
    helm = tmp_path / "helm"
    helm.write_text(f'#!/bin/sh\necho "$@" >> {ran}\nexec {helm_tool.path} "$@"\n')
    helm.chmod(0o755)
    old = time.time() - 60  # not written just now: its answer may be kept
    os.utime(helm, (old, old))

    with toolprobes.remembered_only(), pytest.raises(toolprobes.NotRemembered):
        toolprobes.helm_version(helm)
    assert not ran.exists() and not probes.exists()

    assert toolprobes.helm_version(helm) == helm_tool.version  # asked, and remembered
    assert len(ran.read_text().splitlines()) == 1
    with toolprobes.remembered_only():
        assert toolprobes.helm_version(helm) == helm_tool.version
    assert len(ran.read_text().splitlines()) == 1
