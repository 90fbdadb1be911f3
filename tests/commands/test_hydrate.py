"""toolkit.commands.hydrate: what a hydrate says to people."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Cli, commit_all


def test_unchanged_environments_are_listed_with_v_only_and_a_summary_line_always(
    example_repo: Path, run_cli: Cli
) -> None:
    assert run_cli(example_repo, "hydrate").exit_code == 0
    again = run_cli(example_repo, "hydrate")
    assert again.exit_code == 0, again.stderr
    assert again.stderr.splitlines() == ["rendered: nothing to commit"]
    verbose = run_cli(example_repo, "-v", "hydrate")
    assert {"dev: unchanged", "staging: unchanged", "production: unchanged"} <= set(
        verbose.stderr.splitlines()
    )
    checked = run_cli(example_repo, "hydrate", "--check")
    assert (checked.exit_code, checked.stderr) == (0, "up to date: 3 environments\n")

    values = example_repo / "overlays/staging/releases.yaml"
    values.write_text(values.read_text().replace("replicaCount: 2", "replicaCount: 3"))
    commit_all(example_repo, "staging: three replicas")
    stale = run_cli(example_repo, "hydrate", "--check")
    assert stale.exit_code == 1
    lines = stale.stderr.splitlines()
    assert lines[-1] == "1 of 3 environments stale"
    assert [line.split(":")[1].strip() for line in lines[:-1]] == ["staging"]
