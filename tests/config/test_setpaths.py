"""`set:` keys are helm `--set` paths: what toolkit renders equals what the real helm (both
majors) renders from the same values file and the same paths given as --set / --set-string /
--set-json, and where helm refuses a path, toolkit refuses it with one message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tests.helpers import make_repo
from toolkit import cli
from toolkit.config.setpaths import SetPathError, parse
from toolkit.infra import process
from toolkit.render import tools

CHART = {
    "charts/c/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
    "charts/c/values.yaml": "image: {repository: app, tag: chart-default}\nresources: {}\n",
    "charts/c/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
        "data:\n  values: {{ toJson .Values | quote }}\n"
    ),
}
VALUES = """\
image: {repository: registry/app, tag: "1.0.0"}
hosts: [{name: a.example.com, port: 80}, {name: b.example.com}]
list: [1, 2]
scalars: [1, {k: 1}, 3]
text: plain
nothing: null
mapping: {p: 1}
resources: {limits: {memory: 1Gi}, requests: {cpu: 100m}}
"""


def repository(root: Path, set_yaml: str) -> Path:
    releases = (
        "releases:\n  - name: app\n    namespace: dev\n    chart: ../../charts/c\n"
        f"    values: [values.yaml]\n    set:\n{set_yaml}"
    )
    files = {
        **CHART,
        "toolkit.yaml": "environments: [{name: dev}]\n",
        "overlays/dev/values.yaml": VALUES,
        "overlays/dev/releases.yaml": releases,
    }
    return make_repo(root, files, example=False)


def toolkit_render(root: Path, helm: tools.Tool) -> tuple[int, str, Any]:
    result = CliRunner().invoke(cli.main, ["-C", str(root), "--helm", str(helm.path), "render"])
    if result.exit_code != 0:
        return result.exit_code, result.stderr, None
    (document,) = [d for d in yaml.safe_load_all(result.stdout) if d]
    return 0, result.stderr, json.loads(document["data"]["values"])


def helm_flags(entries: dict[str, Any], root: Path) -> list[str]:
    """The same paths as a user would give them to helm: typed by flag, as helm types them."""
    flags: list[str] = []
    for key, value in entries.items():
        if isinstance(value, str):
            flags += ["--set-string", f"{key}={value}"]
        elif isinstance(value, dict):  # a mapping merges: what a values file holding it does
            extra = root / f"extra-{len(flags)}.yaml"
            nested: Any = value
            for name in reversed(parse(key)):
                nested = {name: nested}
            extra.write_text(json.dumps(nested))
            flags += ["-f", str(extra)]
        elif isinstance(value, (list, float)):  # --set would read 1.10 as the text "1.10"
            flags += ["--set-json", f"{key}={json.dumps(value)}"]
        else:
            flags += ["--set", f"{key}={json.dumps(value)}"]
    return flags


def helm_render(root: Path, helm: tools.Tool, entries: dict[str, Any]) -> tuple[int, Any]:
    args = [str(helm.path), "template", "app", str(root / "charts/c"), "--namespace", "dev"]
    args += ["-f", str(root / "overlays/dev/values.yaml"), *helm_flags(entries, root)]
    try:
        output = process.run(args).stdout.decode()
    except process.ProcessError:
        return 1, None
    (document,) = [d for d in yaml.safe_load_all(output) if d]
    return 0, json.loads(document["data"]["values"])


@pytest.fixture(params=["suite", "other"])
def helm(request: pytest.FixtureRequest, helm_tool: tools.Tool) -> tools.Tool:
    """The suite's helm, and the other major's."""
    if request.param == "suite":
        return helm_tool
    other: tools.Tool = request.getfixturevalue("other_helm")
    return other


APPLIED = [
    '      image.tag: "9.9.9"\n',  # the `helm --set` habit: a dotted key reaches image.tag
    "      hosts[0].name: c.example.com\n      hosts[1].port: 8080\n",
    "      list[4]: 9\n",  # past the end: padded with nulls
    "      'a\\.b': 3\n",  # an escaped dot is part of the key
    "      scalars[0].k: 2\n",  # a name step on an item that is not a mapping replaces it
    "      q.r[1][0].s: true\n",  # everything along the path made as needed
    "      replicaCount: 3\n      enabled: false\n      image.pullPolicy: null\n",
    '      image.tag: "1.10"\n      version: 1.10\n',  # typed as YAML reads them
    "      resources.limits: {cpu: 500m}\n",  # a mapping merges into the mapping there
    "      image: {tag: from-set}\n",  # as it always did without a dot
    "      list: [7]\n",  # a list replaces
]


@pytest.mark.parametrize("set_yaml", APPLIED)
def test_set_paths_render_what_helm_set_renders(
    tmp_path: Path, helm: tools.Tool, set_yaml: str
) -> None:
    root = repository(tmp_path / "repo", set_yaml)
    entries = yaml.safe_load(f"s:\n{set_yaml}")["s"]

    code, stderr, ours = toolkit_render(root, helm)
    helm_code, theirs = helm_render(root, helm, entries)

    assert (code, helm_code) == (0, 0), stderr
    assert ours == theirs
    assert ours != helm_render(root, helm, {})[1], "the set: entries changed nothing"


@pytest.mark.parametrize(
    ("set_yaml", "message"),
    [
        ("      text.b: 1\n", "text is 'plain' in the values, not a mapping"),
        ("      mapping[0]: 1\n", "mapping is a mapping in the values, not a list"),
        ("      nothing.b: 1\n", "nothing is nothing (null) in the values, not a mapping"),
        ("      scalars[0][1]: 2\n", "scalars[0] is the number 1 in the values, not a list"),
    ],
)
def test_a_path_helm_refuses_is_one_error_naming_the_release(
    tmp_path: Path, helm: tools.Tool, set_yaml: str, message: str
) -> None:
    root = repository(tmp_path / "repo", set_yaml)
    entries = yaml.safe_load(f"s:\n{set_yaml}")["s"]

    code, stderr, _ = toolkit_render(root, helm)

    assert helm_render(root, helm, entries)[0] != 0, "helm refuses it too"
    assert code == 2
    (line,) = stderr.splitlines()
    assert line.startswith("error: overlays/dev/releases.yaml:2: release 'app': set: ")
    assert message in line and "helm --set refuses this path too" in line


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("image..tag", "empty name"),
        ("image.", "ends in '.'"),
        ("[0]", "empty name"),
        ("hosts[x]", "list index such as [0]"),
        ("hosts[0]name", "write a '.' before a name"),
        ("a=b", "escape it as '\\='"),
    ],
)
def test_a_key_that_is_no_set_path_is_refused_where_it_is_written(
    tmp_path: Path, helm_tool: tools.Tool, key: str, problem: str
) -> None:
    root = repository(tmp_path / "repo", f"      {json.dumps(key)}: 1\n")

    code, stderr, _ = toolkit_render(root, helm_tool)

    assert code == 2
    (line,) = stderr.splitlines()
    assert line.startswith(f"error: overlays/dev/releases.yaml:7: release 'app': set key '{key}'")
    assert problem in line


def test_paths_parse_as_helm_strvals_reads_them() -> None:
    assert parse("a.b[0].c") == ("a", "b", 0, "c")
    assert parse("a\\.b") == ("a.b",)
    assert parse("l[01][2]") == ("l", 1, 2)
    assert parse("a\\\\b\\[0\\]") == ("a\\b[0]",)
    with pytest.raises(SetPathError, match="helm's limit of 30"):
        parse(".".join(["n"] * 32))
    assert len(parse(".".join(["n"] * 31))) == 31
