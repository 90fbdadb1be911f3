"""toolkit.render.progress: each environment's line as soon as it is done, on a terminal and
in a CI log; GitHub Actions groups and error annotations."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import PROJECT, Cli, break_staging_api
from toolkit.infra.errors import InputError, RenderError
from toolkit.render import progress, tools

# helm that takes half a second per render and notes each one done: with -j 1 the
# environments finish one by one.
SLOW_HELM = """#!/bin/bash
[ "$1" = template ] || exec {helm} "$@"
sleep 0.5
{helm} "$@"
status=$?
echo done >> "$0.log"
exit $status
"""


def _command(repo: Path, helm: Path, kustomize: tools.Tool) -> list[str]:
    return [
        sys.executable,
        "-m",
        "toolkit",
        "-C",
        str(repo),
        "-v",
        "-j",
        "1",
        "--helm",
        str(helm),
        "--kustomize",
        str(kustomize.path),
        "--no-cache",
        "hydrate",
    ]


@pytest.fixture
def slow_helm(tmp_path: Path, helm_tool: tools.Tool) -> Path:
    wrapper = tmp_path / "helm"
    wrapper.write_text(SLOW_HELM.replace("{helm}", str(helm_tool.path)))
    wrapper.chmod(0o755)
    return wrapper


def test_a_terminal_sees_each_environment_before_the_run_ends(
    example_repo: Path, slow_helm: Path, kustomize_tool: tools.Tool, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "TOOLKIT_CACHE_DIR": str(tmp_path / "c")}
    env.pop("GITHUB_ACTIONS", None)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        _command(example_repo, slow_helm, kustomize_tool),
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    seen = b""
    renders_when_seen = None
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the run is over and the terminal closed
                    break
                if not chunk:
                    break
                seen += chunk
                if renders_when_seen is None and b"dev: 3 renders" in seen:
                    renders_when_seen = len(Path(f"{slow_helm}.log").read_text().splitlines())
    finally:
        proc.wait(timeout=60)
        os.close(leader)
    assert proc.returncode == 0, seen.decode()
    # dev's line came while the others still rendered: 2 of the 6 helm renders were done.
    assert renders_when_seen == 2, seen.decode()
    assert len(Path(f"{slow_helm}.log").read_text().splitlines()) == 6
    assert b"production: 3 renders" in seen


def test_a_log_that_is_no_terminal_gets_no_control_characters(
    example_repo: Path, slow_helm: Path, kustomize_tool: tools.Tool, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "TOOLKIT_CACHE_DIR": str(tmp_path / "c")}
    result = subprocess.run(
        _command(example_repo, slow_helm, kustomize_tool), capture_output=True, env=env
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"dev: 3 renders" in result.stderr
    output = result.stdout + result.stderr
    assert not [c for c in output.decode() if ord(c) < 32 and c != "\n"]


def test_github_actions_gets_a_group_per_environment_and_an_annotation(
    example_repo: Path, run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_staging_api(example_repo)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = run_cli(example_repo, "hydrate", "--keep-going")
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    start = lines.index("::group::dev")
    assert lines[start + 1].startswith("dev: 3 renders, ")  # some from the suite's cache
    assert lines[start + 2] == "::endgroup::"
    (error,) = [line for line in lines if line.startswith("::error ")]
    assert error.startswith(
        "::error file=charts/api/templates/service.yaml,line=1::environment staging, release api"
    )
    assert "%0A" in error and "broken on purpose" in error
    monkeypatch.delenv("GITHUB_ACTIONS")
    plain = run_cli(example_repo, "hydrate", "--keep-going")
    assert not [line for line in plain.stderr.splitlines() if line.startswith("::")]


def test_an_annotation_is_one_line_with_its_properties_escaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    error = RenderError("100% broken\nsee: here", file="charts/a,b/x:y.yaml", line=3)
    assert progress.annotation(error) == (
        "::error file=charts/a%2Cb/x%3Ay.yaml,line=3::100%25 broken%0Asee: here"
    )
    assert progress.annotation(RenderError("no place")) is None
    assert progress.annotation(InputError("not a render")) is None
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    assert progress.annotation(error) is None
