"""Sessions: tests (against helm 3 and helm 4), lint, typecheck, bench."""

from __future__ import annotations

import json

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

TEST_DEPS = ["pytest>=8", "hypothesis>=6.100", "pytest-xdist>=3"]


def _tool_env(session: nox.Session, helm_major: str) -> dict[str, str]:
    """Provision the pinned helm and kubectl for this helm major and point the suite at them."""
    out = session.run(
        "toolkit", "tools", "install", "--helm-major", helm_major, "--json", silent=True
    )
    paths = json.loads(str(out))
    return {"TOOLKIT_HELM": paths["helm"], "TOOLKIT_KUSTOMIZE": paths["kustomize"]}


@nox.session
@nox.parametrize("helm", ["3", "4"])
def tests(session: nox.Session, helm: str) -> None:
    """The test suite against the real helm (3.x or 4.x), kustomize, git and registries."""
    session.install("-e", ".", *TEST_DEPS)
    env = _tool_env(session, helm)
    session.run("pytest", "-n", "2", *session.posargs, env=env)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "toolkit", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "toolkit", "tests", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".", "mypy", "types-PyYAML")
    session.run("mypy")
