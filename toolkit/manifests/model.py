"""Rendered manifests: the documents a renderer printed, their identity and namespaces, and
what a change to one is (secret redaction is secrets.py's).

What goes on the branch is each document's own text as the renderer printed it (helm's
`# Source:` comment included); toolkit only
adds a `metadata.namespace` line where the release's namespace fills one in (the document is
written anew, every scalar meaning what it meant, only where the line cannot be added: a
flow-style `metadata`, or a `*List` unpacked into its items). What identity, layout and CRD
scope need is read from the lines (outline.py); a document the scan cannot settle is parsed in
full, and every document is parsed when its body is needed (diffs, images), as Kubernetes
reads YAML (kubeyaml.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from functools import cached_property
from typing import Any

from toolkit.infra import kubeyaml
from toolkit.infra.errors import RenderError
from toolkit.manifests import outline, scopes
from toolkit.manifests.outline import Outline
from toolkit.manifests.scopes import GroupKind


@dataclass(frozen=True, order=True)
class ResourceId:
    """What makes a resource itself in a cluster."""

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{kind} {self.namespace}/{self.name}" if self.namespace else f"{kind} {self.name}"


@dataclass(frozen=True)
class Resource:
    """One rendered resource: its identity, where it came from, and its file on the branch.

    The file's bytes are all it holds of its text (a fleet's hydrate holds tens of thousands
    of resources at once: a text beside them would be the whole render a second time)."""

    id: ResourceId
    source: str
    data: bytes

    @property
    def text(self) -> str:
        """The file as text (UTF-8, as it was rendered)."""
        return self.data.decode()

    @cached_property
    def body(self) -> dict[str, Any]:
        """The text as Kubernetes reads it (parsed on first use: a hydrate seldom needs it)."""
        try:
            body = kubeyaml.load(self.text)
        except kubeyaml.KubeYamlError as exc:
            line = "" if exc.line is None else f", line {exc.line}"
            raise RenderError(f"{self.source}: {self.id}{line}: {exc.message}") from None
        assert isinstance(body, dict), "a resource's text was read as a mapping before"
        return body


@dataclass(frozen=True)
class Document:
    """One document of a render's output: its text, the line it starts on, and its outline, or
    (where the lines did not settle it) its body."""

    text: str
    line: int
    outline: Outline | None
    body: Mapping[str, Any] | None


# Kubernetes splits a stream where a line starts with `---` and holds nothing else but a
# comment (k8s.io/apimachinery's YAMLReader), and so does toolkit.
_SEPARATOR = re.compile(r"\n---([^\n]*)")  # after a line break: re finds those fast
_CONTENT = re.compile(r"^[ \t]*[^\s#]", re.M)
_KEEP_CHOMPING = re.compile(r"[|>][1-9]?\+")
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]{0,62}")


def _chunks(text: str, where: str) -> Iterator[tuple[str, int]]:
    """Each document's text and its first line."""
    text = "\n" + text  # every separator follows a line break; offsets below count it
    start, line = 1, 1
    for separator in _SEPARATOR.finditer(text):
        rest = separator[1].strip()
        separator_line = line + text.count("\n", start, separator.start() + 1)
        if rest and not rest.startswith("#"):
            raise RenderError(
                f"{where}, line {separator_line}: a document separator followed by content "
                f"({separator[0].strip()!r}), which Kubernetes does not read; put the content "
                "on the next line"
            )
        yield text[start : separator.start() + 1], line
        start, line = separator.end() + 1, separator_line + 1
    yield text[start:], line


def _without_trailing_blank_lines(chunk: str) -> str:
    """`chunk` up to the end of its last line that is not blank (spaces on it kept)."""
    last = len(chunk.rstrip(" \t\n"))
    end = chunk.find("\n", last)
    return chunk if end < 0 else chunk[: end + 1]


def _is_list(body: Mapping[str, Any]) -> bool:
    """A typed list (`kind: List`, `ConfigMapList`…) that kustomize and kubectl unpack."""
    kind = body.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and "items" in body


