"""The Jinja2 factory: the sandbox, byte-exact output, the rooted loader and what it reports.
(Values templates' behaviour through merged_values is tested in render/test_values.py.)"""

from __future__ import annotations

from pathlib import Path

import jinja2
import jinja2.exceptions
import pytest

from toolkit.infra.errors import InputError
from toolkit.infra.templates import render_file, template_environment


def write(root: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)


def test_render_file_keeps_trailing_newlines(tmp_path: Path) -> None:
    write(tmp_path, {"msg.j2": "promote {{ release.name }}\n\n"})

    text, _ = render_file(tmp_path / "msg.j2", {"release": {"name": "api"}}, root=tmp_path)

    assert text == "promote api\n\n"


def test_template_environment_without_a_root_renders_strings() -> None:
    environment = template_environment()

    assert environment.from_string("{{ a }} <b>\n").render(a="&") == "& <b>\n"
    with pytest.raises(jinja2.UndefinedError):
        environment.from_string("{{ missing }}").render()
    with pytest.raises(jinja2.exceptions.SecurityError):
        environment.from_string("{{ ''.__class__.__mro__ }}").render()


def test_render_file_reports_every_file_asked_for_even_missing_ones(tmp_path: Path) -> None:
    """A later hydrate trusts this list to know what a template reads: an include that is
    missing today (`ignore missing`) changes the output once the file exists."""
    write(
        tmp_path,
        {
            "a.j2": "{% include 'shared/b.j2' %}{% include 'shared/later.j2' ignore missing %}",
            "shared/b.j2": "b: 1\n",
        },
    )
    root = tmp_path.resolve()

    text, read = render_file(tmp_path / "a.j2", {}, root=tmp_path)

    assert text == "b: 1\n"
    assert set(read) == {root / "a.j2", root / "shared/b.j2", root / "shared/later.j2"}


def test_an_include_outside_the_root_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"repo/a.j2": "{% include '../secret' %}", "secret": "x"})

    with pytest.raises(InputError, match="leads outside"):
        render_file(tmp_path / "repo/a.j2", {}, root=tmp_path / "repo")
