"""Sessions: tests (against helm 3 and helm 4), lint, typecheck; bench on demand."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

# cmarkgfm: GitHub's own markdown renderer, to read the PR comment as GitHub will.
TEST_DEPS = ["pytest>=8", "hypothesis>=6.100", "pytest-xdist>=3", "cmarkgfm>=2024.1", "bcrypt>=4"]


def _tool_env(session: nox.Session, helm_major: str) -> dict[str, str]:
    """Provision the pinned helm and kubectl for this helm major and point the suite at them."""
    out = session.run(
        "toolkit", "tools", "install", "--helm-major", helm_major, "--json", silent=True
    )
    paths = json.loads(str(out))["result"]  # the --json document's envelope
    return {"TOOLKIT_HELM": paths["helm"], "TOOLKIT_KUSTOMIZE": paths["kustomize"]}


# Debian packages the suite runs for real, each with the marker that leaves its tests out:
# distribution 2.x is the OCI tests' registry; Chromium opens the diff's HTML page.
SYSTEM_PACKAGES = {
    "docker-registry": ("docker-registry", "oci", "the OCI tests"),
    "chromium": ("chromium", "browser", "the HTML report's test"),
}


def _provision(session: nox.Session, package: str) -> None:
    """Install a Debian package the tests need when it is missing and this user may install
    packages; otherwise stop with the command that would."""
    binary, marker, needed_by = SYSTEM_PACKAGES[package]
    if f"not {marker}" in " ".join(session.posargs):
        return
    if shutil.which(binary) or Path("/usr/bin", binary).is_file():
        return
    missing = (
        f"{needed_by} need Debian's {package}: run `sudo apt-get install {package}`, "
        f'or `nox -- -m "not {marker}"` to leave those tests out'
    )
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if not shutil.which("apt-get") or (sudo and not shutil.which("sudo")):
        session.error(missing)
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.log(f"installing {package} for {needed_by}")
    try:
        session.run(*sudo, "apt-get", "update", "-qq", external=True, env=env)
        session.run(
            *sudo,
            *("apt-get", "install", "-y", "-qq", "--no-install-recommends", package),
            external=True,
            env=env,
            silent=True,
        )
    except nox.command.CommandFailed:
        session.error(missing)


@nox.session
@nox.parametrize("helm", ["3", "4"])
def tests(session: nox.Session, helm: str) -> None:
    """The test suite against the real helm (3.x or 4.x), kustomize, git and registries."""
    session.install("-e", ".", *TEST_DEPS)
    for package in SYSTEM_PACKAGES:
        _provision(session, package)
    env = _tool_env(session, helm)
    # The other major too: a helm upgrade must invalidate the render cache (test_pipeline).
    env["TOOLKIT_HELM_OTHER"] = _tool_env(session, "4" if helm == "3" else "3")["TOOLKIT_HELM"]
    session.run("pytest", "-n", "2", *session.posargs, env=env)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, and the architecture's rules: import-linter's contracts (pyproject.toml) and the
    checks imports cannot state (tests/test_architecture.py)."""
    session.install("-e", ".", "ruff", "import-linter>=2.1", "pytest>=8")
    session.run("ruff", "check", "toolkit", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "toolkit", "tests", "benchmarks", "noxfile.py")
    session.run("lint-imports")
    # --noconftest: the rules read source files; the suite's fixtures and their deps are unused.
    session.run(
        "pytest", "-q", "-p", "no:cacheprovider", "--noconftest", "tests/test_architecture.py"
    )


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".", "mypy", "types-PyYAML")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmark (not a default session): `nox -s bench`, or `nox -s bench -- --small`;
    `nox -s bench -- --scale` for fleets of growing size (benchmarks/scale.py).

    Kapitan goes into a virtualenv of its own (its pins must not change toolkit's); where it
    does not install, the table says so instead of failing. The scale run does not use it.
    """
    session.install(".")  # as a user installs it: no editable finder on every start
    env = _tool_env(session, "3")
    if "--scale" in session.posargs:
        session.run("python", "-m", "benchmarks.run", *session.posargs, env=env)
        return
    kapitan_venv = Path(session.create_tmp()).resolve() / "kapitan"
    kapitan = kapitan_venv / "bin" / "kapitan"
    try:
        session.run("python", "-m", "venv", str(kapitan_venv), silent=True)
        session.run(str(kapitan_venv / "bin" / "pip"), "install", "-q", "kapitan", external=True)
        args = ["--kapitan", str(kapitan)]
    except nox.command.CommandFailed:
        session.warn("kapitan did not install: the table reports it as not installed")
        args = ["--kapitan", ""]
    session.run("python", "-m", "benchmarks.run", *args, *session.posargs, env=env)
