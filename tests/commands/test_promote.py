"""`toolkit promote`: the dry run renders DST with the run's settings (--locked, --no-cache)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Cli, commit_all, git

ONLY_THE_IMAGE = ("promote", "dev", "staging", "--dry-run", "--only", "ghcr.io/example/web")


def _stale_staging_lock(repo: Path) -> None:
    """staging's cert-rotator constraint edited (0.6.2 still satisfies it), its lock not."""
    releases = repo / "overlays" / "staging" / "releases.yaml"
    releases.write_text(releases.read_text().replace('version: "0.6.x"', 'version: "~0.6"'))
    commit_all(repo, "staging: cert-rotator ~0.6")


def test_locked_dry_run_with_a_stale_dst_lock_is_one_error(locked_repo: Path, run_cli: Cli) -> None:
    _stale_staging_lock(locked_repo)

    result = run_cli(locked_repo, "--locked", *ONLY_THE_IMAGE)

    assert result.exit_code == 2
    assert result.stderr == (
        "error: overlays/staging/releases.lock is stale and --locked forbids resolving: "
        "release cert-rotator: its constraint changed from '0.6.x' to '~0.6'; "
        "run `toolkit lock staging` and commit overlays/staging/releases.lock\n"
    )
    assert git(locked_repo, "status", "--porcelain") == ""


def test_dry_run_warns_of_a_stale_dst_lock_once(locked_repo: Path, run_cli: Cli) -> None:
    _stale_staging_lock(locked_repo)

    result = run_cli(locked_repo, *ONLY_THE_IMAGE)

    assert result.exit_code == 1, result.stderr
    warning = (
        "warning: overlays/staging/releases.lock: release cert-rotator: its constraint changed "
        "from '0.6.x' to '~0.6'; using 0.6.2 in memory; run `toolkit lock staging`"
    )
    assert result.stderr.count(warning) == 1, result.stderr  # both renders of DST find it
    assert "rendered diff of staging, now -> after promotion:" in result.stdout


def test_no_cache_reaches_the_dry_run(
    locked_repo: Path, run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(cache))
    renders = cache / "renders"

    assert run_cli(locked_repo, "--no-cache", *ONLY_THE_IMAGE).exit_code == 1
    assert not renders.exists() or not any(renders.iterdir())  # nothing read, nothing kept

    assert run_cli(locked_repo, *ONLY_THE_IMAGE).exit_code == 1
    assert any(renders.iterdir())  # the same dry run with the cache fills it
