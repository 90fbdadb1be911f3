"""Who a commit is by: the environment's GIT_<ROLE>_NAME/EMAIL, git config, or toolkit's
default. Loaded only by what writes a commit."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from toolkit.infra import runmemo
from toolkit.infra.git.run import run_git

DEFAULT_NAME = "toolkit"
DEFAULT_EMAIL = "toolkit@localhost"


@dataclass(frozen=True)
class Identity:
    """A commit author or committer."""

    name: str
    email: str


def _user_config(repo: Path) -> dict[str, str]:
    """user.name and user.email as git config has them (the last one set wins, as for `git
    config --get`), from one git process a run (the author and the committer both ask)."""

    def ask() -> dict[str, str]:
        output = run_git(repo, "config", "--get-regexp", r"^user\.(name|email)$", check=False)
        values = {}
        for line in output.stdout.decode(errors="replace").splitlines():
            key, _, value = line.partition(" ")
            values[key] = value
        return values

    return runmemo.remembered(("git user config", os.path.abspath(repo)), ask)


def identity(repo: Path, role: str) -> Identity:
    """Who a commit is by: GIT_<ROLE>_NAME/EMAIL, else git config, else toolkit's default."""
    name = os.environ.get(f"GIT_{role.upper()}_NAME")
    email = os.environ.get(f"GIT_{role.upper()}_EMAIL")
    config = {} if name and email else _user_config(repo)
    name = name or config.get("user.name")
    email = email or config.get("user.email")
    return Identity(name or DEFAULT_NAME, email or DEFAULT_EMAIL)
