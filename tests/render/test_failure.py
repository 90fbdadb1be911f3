"""toolkit.render.failure: a failed `helm template` is one error naming the environment, the
release and the template's file and line, with a command that reproduces it."""

from __future__ import annotations

import shlex
import stat
from pathlib import Path

import pytest

from tests.helpers import Cli, break_staging_api
from toolkit.config.project import Location
from toolkit.infra import process
from toolkit.render import failure, runs


def test_a_helm_failure_names_where_and_how_to_reproduce_it(
    example_repo: Path, run_cli: Cli
) -> None:
    break_staging_api(example_repo)
    result = run_cli(example_repo, "render", "staging")
    assert result.exit_code == 3
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert lines[0] == (
        "error: environment staging, release api (overlays/staging/releases.yaml:3): "
        "helm template failed at charts/api/templates/service.yaml:1"
    )
    assert "broken on purpose" in lines[1]
    assert not any("Use --debug flag" in line for line in lines)  # helm's flag, not toolkit's
    (reproduce,) = [line for line in lines if line.startswith("    to reproduce: ")]
    command = shlex.split(reproduce.removeprefix("    to reproduce: "))
    assert "-" not in command and "<stdin>" not in result.stderr
    values = Path(command[command.index("--values") + 1])
    assert stat.S_IMODE(values.stat().st_mode) == 0o600  # values may hold secrets
    # The command does fail as the render did, from anywhere.
    again = process.run(command, check=False)
    assert again.returncode != 0 and b"broken on purpose" in again.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_helms_debug_output_not_a_traceback(
    example_repo: Path, run_cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    break_staging_api(example_repo)
    result = run_cli(example_repo, "--debug", "render", "staging")
    assert result.exit_code == 3
    assert "Traceback" not in result.stderr
    assert "debug" in result.stderr.lower().replace("--debug", "")  # helm 3 [debug], helm 4 DEBUG
    assert result.stderr.count("error: ") == 1


def _job(root: Path, chart: Path) -> runs.HelmRender:
    from toolkit.config.project import Environment
    from toolkit.config.releases import Release

    location = Location(root / "overlays/dev/releases.yaml", 3, root)
    release = Release("api", "api", chart, None, (), {}, location)  # type: ignore[arg-type]
    environment = Environment("dev", None, (), {}, root / "overlays/dev")
    return runs.HelmRender(environment, release, chart, {}, "sha256:0")


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        (
            "Error: execution error at (api/templates/a.yaml:7:12): no",
            "charts/api/templates/a.yaml:7",
        ),
        (
            "Error: parse error at (api/templates/a.yaml:2): unclosed",
            "charts/api/templates/a.yaml:2",
        ),
        # The line of a YAML parse error is of helm's output, not of the template.
        (
            "Error: YAML parse error on api/templates/a.yaml: yaml: line 2",
            "charts/api/templates/a.yaml",
        ),
        (
            "Error: execution error at (api/charts/db/templates/s.yaml:3:1): no",
            "charts/api/charts/db/templates/s.yaml:3",
        ),
        ("Error: chart requires kubeVersion: >=1.30", None),
    ],
)
def test_the_template_location_is_a_repository_path(
    tmp_path: Path, stderr: str, expected: str | None
) -> None:
    chart = tmp_path / "charts/api"
    chart.mkdir(parents=True)
    where = failure.template_location(_job(tmp_path, chart), stderr)
    assert (None if where is None else str(where)) == expected


def test_a_chart_outside_the_repository_is_named_by_its_chart(tmp_path: Path) -> None:
    chart = tmp_path / "cache/podinfo-6.0.0"
    chart.mkdir(parents=True)
    stderr = "Error: execution error at (podinfo/templates/a.yaml:4:2): no"
    where = failure.template_location(_job(tmp_path / "repo", chart), stderr)
    assert str(where) == "podinfo/templates/a.yaml:4"
