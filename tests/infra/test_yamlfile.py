from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.helpers import write_tree
from toolkit.infra import kubeyaml, yamlfile
from toolkit.infra.errors import InputError

SAMPLE = """\
environments:
  - name: dev
    vars:
      domain: dev.example.com
  - name: production
rendered:
  branch: rendered
"""


def write(root: Path, name: str, content: str | bytes) -> Path:
    return write_tree(root, {name: content}) / name


def load_error(root: Path, content: str | bytes, name: str = "overlays/dev/values.yaml") -> str:
    with pytest.raises(InputError) as caught:
        yamlfile.load(write(root, name, content), root=root)
    return str(caught.value)


def test_load_gives_data_and_lines(tmp_path: Path) -> None:
    doc = yamlfile.load(write(tmp_path, "toolkit.yaml", SAMPLE), root=tmp_path)

    assert doc.data["environments"][0]["vars"] == {"domain": "dev.example.com"}
    assert doc.path == tmp_path / "toolkit.yaml"
    assert doc.line_of() == 1
    assert doc.line_of("environments") == 1
    assert doc.line_of("environments", 1) == 5
    assert doc.line_of("environments", 0, "vars", "domain") == 4
    assert doc.line_of("rendered", "branch") == 7


def test_missing_key_path_gives_the_nearest_existing_ancestor(tmp_path: Path) -> None:
    doc = yamlfile.load(write(tmp_path, "toolkit.yaml", SAMPLE), root=tmp_path)

    assert doc.line_of("environments", 1, "kubeVersion") == 5
    assert doc.line_of("environments", 7) == 1
    assert doc.where("nothing", "here") == "toolkit.yaml:1"
    assert doc.where("rendered", "branch") == "toolkit.yaml:7"


def test_where_is_relative_to_the_root_with_posix_separators(tmp_path: Path) -> None:
    path = write(tmp_path, "overlays/dev/values/api.yaml", "a:\n  b: 1\n")

    doc = yamlfile.load(path, root=tmp_path)

    assert doc.where("a", "b") == "overlays/dev/values/api.yaml:2"


def test_empty_file_is_none_without_lines(tmp_path: Path) -> None:
    doc = yamlfile.load(write(tmp_path, "empty.yaml", "# nothing yet\n"), root=tmp_path)

    assert doc.data is None
    assert doc.line_of("anything") is None
    assert doc.where("anything") == "empty.yaml"


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    doc = yamlfile.load(write(tmp_path, "bom.yaml", "\ufeffa: 1\n"), root=tmp_path)

    assert doc.data == {"a": 1}


def test_alias_bomb_is_refused_before_expansion(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]")

    message = load_error(tmp_path, "\n".join(lines) + "\n")

    # The alias that crosses the budget of nodes aliases may add (100,000) is named.
    assert message == (
        "overlays/dev/values.yaml:6: YAML aliases add more than 100,000 nodes (an alias bomb?); "
        "use fewer aliases or write the values out"
    )


def test_anchors_aliases_and_merge_keys_are_read_as_helm_reads_them(tmp_path: Path) -> None:
    text = (
        "defaults: &defaults\n  image: nginx\n  tag: '1'\n"
        "api:\n  <<: *defaults\n  tag: '2'\n"
        "late:\n  tag: '3'\n  <<: *defaults\n"  # go-yaml v2: a merge overrides what came before
        "ports: &ports [80, 443]\nalso: *ports\n"
    )
    doc = yamlfile.load(write(tmp_path, "v.yaml", text), root=tmp_path)

    assert doc.data["api"] == {"image": "nginx", "tag": "2"}
    assert doc.data["late"] == {"tag": "1", "image": "nginx"}
    assert doc.data["also"] == [80, 443]


def test_an_alias_without_its_anchor_names_its_line(tmp_path: Path) -> None:
    message = load_error(tmp_path, "a: 1\nb:\n  c: *x\n")

    assert message.startswith("overlays/dev/values.yaml:3: alias '*x' refers to no finished anchor")


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, "a: &a\n  b: *a\n")

    assert message.startswith("overlays/dev/values.yaml:2: alias '*a' refers to no finished anchor")


