"""The rules the package layout relies on that imports alone cannot state (the import rules are
import-linter's contracts in pyproject.toml); `nox -s lint` runs this module too."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import PROJECT

PACKAGE = PROJECT / "toolkit"
GIT_PACKAGE = PACKAGE / "infra" / "git"
MAX_LINES = 400


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _commands_naming_git(path: Path) -> list[int]:
    """Lines where a tuple or list literal starts with "git": a command line about to be run."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Tuple | ast.List)
        and node.elts
        and isinstance(node.elts[0], ast.Constant)
        and node.elts[0].value == "git"
    ]


def test_only_the_git_package_runs_git() -> None:
    runs_git = {
        f"{path.relative_to(PROJECT)}:{line}"
        for path in _modules()
        if not path.is_relative_to(GIT_PACKAGE)
        for line in _commands_naming_git(path)
    }
    assert runs_git == set()
    # The rule would see a command line: the package's one, in run.py.
    assert [
        p.name for p in _modules() if p.is_relative_to(GIT_PACKAGE) and _commands_naming_git(p)
    ] == ["run.py"]


def test_no_module_is_over_the_line_limit() -> None:
    """A module past ~400 lines does more than one job: split it by job."""
    long = {
        path.relative_to(PROJECT).as_posix()
        for path in _modules()
        if len(path.read_text(encoding="utf-8").splitlines()) > MAX_LINES
    }
    assert long == set()


def test_every_package_says_what_it_owns() -> None:
    undocumented = [
        str(init.relative_to(PROJECT))
        for init in PACKAGE.rglob("__init__.py")
        if not ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    ]
    assert undocumented == []
