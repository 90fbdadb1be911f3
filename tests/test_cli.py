"""Bad input: one message, the right exit code, no traceback, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import Cli, commit_all, git, make_repo


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def no_toolkit_yaml(repo: Path) -> None:
    (repo / "toolkit.yaml").unlink()


def yaml_syntax_error(repo: Path) -> None:
    edit(repo / "overlays/dev/releases.yaml", "namespace: api", "namespace: [api")


def unknown_key(repo: Path) -> None:
    edit(repo / "toolkit.yaml", "environments:", "enviroments:")


def missing_values_file(repo: Path) -> None:
    edit(repo / "overlays/dev/releases.yaml", "values/api.yaml,", "values/nope.yaml,")


def values_outside_repository(repo: Path) -> None:
    (repo.parent / "secret.yaml").write_text("stolen: true\n")
    edit(repo / "overlays/dev/releases.yaml", "values/api.yaml,", "../../../secret.yaml,")


def values_symlink_outside_repository(repo: Path) -> None:
    (repo.parent / "secret.yaml").write_text("stolen: true\n")
    (repo / "overlays/dev/values/linked.yaml").symlink_to(repo.parent / "secret.yaml")
    edit(repo / "overlays/dev/releases.yaml", "values/api.yaml,", "values/linked.yaml,")


def undefined_jinja_variable(repo: Path) -> None:
    edit(repo / "overlays/dev/values/api.yaml.j2", "{{ vars.domain }}", "{{ vars.domian }}")


def jinja_sandbox_escape(repo: Path) -> None:
    edit(
        repo / "overlays/dev/values/api.yaml.j2",
        "environment: {{ env.name }}",
        "environment: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"",
    )


def chart_required_fails(repo: Path) -> None:
    edit(repo / "overlays/dev/values/api.yaml.j2", "environment: {{ env.name }}", "environment: ''")


def broken_kustomization(repo: Path) -> None:
    edit(repo / "overlays/dev/kustomization.yaml", "  - namespace.yaml", "  - missing.yaml")


def same_resource_from_two_sources(repo: Path) -> None:
    (repo / "overlays/dev/clash.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  namespace: api\n"
    )
    edit(
        repo / "overlays/dev/kustomization.yaml",
        "  - namespace.yaml",
        "  - namespace.yaml\n  - clash.yaml",
    )
    edit(repo / "overlays/dev/kustomization.yaml", "namespace: web\n", "")


def alias_bomb(repo: Path) -> None:
    lines = ["a: &a [" + ",".join(["x"] * 10) + "]"]
    lines += [f"{n}: &{n} [" + ",".join([f"*{p}"] * 10) + "]" for p, n in ("ab", "bc", "cd", "de")]
    bomb = "\n".join(lines) + "\n"
    (repo / "overlays/dev/values/api.yaml").write_text(bomb)


def document_nested_900_levels(repo: Path) -> None:
    nested = "".join(f"{'  ' * level}k:\n" for level in range(1, 901)) + f"{'  ' * 901}v\n"
    (repo / "overlays/dev/deep.yaml").write_text(
        f"apiVersion: example.com/v1\nkind: Deep\nmetadata:\n  name: deep\nspec:\n{nested}"
    )
    edit(
        repo / "overlays/dev/kustomization.yaml",
        "  - namespace.yaml",
        "  - namespace.yaml\n  - deep.yaml",
    )


CASES: list[tuple[Callable[[Path], None], tuple[str, ...], int, list[str]]] = [
    (no_toolkit_yaml, (), 2, ["toolkit.yaml", "-C"]),
    (yaml_syntax_error, (), 2, ["overlays/dev/releases.yaml:"]),
    (unknown_key, (), 2, ["toolkit.yaml:", "enviroments", "did you mean 'environments'"]),
    (lambda repo: None, ("stagin",), 2, ["stagin", "did you mean 'staging'"]),
    (missing_values_file, (), 2, ["overlays/dev/releases.yaml:", "values/nope.yaml", "not found"]),
    (values_outside_repository, (), 2, ["overlays/dev/releases.yaml:", "outside the repository"]),
    (values_symlink_outside_repository, (), 2, ["values/linked.yaml", "outside the repository"]),
    (undefined_jinja_variable, (), 2, ["overlays/dev/values/api.yaml.j2:", "domian"]),
    (jinja_sandbox_escape, (), 2, ["overlays/dev/values/api.yaml.j2:", "unsafe"]),
    (chart_required_fails, (), 3, ["release api", "helm template failed", "config.environment"]),
    (broken_kustomization, (), 3, ["kustomize build failed", "missing.yaml"]),
    (same_resource_from_two_sources, (), 2, ["ServiceAccount api/api", "'api' and 'kustomize'"]),
    (alias_bomb, (), 2, ["overlays/dev/values/api.yaml:5:", "alias bomb"]),
    (document_nested_900_levels, (), 3, ["environment dev, kustomize, line", "200 levels deep"]),
]


@pytest.mark.parametrize(
    ("break_it", "args", "exit_code", "says"), CASES, ids=lambda c: getattr(c, "__name__", None)
)
@pytest.mark.parametrize("command", ["hydrate", "render"])
def test_bad_input_gets_one_message_and_writes_nothing(
    example_repo: Path,
    run_cli: Cli,
    tmp_path: Path,
    break_it: Callable[[Path], None],
    args: tuple[str, ...],
    exit_code: int,
    says: list[str],
    command: str,
) -> None:
    break_it(example_repo)
    commit_all(example_repo, "break it")
    out = tmp_path / "out"
    extra = ("-o", str(out)) if command == "render" else ()
    result = run_cli(example_repo, command, *args, *extra)
    assert result.exit_code == exit_code, result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error")] == [
        result.stderr.splitlines()[0]
    ]
    assert "Traceback" not in result.stderr
    for fragment in says:
        assert fragment in result.stderr, (fragment, result.stderr)
    assert git(example_repo, "branch", "--list", "rendered") == ""
    assert not out.exists()
    assert git(example_repo, "status", "--porcelain") == ""


def test_not_a_git_repository_can_still_render(tmp_path: Path, run_cli: Cli) -> None:
    repo = make_repo(tmp_path / "config")
    (repo / ".git").rename(tmp_path / "moved-git")
    result = run_cli(repo, "render", "dev", "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "out/dev/api/deployment-api.yaml").is_file()
    result = run_cli(repo, "hydrate", "dev")
    assert result.exit_code == 4
    assert "not inside a git repository" in result.stderr


def test_debug_shows_the_traceback(example_repo: Path, run_cli: Cli) -> None:
    result = run_cli(example_repo, "--debug", "hydrate", "nowhere")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr


def test_version_and_help(example_repo: Path, run_cli: Cli) -> None:
    assert "toolkit" in run_cli(example_repo, "--version").stdout
    for command in ("render", "hydrate", "tools"):
        assert run_cli(example_repo, command, "--help").exit_code == 0
