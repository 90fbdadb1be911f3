"""Spliced YAML edits: only the asked-for value changes, every other byte stays."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from yaml.nodes import MappingNode

from toolkit.infra import yamledit
from toolkit.infra.errors import InputError

DOCUMENT = """\
# A comment that must survive.
images:
  - name: web   # trailing comment
    newTag: 3.12.4

    # the digest pins it
    digest: 'sha256:abc'
  - {name: side,  newTag: "1.0" }
  - digest: sha256:first
    name: dash
releases:
  - name: api
    chart: ../../charts/api
    values: [a.yaml,   b.yaml]
"""


def item(text: str, key: str, index: int) -> MappingNode:
    node = yamledit.compose(text, name="k.yaml")
    entry = yamledit.get(node, key)
    assert entry is not None
    found = yamledit.items(entry[1])[index]
    assert isinstance(found, MappingNode)
    return found


def edit(text: str, *edits: yamledit.Edit) -> str:
    return yamledit.apply(text, list(edits))


def test_set_value_keeps_plain_single_and_double_quoting() -> None:
    web, side = item(DOCUMENT, "images", 0), item(DOCUMENT, "images", 1)
    result = edit(
        DOCUMENT,
        yamledit.set_value(DOCUMENT, web, "newTag", "3.13.0"),
        yamledit.set_value(DOCUMENT, web, "digest", "sha256:it's"),
        yamledit.set_value(DOCUMENT, side, "newTag", "1.1"),
    )
    assert result == (
        DOCUMENT.replace("newTag: 3.12.4", "newTag: 3.13.0")
        .replace("digest: 'sha256:abc'", "digest: 'sha256:it''s'")
        .replace('newTag: "1.0" }', 'newTag: "1.1" }')
    )


def test_positions_count_characters_after_text_outside_ascii() -> None:
    # Splices are made in the decoded text: a comment in another script before the value
    # must not shift them (libyaml's marks count characters, not the bytes of UTF-8).
    text = '# Équipe « plateforme », 東京\nimages:\n  - name: web  # ünïcode\n    newTag: "1.0"\n'
    web = item(text, "images", 0)
    result = edit(text, yamledit.set_value(text, web, "newTag", "1.1"))
    assert result == text.replace('newTag: "1.0"', 'newTag: "1.1"')


@pytest.mark.parametrize("value", ["1.20", "yes", "null", "a: b", "#x", "", " x", "[1]", "1e3"])
def test_a_plain_value_that_would_read_as_something_else_is_quoted(value: str) -> None:
    web = item(DOCUMENT, "images", 0)
    result = edit(DOCUMENT, yamledit.set_value(DOCUMENT, web, "newTag", value))
    assert yaml.safe_load(result)["images"][0]["newTag"] == value
    assert result.count("\n") == DOCUMENT.count("\n")


def test_add_key_after_a_key_in_block_and_flow_style() -> None:
    web, side = item(DOCUMENT, "images", 0), item(DOCUMENT, "images", 1)
    api = item(DOCUMENT, "releases", 0)
    result = edit(
        DOCUMENT,
        yamledit.add_key(DOCUMENT, web, "newName", "ghcr.io/x/web", after="name", style=None),
        yamledit.add_key(DOCUMENT, side, "digest", "sha256:d", after="newTag", style=None),
        yamledit.add_key(DOCUMENT, api, "version", "1.4.0", after="chart", style='"'),
    )
    assert result == (
        DOCUMENT.replace(
            "  - name: web   # trailing comment\n",
            "  - name: web   # trailing comment\n    newName: ghcr.io/x/web\n",
        )
        .replace('newTag: "1.0" }', 'newTag: "1.0", digest: sha256:d }')
        .replace(
            "    chart: ../../charts/api\n", '    chart: ../../charts/api\n    version: "1.4.0"\n'
        )
    )


def test_add_key_at_the_end_of_a_file_without_a_final_newline() -> None:
    text = "images:\n  - name: web"
    node = item(text, "images", 0)
    result = edit(text, yamledit.add_key(text, node, "newTag", "1", after="name", style=None))
    assert result == "images:\n  - name: web\n    newTag: '1'" or result == (
        'images:\n  - name: web\n    newTag: "1"'
    )


def test_remove_key_takes_its_line_and_nothing_else() -> None:
    web = item(DOCUMENT, "images", 0)
    result = edit(DOCUMENT, *yamledit.remove_keys(DOCUMENT, web, ["digest"], where="k.yaml"))
    assert result == DOCUMENT.replace("    digest: 'sha256:abc'\n", "")


def test_remove_key_on_the_dash_line_moves_the_next_key_up() -> None:
    dash = item(DOCUMENT, "images", 2)
    result = edit(DOCUMENT, *yamledit.remove_keys(DOCUMENT, dash, ["digest"], where="k.yaml"))
    assert result == DOCUMENT.replace(
        "  - digest: sha256:first\n    name: dash\n", "  - name: dash\n"
    )


def test_remove_key_in_flow_style_first_and_last() -> None:
    text = "images:\n  - {digest: x, name: web, newTag: '1'}\n"
    node = item(text, "images", 0)
    assert edit(text, *yamledit.remove_keys(text, node, ["digest"], where="k")) == (
        "images:\n  - {name: web, newTag: '1'}\n"
    )
    assert edit(text, *yamledit.remove_keys(text, node, ["newTag"], where="k")) == (
        "images:\n  - {digest: x, name: web}\n"
    )


def test_remove_the_only_key_on_a_dash_line_is_refused() -> None:
    text = "images:\n  - name: web\n  - name: api\n    note: |\n      two\n      lines\n"
    with pytest.raises(InputError, match="edit it by hand"):
        yamledit.remove_keys(text, item(text, "images", 0), ["name"], where="k")
    with pytest.raises(InputError, match="not a one-line value"):
        yamledit.remove_keys(text, item(text, "images", 1), ["note"], where="k")


def test_compose_reports_file_and_line() -> None:
    with pytest.raises(InputError, match=r"^k\.yaml:3: invalid YAML"):
        yamledit.compose("a: 1\nb: [\n", name="k.yaml")


@given(
    value=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
    style=st.sampled_from([None, "'", '"']),
    flow=st.booleans(),
)
def test_render_scalar_always_reads_back_as_the_same_string(
    value: str, style: str | None, flow: bool
) -> None:
    rendered = yamledit.render_scalar(value, style, flow=flow)
    document = f"{{k: {rendered}}}\n" if flow else f"k: {rendered}\n"
    assert yaml.safe_load(document) == {"k": value}


def test_an_insertion_where_a_removed_line_starts_survives_the_removal() -> None:
    text = "images:\n  - name: web\n    newName: mirror/web\n    newTag: '1'\n"
    node = item(text, "images", 0)
    result = edit(
        text,
        *yamledit.remove_keys(text, node, ["newName", "newTag"], where="k"),
        yamledit.add_key(text, node, "digest", "sha256:0", after="name", style=None),
        yamledit.add_key(text, node, "note", "x", after="name", style=None),
    )
    assert result == "images:\n  - name: web\n    digest: sha256:0\n    note: x\n"