def test_second_document_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, "a: 1\n---\nb: 2\n")

    assert message.startswith("overlays/dev/values.yaml:2: a second YAML document")
    assert "keep one document per file" in message


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    message = load_error(tmp_path, "a: 1\nb: [1, 2\nc: 3\n")

    assert message.startswith("overlays/dev/values.yaml:")
    assert "invalid YAML" in message
    assert "flow sequence" in message


def test_bad_indentation_names_its_line(tmp_path: Path) -> None:
    message = load_error(tmp_path, "a: 1\n  b: 2\n")

    assert message.startswith("overlays/dev/values.yaml:2: invalid YAML: mapping values")


def test_duplicate_key_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, "image:\n  tag: a\n  repository: x\n  tag: b\n")

    assert message == (
        "overlays/dev/values.yaml:4: duplicate key 'tag' (first on line 2); remove one of them"
    )


def test_duplicate_key_in_a_flow_mapping_is_refused(tmp_path: Path) -> None:
    assert "duplicate key 'a'" in load_error(tmp_path, "{a: 1, a: 2}\n")


def test_keys_are_duplicates_when_kubernetes_names_them_alike(tmp_path: Path) -> None:
    assert "duplicate key 'y'" in load_error(tmp_path, "true: 1\ny: 2\n")
    assert "duplicate key '\"a\"'" not in load_error(tmp_path, "a: 1\n'a': 2\n")


def test_helm_files_take_the_last_of_duplicate_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "v.yaml", "a: 1\nm: {x: 1}\na: 2\nm: {z: 2}\n")

    assert yamlfile.load(path, root=tmp_path, last_key_wins=True).data == {"a": 2, "m": {"z": 2}}


def test_non_utf8_bytes_are_refused_with_line_and_column(tmp_path: Path) -> None:
    message = load_error(tmp_path, b"a: 1\nb: caf\xe9\n")

    assert message == (
        "overlays/dev/values.yaml:2: not valid UTF-8 (byte 0xe9 at column 7); "
        "save the file as UTF-8"
    )


def test_file_over_ten_mebibytes_is_refused(tmp_path: Path) -> None:
    content = b"# " + b"x" * yamlfile.MAX_BYTES + b"\n"

    message = load_error(tmp_path, content)

    assert message.startswith("overlays/dev/values.yaml: file is larger than 10 MiB")


def test_deep_nesting_is_refused_instead_of_crashing(tmp_path: Path) -> None:
    depth = 100_000

    message = load_error(tmp_path, "[" * depth + "]" * depth)

    # Newer libyaml builds stop at their own depth limit first; either way it is one message.
    assert message.startswith("overlays/dev/values.yaml:1:")
    assert (
        f"nested more than {kubeyaml.MAX_DEPTH} levels deep" in message
        or "nesting depth" in message
    )


def test_python_tags_are_not_constructed(tmp_path: Path) -> None:
    text = "a: !!python/object/apply:os.system ['true']\nb: !!python/none x\n"
    path = write(tmp_path, "v.yaml", text)

    # As go-yaml v2 does: a tag it does not know is ignored, the value read as written.
    assert yamlfile.load(path, root=tmp_path).data == {"a": ["true"], "b": "x"}


def test_control_characters_are_refused_with_their_line(tmp_path: Path) -> None:
    message = load_error(tmp_path, "a: 1\nb: \x07\n")

    assert message.startswith("overlays/dev/values.yaml:2: invalid YAML: control characters")


def test_dates_and_timestamps_stay_strings(tmp_path: Path) -> None:
    path = write(tmp_path, "v.yaml", "a: 2024-01-01\nb: 2024-02-30\nc: 2024-01-01T10:00:00Z\n")

    assert yamlfile.load(path, root=tmp_path).data == {
        "a": "2024-01-01",
        "b": "2024-02-30",
        "c": "2024-01-01T10:00:00Z",
    }


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^values/none\.yaml: file not found$"):
        yamlfile.load(tmp_path / "values" / "none.yaml", root=tmp_path)


