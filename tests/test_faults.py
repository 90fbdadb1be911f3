"""Faults and hostile input, each test named after the case it holds: secrets where a Secret's
data can hide, markup in resource names, hostile templates, and runs killed at any moment."""

from __future__ import annotations

import base64
import html.parser
import json
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from tests.conftest import Cli, commit_all, git, make_repo
from toolkit import process

# --- secrets ------------------------------------------------------------------------------

ANNOTATION_CANARY = "canary-in-annotation-Hq3"
DATA_CANARY = "canary-in-data-Nw8"
ENVIRONMENT_CANARY = "canary-in-environment-Ld5"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _spelled(canaries: list[str]) -> list[str]:
    """Each canary as itself and as base64, the two ways a Secret carries it."""
    return [form for c in canaries for form in (c, base64.b64encode(c.encode()).decode())]


def _annotated_secret(token: str, *, name: str | None = "credentials", team: str = "a") -> str:
    """A Secret whose last-applied annotation holds the whole object, data included, as
    `kubectl apply` leaves it (and as a chart that copies it from a live cluster renders it)."""
    metadata: dict[str, object] = {"labels": {"team": team}}
    if name is not None:
        metadata["name"] = name
    applied = {"apiVersion": "v1", "kind": "Secret", "metadata": metadata}
    applied["stringData"] = {"token": token}
    metadata_with_annotation = {
        **metadata,
        "annotations": {LAST_APPLIED: json.dumps(applied) + "\n"},
    }
    document = {**applied, "metadata": metadata_with_annotation}
    return json.dumps(document, indent=2) + "\n"  # JSON is YAML: no quoting to get wrong


def _secret_files(token: str, *, team: str = "a") -> dict[str, str]:
    return {
        "toolkit.yaml": "environments:\n  - name: dev\n",
        "overlays/dev/kustomization.yaml": "namespace: app\nresources: [secret.yaml]\n",
        "overlays/dev/secret.yaml": _annotated_secret(token, team=team),
    }


@pytest.fixture
def annotated_secret_repo(tmp_path: Path) -> Path:
    """main holds a Secret with old values; the work tree changes its value and a label, both
    also inside its last-applied annotation."""
    repo = make_repo(tmp_path / "config", _secret_files("old-value-Zt1"), example=False)
    (repo / "overlays/dev/secret.yaml").write_text(_annotated_secret(ANNOTATION_CANARY, team="b"))
    return repo


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_a_secret_value_in_the_last_applied_annotation_is_redacted_in_every_format(
    annotated_secret_repo: Path, run_cli: Cli, tmp_path: Path, fmt: str
) -> None:
    full = tmp_path / f"full.{fmt}"
    result = run_cli(annotated_secret_repo, "diff", "--format", fmt, "--output-full", str(full))
    assert result.exit_code == 0, result.stderr
    for text in (result.stdout, result.stderr, full.read_text()):
        for value in _spelled([ANNOTATION_CANARY, "old-value-Zt1"]):
            assert value not in text
    if fmt == "text":
        # The annotation's structure still shows what changed besides the value.
        assert '"labels":{"team":"b"}' in result.stdout
        redacted = f'"stringData":{{"token":"<redacted: {len(ANNOTATION_CANARY)} bytes>"}}'
        assert redacted in result.stdout


def _nameless_secret_chart(repo: Path, token: str) -> None:
    chart = repo / "charts/leaky"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: leaky\nversion: 0.1.0\n")
    (chart / "templates/secret.yaml").write_text(_annotated_secret(token, name=None))
    (repo / "overlays/dev/releases.yaml").write_text(
        "releases:\n  - name: leaky\n    namespace: app\n    chart: ../../charts/leaky\n"
    )


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_a_secret_without_a_name_fails_without_printing_its_values(
    annotated_secret_repo: Path, run_cli: Cli, fmt: str
) -> None:
    _nameless_secret_chart(annotated_secret_repo, DATA_CANARY)
    result = run_cli(annotated_secret_repo, "diff", "--format", fmt)
    assert result.exit_code == 3
    assert result.stderr.startswith("error: the head (work tree) failed to render: ")
    assert "rendered document 1 (a Secret) lacks metadata.name" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    for value in _spelled([DATA_CANARY, ANNOTATION_CANARY]):
        assert value not in result.stdout + result.stderr


