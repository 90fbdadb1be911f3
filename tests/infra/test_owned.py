"""Directories a run owns while it lives, and what a later run removes of a dead run's."""

from __future__ import annotations

import os
import time
from pathlib import Path

from toolkit.infra import owned

PREFIX = "toolkit-index-"


def test_what_a_run_killed_at_any_moment_of_making_its_directory_left_is_removed(
    tmp_path: Path,
) -> None:
    # Killed after the directory got its name: whatever it holds, its lock went with the run.
    named = tmp_path / f"{PREFIX}dead"
    (named / "index").parent.mkdir()
    (named / "index").write_text("a killed run's\n")
    # Killed before it was locked: the hidden name it is made under, young here.
    making = tmp_path / f".{PREFIX}young"
    making.mkdir()
    owned.remove_abandoned(tmp_path, PREFIX)
    assert not named.exists()
    assert making.exists()  # as a live run about to lock it would have it
    old = time.time() - 120
    os.utime(making, (old, old))
    owned.remove_abandoned(tmp_path, PREFIX)
    assert not making.exists()


def test_a_live_runs_directory_is_kept_and_removed_when_it_ends(tmp_path: Path) -> None:
    other = tmp_path / "not-ours"
    other.mkdir()
    with owned.owned_directory(tmp_path, PREFIX) as live:
        assert live.name.startswith(PREFIX) and live.parent == tmp_path
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "not-ours"])
        owned.remove_abandoned(tmp_path, PREFIX)  # its lock is held: not a dead run's
        assert live.is_dir()
    assert not live.exists() and other.is_dir()
