"""toolkit.render.toolprobes against real helm and kubectl binaries: a probe's answer is
remembered by the binary's stamp."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from toolkit.infra.errors import ToolkitError
from toolkit.render import toolprobes, tools

pytestmark = pytest.mark.usefixtures("isolated")


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
    assert toolprobes.helm_version(helm) == helm_tool.version
    remembered = (tmp_path / "cache" / "tool-probes.json").read_text()
    assert helm_tool.version in remembered and str(helm) in remembered
    # Another binary in its place has another stamp: it is asked again, and is not helm.
    helm.unlink()
    shutil.copy2(kustomize_tool.path, helm)
    os.utime(helm, (an_hour_ago, an_hour_ago))
    with pytest.raises(ToolkitError, match=r"is not helm|does not run as helm"):
        toolprobes.helm_version(helm)


def test_a_binary_written_just_now_is_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helm_tool: tools.Tool
) -> None:
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    helm = tmp_path / "helm"
    shutil.copyfile(helm_tool.path, helm)
    helm.chmod(0o755)
    assert toolprobes.helm_version(helm) == helm_tool.version
    assert not (tmp_path / "cache" / "tool-probes.json").exists()
