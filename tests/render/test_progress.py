"""toolkit.render.progress: each environment's line as soon as it is done, on a terminal and
in a CI log; GitHub Actions groups and error annotations."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import PROJECT, Cli, break_staging_api, git
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


def _command(
    repo: Path, helm: Path, kustomize: tools.Tool, *args: str, verbose: bool = True
) -> list[str]:
    return [
        *(sys.executable, "-m", "toolkit", "-C", str(repo), *(["-v"] if verbose else [])),
        *("-j", "1", "--helm", str(helm), "--kustomize", str(kustomize.path), "--no-cache"),
        *(args or ["hydrate"]),
    ]


@pytest.fixture
def slow_helm(tmp_path: Path, helm_tool: tools.Tool) -> Path:
    wrapper = tmp_path / "helm"
    wrapper.write_text(SLOW_HELM.replace("{helm}", str(helm_tool.path)))
    wrapper.chmod(0o755)
    return wrapper


def _environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A run's environment: neither CI nor a colour choice but what the test sets."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "TOOLKIT_CACHE_DIR": str(tmp_path / "c")}
    for name in ("GITHUB_ACTIONS", "GITLAB_CI", "NO_COLOR", "TERM"):
        env.pop(name, None)
    return {"TERM": "xterm-256color", **env, **extra}


def _on_a_terminal(
    argv: list[str], env: dict[str, str], *, when: re.Pattern[bytes], probe: Callable[[], int]
) -> tuple[bytes, int | None]:
    """What `argv` prints with its stdout and stderr on a pseudo-terminal, and what `probe`
    said the first time that output, rid of colour codes, matched `when` (None: it never did)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    seen = b""
    probed = None
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
                if probed is None and when.search(_uncoloured(seen)):
                    probed = probe()
    finally:
        proc.wait(timeout=60)
        os.close(leader)
    assert proc.returncode == 0, seen.decode()
    return seen, probed


_SGR = re.compile(rb"\x1b\[[0-9;]*m")  # a colour or style: the display's cursor moves are others


def _uncoloured(output: bytes) -> bytes:
    return _SGR.sub(b"", output)


def test_a_terminal_sees_each_environment_before_the_run_ends(
    example_repo: Path, slow_helm: Path, kustomize_tool: tools.Tool, tmp_path: Path
) -> None:
    helm_log = Path(f"{slow_helm}.log")
    seen, renders_when_seen = _on_a_terminal(
        _command(example_repo, slow_helm, kustomize_tool),
        _environ(tmp_path),
        when=re.compile(rb"dev: 3 renders"),
        probe=lambda: len(helm_log.read_text().splitlines()),
    )
    # dev's line came while the others still rendered: 2 of the 6 helm renders were done.
    assert renders_when_seen == 2, seen.decode()
    assert len(helm_log.read_text().splitlines()) == 6
    assert b"production: 3 renders" in seen


# A row of the live display: the environment, its bar (in colour), renders done of its total.
_ROW = re.compile(rb"(dev|staging|production) +[^\r\n]*?(\d)/3 renders")


def test_a_terminal_gets_a_live_display_of_renders_per_environment(
    example_repo: Path, slow_helm: Path, kustomize_tool: tools.Tool, tmp_path: Path
) -> None:
    """Without -v: rows of renders done per environment, drawn while helm still renders, then
    erased, leaving the lines a log gets."""
    helm_log = Path(f"{slow_helm}.log")
    seen, renders_when_seen = _on_a_terminal(
        _command(example_repo, slow_helm, kustomize_tool, verbose=False),
        _environ(tmp_path),
        when=re.compile(rb"dev +[^\r\n]*?[12]/3 renders"),
        probe=lambda: len(helm_log.read_text().splitlines()),
    )
    assert renders_when_seen is not None and renders_when_seen < 6, seen.decode()
    rows = {(name, int(done)) for name, done in _ROW.findall(_uncoloured(seen))}
    assert {(name, done) for name in (b"dev", b"staging", b"production") for done in (0, 3)} <= rows
    assert _SGR.search(seen)  # in colour on a terminal
    # The display is gone before the result: the last lines are the result's, as in a log.
    tail = _uncoloured(seen).rsplit(b"renders", 1)[1]
    assert b"rendered: committed " in tail and not _ROW.search(tail)
    assert b"dev: 3 renders" not in seen  # the per-environment lines stay for -v


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        ((), {"NO_COLOR": "1"}),
        (("--color", "never"), {}),
    ],
)
def test_the_live_display_without_colour(
    example_repo: Path,
    helm_tool: tools.Tool,
    kustomize_tool: tools.Tool,
    tmp_path: Path,
    args: tuple[str, ...],
    extra: dict[str, str],
) -> None:
    out = tmp_path / "out"
    seen, drawn = _on_a_terminal(
        _command(
            example_repo,
            helm_tool.path,
            kustomize_tool,
            *args,
            "render",
            "-o",
            str(out),
            verbose=False,
        ),
        _environ(tmp_path, **extra),
        when=_ROW,
        probe=lambda: 1,
    )
    assert drawn == 1, seen.decode()
    assert not _SGR.search(seen), seen.decode()
    assert seen.endswith(f"production: 25 files in {out / 'production'}\r\n".encode())


