"""Shared fixtures: real git repositories, the real helm and kustomize, and the CLI."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolkit import cli, process, tools

pytest_plugins = [
    "tests.fixtures.charts",
    "tests.fixtures.ci",
    "tests.fixtures.diffrepos",
    "tests.fixtures.perf",
    "tests.fixtures.promote",
]

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLE_PATHS = ("toolkit.yaml", "charts", "overlays")


@pytest.fixture(autouse=True)
def isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test sees the user's git config or toolkit cache; every commit has a fixed identity."""
    home = tmp_path_factory.getbasetemp() / "home"
    home.mkdir(exist_ok=True)
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n"
        '[init]\n\tdefaultBranch = main\n[protocol "file"]\n\tallow = always\n'
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "toolkit-cache"))


@pytest.fixture(scope="session")
def helm_tool() -> tools.Tool:
    """The helm the suite runs against (TOOLKIT_HELM: helm 3 in one nox run, helm 4 in another)."""
    return tools.find_helm()


@pytest.fixture(scope="session")
def kustomize_tool() -> tools.Tool:
    return tools.find_kustomize()


def git(repo: Path, *args: str) -> str:
    """Run git in a test repository and return its stdout."""
    return process.run(("git", *args), cwd=repo).stdout.decode().strip()


def commit_all(repo: Path, message: str = "change") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def make_repo(path: Path, files: dict[str, str] | None = None, *, example: bool = True) -> Path:
    """A real git repository holding the example configuration (and/or `files`), committed."""
    path.mkdir(parents=True, exist_ok=True)
    if example:
        for name in EXAMPLE_PATHS:
            source = PROJECT / name
            if source.is_dir():
                shutil.copytree(source, path / name)
            else:
                shutil.copy2(source, path / name)
    for name, text in (files or {}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(path, "init", "-q", "-b", "main")
    commit_all(path, "initial configuration")
    return path


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    """The project's example repository, copied and committed in a fresh git repository."""
    return make_repo(tmp_path / "config")


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


Cli = Callable[..., CliResult]


@pytest.fixture
def run_cli(helm_tool: tools.Tool, kustomize_tool: tools.Tool) -> Iterator[Cli]:
    """Run `toolkit -C root ARGS...` in-process with the suite's helm and kustomize."""

    def invoke(root: Path, *args: str) -> CliResult:
        runner = CliRunner()
        argv = [
            "-C",
            str(root),
            "--helm",
            str(helm_tool.path),
            "--kustomize",
            str(kustomize_tool.path),
            *args,
        ]
        result = runner.invoke(cli.main, argv, catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    yield invoke
