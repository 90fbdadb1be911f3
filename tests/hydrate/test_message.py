"""The rendered commit's message template (rendered.message in toolkit.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.ci import TINY_CONFIG, tiny_overlay
from tests.golden import assert_golden
from tests.helpers import Cli, git, git_exact, make_repo


def tiny_files(value: str) -> dict[str, str]:
    return {**tiny_overlay("dev", value), **tiny_overlay("prod", value)}


def test_message_template_from_toolkit_yaml(tmp_path: Path, run_cli: Cli) -> None:
    template = (
        "rendered:\n"
        "  message: |\n"
        '    deploy {{ environments | map(attribute="name") | join("+") }} @ {{ source.short }}\n'
        "\n"
        "    {% for e in environments %}{{ e.name }}: {{ e.added | length }} new\n"
        "    {% endfor %}\n"
    )
    repo = make_repo(
        tmp_path / "r", {"toolkit.yaml": template + TINY_CONFIG, **tiny_files("x")}, example=False
    )
    head = git(repo, "rev-parse", "HEAD")
    assert run_cli(repo, "hydrate").exit_code == 0
    message = git(repo, "log", "-1", "--format=%B", "rendered")
    assert (
        message
        == f"deploy dev+prod @ {head[:12]}\n\ndev: 2 new\nprod: 2 new\n\nToolkit-Source: {head}"
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("'{% for %}'", "toolkit.yaml:2: rendered.message: template syntax error"),
        ("'{{ nope.sha }}'", "toolkit.yaml:2: rendered.message failed: 'nope' is undefined"),
        ("'{{ source.__class__.__mro__ }}'", "rendered.message"),
        ("42", "toolkit.yaml:2: rendered.message must be a Jinja2 template string"),
    ],
)
def test_bad_message_templates_are_input_errors(
    tmp_path: Path, run_cli: Cli, template: str, expected: str
) -> None:
    config = f"rendered:\n  message: {template}\n{TINY_CONFIG}"
    repo = make_repo(tmp_path / "r", {"toolkit.yaml": config, **tiny_files("x")}, example=False)
    result = run_cli(repo, "hydrate")
    assert result.exit_code == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert git(repo, "branch", "--list", "rendered") == ""


def test_the_default_message_is_golden(example_repo: Path, run_cli: Cli) -> None:
    head = git(example_repo, "rev-parse", "HEAD")
    assert run_cli(example_repo, "hydrate").exit_code == 0
    message = git_exact(example_repo, "cat-file", "commit", "rendered").split("\n\n", 1)[1]
    assert_golden(
        "rendered-commit-message.txt", message.replace(head, "<head>").replace(head[:12], "<head>")
    )
