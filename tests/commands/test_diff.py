"""`toolkit diff`: it renders with the run's settings and reports their warnings."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Cli, commit_all


def test_diff_prints_the_stale_lock_warning_render_prints(example_repo: Path, run_cli: Cli) -> None:
    values = example_repo / "charts" / "api" / "values.yaml"
    values.write_text(values.read_text() + "# an edit\n")  # the work tree's dev lock is stale
    warning = (
        "warning: overlays/dev/releases.lock: release api: the local chart changed since it "
        "was locked"
    )
    rendered = run_cli(example_repo, "render", "dev")
    assert rendered.exit_code == 0, rendered.stderr
    assert warning in rendered.stderr

    result = run_cli(example_repo, "diff", "dev")

    assert result.exit_code == 0, result.stderr
    assert result.stderr.count(warning) == 1, result.stderr
    # The base (the committed lock, current) renders without a warning.
    assert result.stderr.count("warning:") == 1, result.stderr


def test_a_warning_of_the_base_revision_names_it(example_repo: Path, run_cli: Cli) -> None:
    values = example_repo / "charts" / "api" / "values.yaml"
    values.write_text(values.read_text() + "# an edit\n")
    base = commit_all(example_repo, "edit the api chart, not its lock")

    result = run_cli(example_repo, "diff", "dev")

    assert result.exit_code == 0, result.stderr
    stale = "overlays/dev/releases.lock: release api: the local chart changed since it was locked"
    assert f"warning: base ({base[:12]}): {stale}" in result.stderr
    assert f"warning: {stale}" in result.stderr  # the head: the work tree
