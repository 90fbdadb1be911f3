"""Shared fixtures: real git repositories, the real helm and kustomize, and the CLI."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.helpers import Cli, CliResult, make_repo
from toolkit import cli
from toolkit.render import tools

pytest_plugins = [
    "tests.fixtures.charts",
    "tests.fixtures.ci",
    "tests.fixtures.diffrepos",
    "tests.fixtures.kubereading",
    "tests.fixtures.perf",
    "tests.fixtures.pinned",
    "tests.fixtures.private",
    "tests.fixtures.promote",
]

GITCONFIG = (
    "[user]\n\tname = Test User\n\temail = test@example.com\n"
    '[init]\n\tdefaultBranch = main\n[protocol "file"]\n\tallow = always\n'
)


def pytest_configure(config: pytest.Config) -> None:
    """The suite's own HOME, XDG directories and git configuration, set before any fixture
    (session-scoped ones included) runs: the machine's settings can neither break nor help it."""
    home = Path(tempfile.mkdtemp(prefix="toolkit-tests-home-"))
    for name in [name for name in os.environ if name.startswith("GIT_")]:
        del os.environ[name]
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(GITCONFIG)
    os.environ.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "GIT_CONFIG_GLOBAL": str(gitconfig),
            "GIT_CONFIG_NOSYSTEM": "1",
        }
    )
    config.add_cleanup(lambda: shutil.rmtree(home, ignore_errors=True))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by what they need, so `-m "not network"` or `-m "not oci"` can leave them:
    `network` downloads the pinned tool wheels from the package index, `oci` starts the registry."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "wheelhouse" in fixtures:
            item.add_marker(pytest.mark.network)
        if "oci_registry" in fixtures:
            item.add_marker(pytest.mark.oci)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """A missing service is one message before any test runs, not an error in every fixture."""
    from tests.fixtures.charts import registry_binary  # a plugin module: imported by pytest first

    if any(item.get_closest_marker("oci") for item in session.items) and not registry_binary():
        raise pytest.UsageError(
            "the OCI tests need Debian's docker-registry: install it "
            "(`apt-get install docker-registry`; `nox` does so itself when run as root), "
            'or leave them out with -m "not oci"'
        )


@pytest.fixture(autouse=True)
def isolated_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test sees the user's toolkit cache."""
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "toolkit-cache"))


@pytest.fixture(scope="session")
def helm_tool() -> tools.Tool:
    """The helm the suite runs against (TOOLKIT_HELM: helm 3 in one nox run, helm 4 in another)."""
    return tools.find_helm()


@pytest.fixture(scope="session")
def kustomize_tool() -> tools.Tool:
    return tools.find_kustomize()


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    """The project's example repository, copied and committed in a fresh git repository."""
    return make_repo(tmp_path / "config")


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
