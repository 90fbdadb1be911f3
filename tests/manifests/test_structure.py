"""The quick reading of a document's structure says what the careful one says, wherever it
settles a document, on real chart output (helm's renders of the benchmark's large charts and of
this repository's charts) and on the scan's tricky cases; on generated documents (where the
careful reading may refuse what the quick one reads, a block scalar on a line of its own), the
outline is what a parser reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import largecharts
from tests.manifests.test_outline import CASES
from toolkit.infra import kubeyaml, process
from toolkit.manifests import model, outline, structure
from toolkit.render import tools

_REPOSITORY = Path(__file__).parents[2]
# What the api and cert-rotator charts require.
_SET = ("--set", "config.environment=dev,issuer.url=https://issuer.example.com")


def _careful_scan(monkeypatch: pytest.MonkeyPatch, text: str) -> outline.Outline | None:
    with monkeypatch.context() as patched:
        patched.setattr(structure, "is_plain", structure.careful)
        return outline.scan(text)


def _reads_as_parsed(text: str) -> None:
    """The outline, where the scan gives one, is what a YAML parser reads (for valid YAML)."""
    found = outline.scan(text)
    try:
        body = kubeyaml.load(text)
    except kubeyaml.KubeYamlError:
        return  # the scan promises nothing for invalid YAML: helm and kustomize print valid YAML
    if found is not None:
        metadata = body["metadata"]
        assert (found.api_version, found.kind, found.name) == (
            body["apiVersion"],
            body["kind"],
            metadata["name"],
        )
        assert found.namespace == (metadata.get("namespace") or None)


def _agrees(monkeypatch: pytest.MonkeyPatch, text: str) -> bool:
    """Whether the quick reading settled `text`, having checked that the careful one says the
    same and the outline is the one the careful reading gives."""
    settled = structure.quick_settles(text)
    if settled:
        assert structure.careful(text) == (True, False)
    assert outline.scan(text) == _careful_scan(monkeypatch, text)
    return settled


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, helm_tool: tools.Tool) -> list[str]:
    """Every document helm prints for the large charts and this repository's own charts."""
    root = tmp_path_factory.mktemp("large")
    largecharts.write_charts(root)
    charts = [root / "charts" / "monitoring", root / "charts" / "gitops"]
    charts += [_REPOSITORY / "charts" / "api", _REPOSITORY / "charts" / "cert-rotator"]
    documents = []
    for chart in charts:
        output = process.run(
            (str(helm_tool.path), "template", "release", str(chart), "--include-crds", *_SET),
            env={"GOGC": "off"},
        )
        stream = output.stdout.decode()
        documents += [doc.text for doc in model.read_documents(stream, where=chart.name)]
    return documents


def test_the_quick_reading_agrees_on_real_chart_output(
    rendered: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settled = [text for text in rendered if _agrees(monkeypatch, text)]
    crds = [text for text in rendered if "\nkind: CustomResourceDefinition\n" in text]
    assert len(crds) >= 13 and all(crd in settled for crd in crds)  # what it is there for
    assert len(settled) > 0.9 * len(rendered)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_quick_reading_agrees_on_the_tricky_cases(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _agrees(monkeypatch, CASES[name])


_scalars = st.text(alphabet="ab:#'\"[]{}|>-& \n", max_size=14)
_fields = st.dictionaries(
    st.sampled_from(["a", "name", "namespace", "description", "'q'", "- z"]),
    st.one_of(_scalars, st.lists(_scalars, max_size=3), st.dictionaries(_scalars, _scalars)),
    max_size=4,
)


@given(_fields, _fields)
def test_generated_documents_are_outlined_as_parsed(
    spec: dict[str, object], metadata: dict[str, object]
) -> None:
    text = kubeyaml.dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "n", **metadata}, **spec}
    )
    _reads_as_parsed(text)


@given(st.lists(st.text(alphabet="ab: '\"[{}]-|>#\n", max_size=20), max_size=8))
def test_generated_lines_are_outlined_as_parsed(lines: list[str]) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: n\n" + "\n".join(lines) + "\n"
    _reads_as_parsed(text)
