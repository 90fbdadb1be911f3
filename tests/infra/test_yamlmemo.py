"""toolkit.yaml remembered by its content: read back with the same data and the same lines,
in a run that never loads the YAML parser; never remembered wrong, never an error."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import write_tree
from toolkit.infra import paths, process, yamlfile, yamlmemo, yamlnodes
from toolkit.infra.errors import InputError

CONFIG = """\
# The fleet.
environments:
  - name: dev        # first
    path: overlays/dev
  - {name: staging, path: overlays/staging}
  - name: production
    vars: &shared
      domain: example.com
      "0": zero
    more:
      <<: *shared
      flow: [a, b,
        c]
rendered:
  branch: rendered
  message: |
    hydrate {{ source.sha }}
"""

# Loads toolkit.yaml through the memo in a fresh interpreter: its data, the line of each path
# asked, and whether PyYAML was loaded.
PROBE = """
import json, sys
from pathlib import Path
from toolkit.infra import yamlmemo
doc = yamlmemo.load(Path("toolkit.yaml"), root=Path("."))
paths = json.loads(sys.argv[1])
lines = [doc.line_of(*path) for path in paths]
print(json.dumps({"data": doc.data, "lines": lines, "yaml": "yaml" in sys.modules}))
"""


def _paths(data: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path into `data`, and below each a key that is not there, an index where a key
    is and a key where an index is."""
    found = [prefix, (*prefix, "missing"), (*prefix, 0), (*prefix, "0"), (*prefix, 99)]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _fresh_load(root: Path, paths: list[tuple[str | int, ...]]) -> dict[str, Any]:
    output = process.run((sys.executable, "-c", PROBE, json.dumps(paths)), cwd=root)
    result: dict[str, Any] = json.loads(output.stdout)
    return result


def _entries() -> list[Path]:
    return sorted((paths.cache_dir() / "parsed").glob("*.json"))


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))


def test_a_file_parsed_once_is_read_back_the_same_without_the_parser(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", {"toolkit.yaml": CONFIG})
    parsed = yamlfile.load(root / "toolkit.yaml", root=root)
    paths = _paths(parsed.data)

    first = yamlmemo.load(root / "toolkit.yaml", root=root)
    again = _fresh_load(root, paths)

    assert first.data == parsed.data == again["data"]
    assert again["lines"] == [parsed.line_of(*path) for path in paths]
    assert again["yaml"] is False
    assert len(_entries()) == 1


def test_remembered_lines_are_the_lines_of_the_nodes() -> None:
    for text in (CONFIG, "- a\n- [b, {c: d}]\n-\n  - e\n", "scalar\n", "{}\n", "a:\n"):
        doc = yamlfile.load_text(text, name="x.yaml")
        assert doc.node is not None
        tree = yamlnodes.line_tree(doc.node)
        for path in _paths(doc.data):
            assert yamlfile.line_in_tree(tree, path) == doc.line_of(*path), (text, path)


def test_a_changed_file_is_parsed_again(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", {"toolkit.yaml": "environments: [{name: dev}]\n"})
    yamlmemo.load(root / "toolkit.yaml", root=root)
    (root / "toolkit.yaml").write_text("environments: [{name: prod}]\n")

    doc = yamlmemo.load(root / "toolkit.yaml", root=root)

    assert doc.data == {"environments": [{"name": "prod"}]}
    assert len(_entries()) == 2


def test_a_mistake_is_never_remembered(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", {"toolkit.yaml": "a: 1\nb: [2\n"})

    for _ in range(2):
        with pytest.raises(InputError, match=r"^toolkit\.yaml:3: invalid YAML"):
            yamlmemo.load(root / "toolkit.yaml", root=root)
    assert _entries() == []


def test_an_entry_that_does_not_read_is_parsed_again_and_replaced(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", {"toolkit.yaml": CONFIG})
    yamlmemo.load(root / "toolkit.yaml", root=root)
    [entry] = _entries()
    entry.write_text('{"data": ')

    doc = yamlmemo.load(root / "toolkit.yaml", root=root)

    assert doc.data["rendered"] == {"branch": "rendered", "message": "hydrate {{ source.sha }}\n"}
    assert doc.line_of("rendered", "message") == 16
    assert json.loads(entry.read_text())["data"] == doc.data


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", {"toolkit.yaml": CONFIG})
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "parsed").write_text("a file where the directory would be")

    doc = yamlmemo.load(root / "toolkit.yaml", root=root)

    assert doc.line_of("environments", 2, "vars", "domain") == 8