def test_no_live_display_with_quiet(
    example_repo: Path, helm_tool: tools.Tool, kustomize_tool: tools.Tool, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    argv = _command(
        example_repo, helm_tool.path, kustomize_tool, "-q", "render", "-o", str(out), verbose=False
    )
    seen, drawn = _on_a_terminal(argv, _environ(tmp_path), when=_ROW, probe=lambda: 1)
    assert drawn is None and b"\x1b" not in seen and b"\r" not in seen.replace(b"\r\n", b"")


FILES = {"dev": 20, "staging": 22, "production": 25}  # what the example renders to


def test_a_dumb_terminal_gets_one_status_line_without_escape_codes(
    example_repo: Path, slow_helm: Path, kustomize_tool: tools.Tool, tmp_path: Path
) -> None:
    """TERM=dumb cannot move its cursor: the display is one line rewritten after a carriage
    return, blanked before the result's lines."""
    out = tmp_path / "out"
    helm_log = Path(f"{slow_helm}.log")
    argv = _command(
        example_repo, slow_helm, kustomize_tool, "render", "-o", str(out), verbose=False
    )
    seen, renders_when_seen = _on_a_terminal(
        argv,
        _environ(tmp_path, TERM="dumb"),
        when=re.compile(rb"\rrenders: dev 3/3, staging [0-2]/3, production 0/3"),
        probe=lambda: len(helm_log.read_text().splitlines()),
    )
    assert renders_when_seen is not None and renders_when_seen < 6, seen.decode()
    assert b"\x1b" not in seen
    assert b"\rrenders: dev 0/3, staging 0/3, production 0/3" in seen
    blank = b"\r" + b" " * len(b"renders: dev 3/3, staging 3/3, production 3/3") + b"\r"
    lines = [f"{env}: {count} files in {out / env}\r\n" for env, count in FILES.items()]
    assert seen.split(blank)[-1] == "".join(lines).encode()


@pytest.mark.parametrize(
    "args",
    [("hydrate",), ("-v", "hydrate"), ("render", "staging"), ("diff", "--base", "HEAD")],
)
def test_a_log_that_is_no_terminal_gets_no_control_characters(
    example_repo: Path,
    slow_helm: Path,
    kustomize_tool: tools.Tool,
    tmp_path: Path,
    args: tuple[str, ...],
) -> None:
    argv = _command(example_repo, slow_helm, kustomize_tool, *args, verbose=False)
    result = subprocess.run(argv, capture_output=True, env=_environ(tmp_path))
    assert result.returncode == 0, result.stderr.decode()
    if "-v" in args:
        assert b"dev: 3 renders" in result.stderr
    output = result.stdout + result.stderr
    assert b"\x1b" not in output
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


def test_gitlab_ci_gets_a_collapsed_section_per_environment(
    example_repo: Path, run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The markers GitLab's job log folds on (its parser: `section_(start|end):<digits>:<name
    of [a-zA-Z0-9_.-]>`, options in brackets, then `\\r\\e[0K`); the time is only there."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setenv("GITLAB_CI", "true")
    before = int(time.time())
    result = run_cli(example_repo, "hydrate")
    after = int(time.time())
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.split("\n")
    for name in ("dev", "staging", "production"):
        start = re.compile(
            rf"\x1b\[0Ksection_start:(\d+):toolkit-{name}\[collapsed=true\]\r\x1b\[0K{name}"
        )
        (at,) = [index for index, line in enumerate(lines) if start.fullmatch(line)]
        assert lines[at + 1].startswith(f"{name}: 3 renders, ")
        end = re.fullmatch(rf"\x1b\[0Ksection_end:(\d+):toolkit-{name}\r\x1b\[0K", lines[at + 2])
        assert end is not None
        started = start.fullmatch(lines[at])
        assert started is not None
        assert before <= int(started[1]) <= int(end[1]) <= after
    # The branch holds the tree a run outside GitLab's log writes from the same source.
    in_gitlab = git(example_repo, "rev-parse", "rendered^{tree}")
    git(example_repo, "branch", "-D", "rendered")
    monkeypatch.delenv("GITLAB_CI")
    assert run_cli(example_repo, "hydrate").exit_code == 0
    assert git(example_repo, "rev-parse", "rendered^{tree}") == in_gitlab


def test_a_gitlab_section_name_is_one_gitlab_reads() -> None:
    assert progress.gitlab_section("eu west/1", ["a line"], 1700000000) == [
        "\x1b[0Ksection_start:1700000000:toolkit-eu_west_1[collapsed=true]\r\x1b[0Keu west/1",
        "a line",
        "\x1b[0Ksection_end:1700000000:toolkit-eu_west_1\r\x1b[0K",
    ]


def test_rich_loads_only_for_a_display() -> None:
    """Importing the CLI (every command's start) does not import rich."""
    code = "import sys, toolkit.cli; print('rich' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout == "False\n"


def test_a_status_line_never_wraps_and_is_blanked_for_each_line_written() -> None:
    stream = io.StringIO()  # no terminal to ask: 80 columns
    written: list[str] = []
    line = progress.StatusLine(stream, plain=written.append)
    line.planned({f"environment-{n}": 2 for n in range(10)})
    line.advanced("environment-0")
    line.write("a note")
    line.stopped()
    drawn = stream.getvalue().split("\r")
    assert drawn[1].startswith("renders: environment-0 0/2, environment-1 0/2")
    assert max(len(text) for text in drawn) == 79
    assert "renders: environment-0 1/2, " in stream.getvalue()
    assert written == ["a note"]
    assert stream.getvalue().endswith("\r" + " " * 79 + "\r")
