"""The suite's own environment: the machine's HOME and git configuration cannot reach it."""

from __future__ import annotations

import os
from pathlib import Path

from tests.helpers import git


def test_git_reads_only_the_suites_configuration(tmp_path: Path) -> None:
    listed = git(tmp_path, "config", "--list", "--show-origin").splitlines()
    origins = {line.split("\t", 1)[0] for line in listed}
    assert origins == {f"file:{os.environ['GIT_CONFIG_GLOBAL']}"}
    assert git(tmp_path, "config", "user.email") == "test@example.com"


def test_home_and_xdg_directories_are_the_suites_own() -> None:
    home = Path(os.environ["HOME"])
    assert home.name.startswith("toolkit-tests-home-")
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        assert Path(os.environ[name]).is_relative_to(home)
    assert not [name for name in os.environ if name.startswith("GIT_") and "CONFIG" not in name]