def test_load_text_applies_the_same_checks() -> None:
    doc = yamlfile.load_text("a:\n  b: 1\n", name="main:overlays/dev/releases.yaml")
    assert doc.data == {"a": {"b": 1}}
    assert doc.where("a", "b") == "main:overlays/dev/releases.yaml:2"

    with pytest.raises(InputError, match=r"^v1:x\.yaml:2: alias '\*a' refers to no"):
        yamlfile.load_text("a: 1\nb: *a\n", name="v1:x.yaml")
    with pytest.raises(InputError, match=r"^x\.yaml:1: not valid UTF-8"):
        yamlfile.load_text(b"a: \xff\n", name="x.yaml")
    with pytest.raises(InputError, match=r"^x\.yaml:2: not valid UTF-8"):
        yamlfile.load_text("a: 1\nb: \udcff\n", name="x.yaml")
    with pytest.raises(InputError, match="larger than 10 MiB"):
        yamlfile.load_text("#" * (yamlfile.MAX_BYTES + 1), name="x.yaml")


def test_read_text_checks_encoding(tmp_path: Path) -> None:
    assert yamlfile.read_text(write(tmp_path, "t.j2", "é\n"), root=tmp_path) == "é\n"
    with pytest.raises(InputError, match=r"^t\.j2:1: not valid UTF-8"):
        yamlfile.read_text(write(tmp_path, "t.j2", b"\xff"), root=tmp_path)


def test_mapping_check_suggests_the_closest_key() -> None:
    doc = yamlfile.load_text("environments: []\nrendred: {}\n", name="toolkit.yaml")

    with pytest.raises(InputError) as caught:
        doc.mapping((), doc.data, allowed=("environments", "rendered"))

    assert str(caught.value) == (
        "toolkit.yaml:2: unknown key 'rendred' in toolkit.yaml (did you mean 'rendered'?); "
        "allowed keys: environments, rendered"
    )


def test_mapping_check_names_missing_and_mistyped_values() -> None:
    doc = yamlfile.load_text("releases:\n  - name: api\n    values: x.yaml\n", name="r.yaml")
    release = doc.data["releases"][0]

    with pytest.raises(InputError, match=r"^r\.yaml:2: releases\[0\] is missing .* 'chart'$"):
        doc.mapping(("releases", 0), release, required=("name", "chart"))
    with pytest.raises(InputError, match=r"^r\.yaml:3: releases\[0\]\.values must be a list"):
        doc.strings(("releases", 0, "values"), release["values"])
    with pytest.raises(InputError, match=r"^r\.yaml:1: releases must be a mapping, found a list"):
        doc.mapping(("releases",), doc.data["releases"])


def test_relative_name_outside_root_is_shown_as_given(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "x.yaml"

    assert yamlfile.relative_name(outside, tmp_path / "repo") == outside.as_posix()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\nb: *x\n", "v.yaml:2: alias '*x' refers to no finished anchor"),
        ("a: 1\n---\n", "v.yaml:2: a second YAML document"),
        ("[" * 300 + "]" * 300, "v.yaml:1: nested more than 200 levels deep"),
        ("a: 1\na: 2\n", "v.yaml:2: duplicate key 'a'"),
        ("a: 1\n b: 2\n", "v.yaml:2: invalid YAML"),
    ],
)
def test_pure_python_loader_applies_the_same_checks(
    monkeypatch: pytest.MonkeyPatch, text: str, expected: str
) -> None:
    """Where libyaml is missing, PyYAML's own SafeLoader gives the same results."""
    monkeypatch.setattr(kubeyaml, "_PARSER", yaml.SafeLoader)
    monkeypatch.setattr(kubeyaml, "_COMPOSER", kubeyaml._PyComposer)

    assert yamlfile.load_text("a:\n  - b: 1\n", name="v.yaml").line_of("a", 0, "b") == 2
    with pytest.raises(InputError, match=f"^{re.escape(expected)}"):
        yamlfile.load_text(text, name="v.yaml")


def test_a_device_that_never_ends_is_read_only_up_to_the_limit(tmp_path: Path) -> None:
    """A file that says no size (a device, a pipe) is read up to the limit, not to its end."""
    endless = tmp_path / "values.yaml"
    endless.symlink_to("/dev/zero")

    with pytest.raises(InputError, match="larger than 10 MiB"):
        yamlfile.load(endless, root=tmp_path)