def _files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


def _git_objects(repo: Path) -> bytes:
    """Every object in a repository, loose or packed, uncompressed."""
    listed = git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
    return process.run(
        ("git", "cat-file", "--batch"), cwd=repo, input=listed.encode() + b"\n"
    ).stdout


def test_a_canary_in_a_secret_annotation_and_the_environment_appears_nowhere(
    annotated_secret_repo: Path,
    run_cli: Cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every output and every file a run writes is searched. The render cache and the rendered
    branch are the render itself (a hydrated Secret is deployed from the branch), so the
    Secret's own canaries may be there; the environment's may be nowhere."""
    repo = annotated_secret_repo
    monkeypatch.setenv("CI_JOB_TOKEN", ENVIRONMENT_CANARY)
    before = _files(tmp_path)
    outputs = []
    for fmt in ("text", "markdown", "json"):
        full = tmp_path / "out" / f"full.{fmt}"
        outputs.append(run_cli(repo, "diff", "--format", fmt, "--output-full", str(full)))
    _nameless_secret_chart(repo, DATA_CANARY)
    outputs += [run_cli(repo, "diff", "--format", fmt) for fmt in ("text", "markdown", "json")]
    outputs.append(run_cli(repo, "render"))
    assert [r.exit_code for r in outputs] == [0, 0, 0, 3, 3, 3, 3]
    (repo / "overlays/dev/releases.yaml").unlink()
    commit_all(repo, "rotate the credentials")
    outputs.append(run_cli(repo, "hydrate"))
    assert outputs[-1].exit_code == 0, outputs[-1].stderr
    cache = tmp_path.parent / "toolkit-cache"
    written = {
        path: data
        for path, data in {**_files(tmp_path), **_files(cache)}.items()
        if before.get(path) != data
        and not any(path.is_relative_to(repo / d) for d in ("charts", "overlays"))  # sources
    }
    assert written, "the runs wrote files"
    rendered_objects = _git_objects(repo)
    for value in _spelled([ENVIRONMENT_CANARY]):
        assert all(value not in r.stdout + r.stderr for r in outputs)
        assert [p for p, data in written.items() if value.encode() in data] == []
        assert value.encode() not in rendered_objects
    for value in _spelled([ANNOTATION_CANARY, DATA_CANARY]):
        assert all(value not in r.stdout + r.stderr for r in outputs)
        leaked = [
            p for p, data in written.items() if value.encode() in data and "renders" not in p.parts
        ]
        assert leaked == []


# --- markdown -----------------------------------------------------------------------------

INJECTED_NAMES = ("x</details><h1>INJECTED</h1>", "y\n\n<h1>INJECTED</h1>", "z`<h1>INJECTED</h1>`")
# What the comment is built of; any other element came from a name.
COMMENT_ELEMENTS = {"h2", "h4", "p", "code", "pre", "table", "thead", "tbody", "tr", "th", "td"}
COMMENT_ELEMENTS |= {"details", "summary", "ul", "li"}


class _Elements(html.parser.HTMLParser):
    """The elements of rendered HTML, and the text found outside <code> and <pre>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.open_code = 0
        self.outside_code: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.open_code += tag in ("code", "pre")

    def handle_endtag(self, tag: str) -> None:
        self.tags.append(f"/{tag}")
        self.open_code -= tag in ("code", "pre")

    def handle_data(self, data: str) -> None:
        if not self.open_code:
            self.outside_code.append(data)


def test_a_resource_named_to_close_details_and_open_html_stays_inside_code_spans(
    tmp_path: Path, run_cli: Cli
) -> None:
    configmaps = "".join(
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {json.dumps(name)}\n"
        for name in INJECTED_NAMES
    )
    files = {
        "toolkit.yaml": "environments:\n  - name: dev\n",
        "overlays/dev/kustomization.yaml": "resources: [config.yaml]\n",
        "overlays/dev/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
    }
    repo = make_repo(tmp_path / "config", files, example=False)
    (repo / "overlays/dev/config.yaml").write_text(configmaps)

    result = run_cli(repo, "diff", "--format", "markdown")

    assert result.exit_code == 0, result.stderr
    # GitHub renders comments with cmark-gfm and then filters the HTML; unsafe mode shows
    # what would reach that filter.
    rendered = cmarkgfm.github_flavored_markdown_to_html(
        result.stdout, options=Options.CMARK_OPT_UNSAFE
    )
    elements = _Elements()
    elements.feed(rendered)
    assert {tag.lstrip("/") for tag in elements.tags} <= COMMENT_ELEMENTS
    assert elements.tags.count("details") == elements.tags.count("/details") == 1
    assert "INJECTED" not in "".join(elements.outside_code)
    # Each name is still shown: in the list, the heading, and the diff (header and body).
    assert rendered.count("INJECTED") == 4 * len(INJECTED_NAMES)


# --- template limits ----------------------------------------------------------------------

TINY_CHART = {
    "charts/tiny/Chart.yaml": "apiVersion: v2\nname: tiny\nversion: 0.1.0\n",
    "charts/tiny/templates/config.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tiny\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n"
    ),
}
HOSTILE_TEMPLATES = {
    "nested loops": (
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        "ran longer than 10 s of CPU time (the limit)",
    ),
    "a string repeated 10**10 times": ("{{ 'x' * 10**10 }}", "repeats a value to"),
    "a recursive macro": (
        "{% macro down(n) %}{{ down(n + 1) }}{% endmacro %}{{ down(0) }}",
        "calls nest deeper than 100 levels (the limit)",
    ),
    "100 MB of output": (
        "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
        "output passes 10 MiB (the limit)",
    ),
}
SLOW_TEMPLATES = {"nested loops"}


