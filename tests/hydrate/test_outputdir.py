"""`toolkit render -o DIR` and the YAML stream on stdout."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.promote import unwritable
from tests.helpers import Cli


def test_render_into_an_unwritable_directory_is_one_error(
    example_repo: Path, tmp_path: Path, run_cli: Cli
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with unwritable(out):
        result = run_cli(example_repo, "render", "dev", "-o", str(out))
    assert result.exit_code == 2, result.stderr
    assert result.stderr.count("error:") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "cannot write" in result.stderr
    assert list(out.iterdir()) == []