def _items(body: Mapping[str, Any], where: str) -> Iterator[dict[str, Any]]:
    """A typed list's items, lists in it unpacked too."""
    items = body["items"]
    if items is None:
        return
    if not isinstance(items, list):
        raise RenderError(f"{where}: {body['kind']}'s items is not a list")
    for item in items:
        if item is None or item == {}:
            continue
        if not isinstance(item, dict):
            raise RenderError(f"{where}: an item of {body['kind']} is a {type(item).__name__}")
        if _is_list(item):
            yield from _items(item, where)
        else:
            yield item


def _limits_error(exc: kubeyaml.KubeYamlError, where: str, first_line: int) -> RenderError:
    line = "" if exc.line is None else f", line {first_line + exc.line - 1}"
    problem = exc.message.removeprefix("invalid YAML: ")
    if problem != exc.message:
        problem = f"the rendered output is not valid YAML: {problem}"
    return RenderError(f"{where}{line}: {problem}")


# Documents already read in this run, by their text: a fleet renders the same chart (its CRDs,
# its dashboards) in every environment, and a document reads the same wherever it is.
ReadCache = dict[str, list[Document]]


def read_documents(text: str, *, where: str, seen: ReadCache | None = None) -> list[Document]:
    """The non-empty documents of a render's output (helm's `# Source:` comments kept: they
    name the template); typed lists are unpacked into their items. `seen` remembers what was
    read, for the other renders of a run."""
    documents: list[Document] = []
    for raw, line in _chunks(text, where):
        known = None if seen is None else seen.get(raw)
        if known is not None:
            documents += (replace(document, line=line) for document in known)
            continue
        read = _read_chunk(raw, line, where)
        if seen is not None:
            seen[raw] = read
        documents += read
    return documents


def _read_chunk(chunk: str, line: int, where: str) -> list[Document]:
    if not _CONTENT.search(chunk):
        return []
    # Blank lines at the end are no part of the document, unless a block scalar keeps them.
    trimmed = _without_trailing_blank_lines(chunk)
    if len(trimmed) < len(chunk) and not _KEEP_CHOMPING.search(chunk):
        chunk = trimmed
    if not chunk.endswith("\n"):
        chunk += "\n"
    try:
        return _document(chunk, line, where)
    except kubeyaml.KubeYamlError as exc:
        raise _limits_error(exc, where, line) from None


def _document(chunk: str, line: int, where: str) -> list[Document]:
    lines = outline.scan(chunk)
    if lines is not None:
        if lines.deep:
            kubeyaml.check_events(chunk)  # the depth limit of a document parsed in full
        return [Document(chunk, line, lines, None)]
    body = kubeyaml.load(chunk)
    if body is None or body == {}:
        return []
    if not isinstance(body, dict):
        raise RenderError(
            f"{where}, line {line}: a rendered document is a {type(body).__name__}, not a mapping"
        )
    if not _is_list(body):
        return [Document(chunk, line, None, body)]
    return [
        Document(kubeyaml.dump(item), line, None, item)
        for item in _items(body, f"{where}, line {line}")
    ]


def group_of(api_version: str) -> str:
    """The API group of an apiVersion ("apps/v1" -> "apps", "v1" -> "")."""
    return api_version.rpartition("/")[0]


def cluster_scoped_crds(documents: Iterable[Document]) -> set[GroupKind]:
    """(group, kind) of every CRD among `documents` that declares `scope: Cluster`."""
    found = set()
    for doc in documents:
        if doc.outline is not None:
            if doc.outline.crd is not None and doc.outline.crd[2] == "Cluster":
                found.add(doc.outline.crd[:2])
            continue
        assert doc.body is not None
        if doc.body.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc.body.get("spec") or {}
        if isinstance(spec, dict) and spec.get("scope") == "Cluster":
            names = spec.get("names") or {}
            kind = names.get("kind", "") if isinstance(names, dict) else ""
            found.add((str(spec.get("group", "")), str(kind)))
    return found


