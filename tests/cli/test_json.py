"""One JSON contract: every `--json` prints `{"schemaVersion": 1, "command", "result"}`, and
each command's real output is valid against its schema in schemas/ (json_result checks it, for
every test that reads --json)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import jsonschema_rs
import pytest

from tests.helpers import (
    Cli,
    break_staging_api,
    commit_all,
    git,
    json_error,
    json_result,
    json_schemas,
)
from toolkit import cli


def _json_commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            names += _json_commands(command, f"{prefix}{name} ")
        elif any(param.name == "as_json" for param in command.params):
            names.append(prefix + name)
    return names


def test_every_schema_is_a_valid_schema() -> None:
    for name, schema in json_schemas().items():
        assert jsonschema_rs.meta.is_valid(schema), name


def test_a_document_has_a_result_or_an_error() -> None:
    schemas = json_schemas()
    registry = jsonschema_rs.Registry([(schema["$id"], schema) for schema in schemas.values()])
    validator = jsonschema_rs.validator_for(schemas["version.schema.json"], registry=registry)
    error = {"message": "m", "exitCode": 2, "environment": None, "release": None}
    error |= {"file": None, "line": None}
    envelope = {"schemaVersion": 1, "command": "version"}
    assert validator.is_valid({**envelope, "error": error})
    assert not validator.is_valid(envelope)
    assert not validator.is_valid({**envelope, "error": {**error, "exitCode": 0}})


def test_every_command_has_json_and_a_schema() -> None:
    commands = _json_commands(cli.main)
    assert sorted(commands) == sorted(
        [
            *("render", "hydrate", "validate", "status", "diff", "init", "lock", "promote"),
            "rollback",
            *("tools install", "tools status", "version"),
        ]
    )
    names = {f"{command.replace(' ', '-')}.schema.json" for command in commands}
    assert names | {"common.schema.json"} == set(json_schemas())


def test_render_validate_status_diff(example_repo: Path, run_cli: Cli) -> None:
    render = json_result(run_cli(example_repo, "render", "dev", "--json").stdout)
    paths = [file["path"] for file in render["environments"][0]["files"]]
    assert "dev/api/deployment-api.yaml" in paths

    assert json_result(run_cli(example_repo, "validate", "--json").stdout)["errors"] == 0
    status = json_result(run_cli(example_repo, "status", "--json").stdout)
    assert [env["name"] for env in status["environments"]] == ["dev", "staging", "production"]
    assert (
        run_cli(example_repo, "status", "--format", "json").stdout
        == json.dumps(json.loads(run_cli(example_repo, "status", "--json").stdout), indent=2) + "\n"
    )

    diff = run_cli(example_repo, "diff", "dev", "--json")
    assert json_result(diff.stdout)["differs"] is False
    assert run_cli(example_repo, "diff", "dev", "--format", "json").stdout == diff.stdout


def test_hydrate_and_check_have_one_shape(example_repo: Path, run_cli: Cli) -> None:
    stale = json_result(run_cli(example_repo, "hydrate", "--check", "--json").stdout)
    assert stale["check"] is True and stale["stale"] == ["dev", "staging", "production"]
    assert stale["branches"] == []

    hydrated = json_result(run_cli(example_repo, "hydrate", "--json").stdout)
    assert hydrated["stale"] == ["dev", "staging", "production"]
    (branch,) = hydrated["branches"]
    assert branch["name"] == "rendered" and branch["commit"] == git(
        example_repo, "rev-parse", "rendered"
    )
    assert branch["environments"] == ["dev", "staging", "production"]

    assert hydrated["failed"] == [] and hydrated["exitCode"] == 0

    fresh = json_result(run_cli(example_repo, "hydrate", "--check", "--json").stdout)
    assert fresh["stale"] == [] and [env["stale"] for env in fresh["environments"]] == [False] * 3


def test_a_push_that_sends_nothing_says_so(
    example_repo: Path, run_cli: Cli, tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(example_repo, "remote", "add", "origin", str(remote))
    first = json_result(run_cli(example_repo, "hydrate", "--push", "--json").stdout)
    assert first["branches"][0]["pushed"] is True and first["branches"][0]["commit"]

    again = json_result(run_cli(example_repo, "hydrate", "--push", "--json").stdout)
    assert again["branches"][0]["commit"] is None
    assert again["branches"][0]["pushed"] is False


def test_lock_reports_every_pin(example_repo: Path, run_cli: Cli) -> None:
    """dev's lock is written anew; staging's and production's pins stay as they are."""
    (example_repo / "overlays/dev/releases.lock").unlink()
    commit_all(example_repo, "dev unlocked")
    first = json_result(run_cli(example_repo, "lock", "--json").stdout)
    assert {
        (pin["environment"], pin["changed"], pin["previousVersion"] == pin["version"])
        for pin in first["pins"]
    } == {("dev", True, False), ("staging", False, True), ("production", False, True)}
    assert {pin["previousVersion"] for pin in first["pins"] if pin["changed"]} == {None}
    commit_all(example_repo, "lock")

    again = json_result(run_cli(example_repo, "lock", "--json").stdout)
    assert again["pins"] == [
        {**pin, "changed": False, "previousVersion": pin["version"]} for pin in first["pins"]
    ]
    assert again["removed"] == []


def test_promote_init_and_tools(locked_repo: Path, run_cli: Cli, tmp_path: Path) -> None:
    promote = run_cli(locked_repo, "promote", "dev", "staging", "--dry-run", "--json")
    assert json_result(promote.stdout)["target"] == "staging"
    init = json_result(run_cli(tmp_path, "init", str(tmp_path / "new"), "--json").stdout)
    assert "toolkit.yaml" in init["written"]
    json_result(run_cli(locked_repo, "tools", "status", "--json").stdout)
    assert json_result(run_cli(locked_repo, "version", "--json").stdout)["toolkit"]


@pytest.mark.usefixtures("use_cache")
def test_tools_install(tmp_path: Path, run_cli: Cli) -> None:
    installed = json_result(
        run_cli(tmp_path, "tools", "install", "--helm-major", "3", "--json").stdout
    )
    assert Path(installed["helm"]).is_file()


DIFF_HEAD = ("diff", "--base", "HEAD~1", "--head", "HEAD")


@pytest.mark.parametrize(
    "args",
    [
        ("render", "--json"),
        ("hydrate", "--json"),
        ("validate", "--json"),
        (*DIFF_HEAD, "--json"),
        (*DIFF_HEAD, "--format", "json"),
        ("--json", "render"),
    ],
)
def test_a_renderer_failure_is_one_error_document(
    example_repo: Path, run_cli: Cli, args: tuple[str, ...]
) -> None:
    """The same envelope with `error` for `result`, whichever command rendered; the message
    stays on stderr too."""
    break_staging_api(example_repo)
    result = run_cli(example_repo, *args)
    assert result.exit_code == 3
    error = json_error(result.stdout)
    assert {key: error[key] for key in ("exitCode", "environment", "release", "file", "line")} == {
        "exitCode": 3,
        "environment": "staging",
        "release": "api",
        "file": "charts/api/templates/service.yaml",
        "line": 1,
    }
    assert "broken on purpose" in error["message"]
    (said,) = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert said == f"error: {error['message'].splitlines()[0]}"


def test_an_input_error_is_an_error_document_too(example_repo: Path, run_cli: Cli) -> None:
    result = run_cli(example_repo, "render", "nosuch", "--json")
    assert result.exit_code == 2
    error = json_error(result.stdout)
    assert error["exitCode"] == 2 and "nosuch" in error["message"]
    assert [error[key] for key in ("environment", "release", "file", "line")] == [None] * 4