def _template_cases() -> list[object]:
    return [
        pytest.param(
            where,
            case,
            marks=[pytest.mark.slow] if case in SLOW_TEMPLATES else [],
            id=f"{where}-{case}",
        )
        for where in ("values", "message")
        for case in HOSTILE_TEMPLATES
    ]


@pytest.mark.parametrize(("where", "case"), _template_cases())
def test_a_hostile_template_is_one_error_line_naming_its_file(
    tmp_path: Path, run_cli: Cli, where: str, case: str
) -> None:
    template, message = HOSTILE_TEMPLATES[case]
    files = {
        **TINY_CHART,
        "overlays/dev/releases.yaml": (
            "releases:\n  - name: tiny\n    namespace: app\n    chart: ../../charts/tiny\n"
            "    values: [values/greeting.yaml.j2]\n"
        ),
        "overlays/dev/values/greeting.yaml.j2": "greeting: hello\n",
        "toolkit.yaml": "environments:\n  - name: dev\n",
    }
    if where == "values":
        files["overlays/dev/values/greeting.yaml.j2"] = f"greeting: {template}\n"
        named, expected = "error: overlays/dev/values/greeting.yaml.j2", f"template {message}"
    else:
        files["toolkit.yaml"] += f"rendered:\n  message: |\n    {template}\n"
        named, expected = "error: toolkit.yaml:4: ", f"rendered.message {message}"
    repo = make_repo(tmp_path / "config", files, example=False)

    result = run_cli(repo, "hydrate")

    assert result.exit_code == 2
    # The one line besides the warning that the release is not locked: no traceback.
    (error,) = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert error.startswith(named)
    assert expected in error
    assert git(repo, "branch", "--list", "rendered") == ""