def _head(doc: Document, where: str) -> tuple[str, str, str, str | None]:
    """(apiVersion, kind, name, namespace or None) of a document."""
    if doc.outline is not None:
        lines = doc.outline
        return lines.api_version, lines.kind, lines.name, lines.namespace
    assert doc.body is not None
    kind, api_version = doc.body.get("kind"), doc.body.get("apiVersion")
    metadata = doc.body.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    fields = {"apiVersion": api_version, "kind": kind, "metadata.name": name}
    missing = [field for field, value in fields.items() if not isinstance(value, str)]
    if missing:
        # Never the document itself: it may be a Secret, and this message reaches CI logs.
        shown = f" (a {kind})" if isinstance(kind, str) and _KIND.fullmatch(kind) else ""
        raise RenderError(
            f"{where}, line {doc.line}: a rendered document{shown} lacks "
            f"{', '.join(missing)}: every resource needs apiVersion, kind and metadata.name"
        )
    assert isinstance(kind, str) and isinstance(api_version, str) and isinstance(name, str)
    assert isinstance(metadata, dict)
    namespace = metadata.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise RenderError(
            f"{where}, line {doc.line}: {kind} {name}: metadata.namespace is not a string; quote it"
        )
    return api_version, kind, name, namespace or None


def _with_namespace(doc: Document, namespace: str) -> str:
    if doc.outline is not None:
        return doc.outline.with_namespace(doc.text, namespace)
    assert doc.body is not None
    return kubeyaml.dump({**doc.body, "metadata": {**doc.body["metadata"], "namespace": namespace}})


def resources(
    documents: Iterable[Document],
    *,
    source: str,
    namespace: str | None,
    cluster_scoped: Iterable[GroupKind] = (),
    where: str,
) -> list[Resource]:
    """Documents as resources; namespaced ones without a namespace get `namespace`.

    That is what `helm install` does for a chart that leaves `metadata.namespace` out, so each
    file applies as it is. Cluster-scoped kinds (scopes.py, or `cluster_scoped`: the
    environment's CRDs with `scope: Cluster` and toolkit.yaml's list) get none.
    """
    known = frozenset(cluster_scoped)
    found = []
    for doc in documents:
        api_version, kind, name, doc_namespace = _head(doc, where)
        group = group_of(api_version)
        text = doc.text
        if scopes.is_cluster_scoped(group, kind, known):
            resource_namespace = ""
        else:
            resource_namespace = doc_namespace or namespace or ""
            if resource_namespace and not doc_namespace:
                text = _with_namespace(doc, resource_namespace)
        found.append(
            Resource(ResourceId(group, kind, resource_namespace, name), source, text.encode())
        )
    return found


def bodies(text: str, *, where: str) -> list[dict[str, Any]]:
    """Each document of a stream as Kubernetes reads it (typed lists unpacked), for a caller
    that needs every value (a CRD's schema, the images a branch runs)."""
    found = []
    for doc in read_documents(text, where=where):
        if doc.body is not None:
            found.append(dict(doc.body))
            continue
        try:
            found.append(kubeyaml.load(doc.text))
        except kubeyaml.KubeYamlError as exc:
            raise _limits_error(exc, where, doc.line) from None
    return found


def parse(
    text: str,
    *,
    source: str,
    namespace: str | None,
    cluster_scoped: Iterable[GroupKind] = (),
    where: str,
) -> list[Resource]:
    """One render's output as resources (its own CRDs deciding scope, with `cluster_scoped`)."""
    documents = read_documents(text, where=where)
    known = cluster_scoped_crds(documents) | set(cluster_scoped)
    return resources(
        documents, source=source, namespace=namespace, cluster_scoped=known, where=where
    )


class ChangeKind(str, Enum):
    """What happened to a resource or a Secret's key between two renders."""

    ADDED = "added"
    CHANGED = "changed"
    REMOVED = "removed"
    RENAMED = "renamed"  # a resource only: kustomize's hash suffix changed, nothing else
    UNCHANGED = "unchanged"  # a Secret's key only

    def __str__(self) -> str:
        return self.value
