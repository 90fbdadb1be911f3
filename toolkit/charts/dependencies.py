"""A local chart's `dependencies:` in Chart.yaml, read as helm reads them.

Each dependency names a repository: an HTTP repository URL, `oci://host/path`, `file://DIR`
(a chart directory relative to the chart), a repository alias (`@name` or `alias:name`, from
toolkit.yaml's `repositories:`), or nothing (then it is vendored in the chart's `charts/`). A
dependency whose chart is in `charts/` (a directory or an archive, known by the name its
Chart.yaml gives) is vendored too, whatever repository it names: helm renders that copy and
never fetches, so toolkit does not either.
Conditions, tags, aliases and import-values stay helm's job: toolkit only puts each chart
where `helm dependency build` would.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.charts import localsource
from toolkit.config.project import CONFIG_FILE
from toolkit.config.releases import ChartRef, LocalChart, chart_at
from toolkit.infra import git, kubeyaml, paths, runmemo, yamlfile
from toolkit.infra.errors import InputError
from toolkit.infra.yamlfile import YamlDocument, describe

CHART_LOCK = "Chart.lock"
_KEYS = ("name", "version", "repository", "condition", "tags", "enabled", "import-values", "alias")


@dataclass(frozen=True)
class Dependency:
    """One entry of a chart's `dependencies:`."""

    name: str  # the chart's name
    alias: str | None
    constraint: str | None
    repository: str  # as written ("" for a vendored chart)
    where: str  # Chart.yaml:line, for messages
    fields: tuple[tuple[str, Any], ...]  # the entry as helm reads it, for Chart.lock's digest
    in_charts: bool = False  # a chart of its name is in the chart's charts/

    @property
    def key(self) -> str:
        """The name the chart is known by in its parent: its alias, or its name."""
        return self.alias or self.name

    @property
    def vendored(self) -> bool:
        return not self.repository or self.in_charts


@dataclass(frozen=True)
class ChartLock:
    """A chart's Chart.lock, written by `helm dependency update`."""

    versions: tuple[tuple[str, str, str], ...]  # (name, repository, version), in order
    digest: str
    where: str


def read_dependencies(directory: Path, root: Path) -> tuple[Dependency, ...]:
    """The chart's `dependencies:` (none for a chart without them); a vendored subchart that
    git ignores is an error, as a fresh clone would not have it."""
    return runmemo.remembered(
        ("chart dependencies", directory), lambda: _read_dependencies(directory, root)
    )


def _read_dependencies(directory: Path, root: Path) -> tuple[Dependency, ...]:
    doc = localsource.chart_metadata(directory, root)
    _refuse_ignored_subcharts(directory, root)
    raw_dependencies = doc.sequence(("dependencies",), doc.data.get("dependencies"))
    present = _subchart_names(directory, root) if raw_dependencies else frozenset()
    dependencies = tuple(
        _dependency(doc, index, raw, present) for index, raw in enumerate(raw_dependencies)
    )
    seen: dict[str, Dependency] = {}
    for dependency in dependencies:
        if dependency.key in seen:
            raise InputError(
                f"{dependency.where}: two dependencies are called '{dependency.key}' (the other "
                f"at {seen[dependency.key].where}): give one an `alias:`"
            )
        seen[dependency.key] = dependency
    return dependencies


def _dependency(doc: YamlDocument, index: int, raw: Any, present: frozenset[str]) -> Dependency:
    path = ("dependencies", index)
    fields = doc.mapping(path, raw, required=("name",))

    def text(key: str) -> str | None:
        value = fields.get(key)
        if value is not None and not isinstance(value, str):
            doc.fail(
                (*path, key),
                f"dependencies[{index}].{key} must be a string, found {describe(value)}; quote it",
            )
        return value or None

    name = text("name")
    assert name is not None  # required
    return Dependency(
        name=name,
        alias=text("alias"),
        constraint=text("version"),
        repository=text("repository") or "",
        where=doc.where(*path),
        fields=tuple((key, fields[key]) for key in _KEYS if key in fields),
        in_charts=name in present,
    )


def _subchart_names(directory: Path, root: Path) -> frozenset[str]:
    """The names of the charts in `directory`'s charts/, as their Chart.yaml gives them: helm
    matches a dependency to a subchart by that name."""
    charts = directory / "charts"
    if not charts.is_dir():
        return frozenset()
    names = set()
    for entry in sorted(charts.iterdir()):
        if entry.is_dir() and (entry / "Chart.yaml").is_file():
            names.add(localsource.chart_identity(entry, root)[0])
        elif entry.name.endswith(".tgz") and entry.is_file():
            names.add(_archive_chart_name(entry, root))
    return frozenset(names)


_MAX_CHART_YAML = 1 << 20


def _archive_chart_name(archive: Path, root: Path) -> str:
    """The name in a chart archive's top-level Chart.yaml (`<dir>/Chart.yaml`)."""
    import tarfile  # only charts with archives in charts/ pay for it

    problem = "no Chart.yaml naming the chart"
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                rest = member.name.partition("/")[2]
                if rest != "Chart.yaml" or not member.isfile() or member.size > _MAX_CHART_YAML:
                    continue
                extracted = tar.extractfile(member)
                data = kubeyaml.load(extracted.read().decode()) if extracted else None
                if isinstance(data, dict) and isinstance(data.get("name"), str):
                    return str(data["name"])
                break
    except (OSError, tarfile.TarError, UnicodeDecodeError, kubeyaml.KubeYamlError) as exc:
        problem = str(exc)
    raise InputError(
        f"{yamlfile.relative_name(archive, root)} is not a chart archive helm can read: {problem}"
    )


def read_chart_lock(directory: Path, root: Path) -> ChartLock | None:
    """The chart's Chart.lock, or None when it has none."""
    path = directory / CHART_LOCK
    if not path.is_file():
        return None
    doc = yamlfile.load(
        path, root=root, last_key_wins=True, name=localsource.shown_name(path, root)
    )
    top = doc.mapping((), doc.data)
    versions = []
    for index, raw in enumerate(doc.sequence(("dependencies",), top.get("dependencies"))):
        entry = doc.mapping(("dependencies", index), raw, required=("name",))
        versions.append(
            (
                str(entry["name"]),
                str(entry.get("repository") or ""),
                str(entry.get("version") or ""),
            )
        )
    digest = top.get("digest")
    return ChartLock(
        tuple(versions), digest if isinstance(digest, str) else "", doc.where("digest")
    )


def chart_lock_digest(
    dependencies: tuple[Dependency, ...], aliases: Mapping[str, str], lock: ChartLock
) -> str:
    """The digest helm writes into Chart.lock and checks it against (`resolver.HashReq`): the
    sha256 of Go's JSON of [Chart.yaml's dependencies, the lock's], with repository aliases
    replaced by their URLs as `helm dependency build` does before comparing."""
    requested = [
        _go_dependency(dict(d.fields) | {"repository": _aliased(d, aliases) or d.repository})
        for d in dependencies
    ]
    locked = [
        _go_dependency({"name": name, "version": version, "repository": repository})
        for name, repository, version in lock.versions
    ]
    text = json.dumps([requested, locked], separators=(",", ":"), ensure_ascii=False)
    # Go's encoding/json escapes these three for embedding in HTML.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def repository_alias(dependency: Dependency) -> str | None:
    """The alias a dependency's repository names (`@name`, `alias:name`), or None."""
    return _alias_of(dependency.repository)


def _alias_of(repository: str) -> str | None:
    for prefix in ("@", "alias:"):
        if repository.startswith(prefix):
            return repository.removeprefix(prefix)
    return None


def _aliased(dependency: Dependency, aliases: Mapping[str, str]) -> str | None:
    alias = repository_alias(dependency)
    return None if alias is None else aliases.get(alias)


def chart_reference(
    dependency: Dependency,
    directory: Path,
    root: Path,
    aliases: Mapping[str, str],
    *,
    present: bool = True,
) -> ChartRef | None:
    """Where a dependency comes from, as a release's chart would (None: vendored); `aliases`
    are toolkit.yaml's repositories. A file:// chart must be there unless `present` is False
    (a chart locked at a git tree may pin it at its own tree: see `require_chart`)."""
    if dependency.vendored:
        return None
    alias = repository_alias(dependency)
    where = f"{dependency.where}: dependency {dependency.key}"
    if alias is not None and alias not in aliases:
        raise InputError(
            f"{where}: no repository '{alias}' under repositories: in {CONFIG_FILE}"
            f"{yamlfile.did_you_mean(alias, aliases)}; add it there (toolkit reads aliases "
            "from toolkit.yaml, not from helm's repositories.yaml)"
        )
    repository = _repository_url(dependency.repository, aliases)
    label = alias or repository
    path = file_directory(dependency.repository, directory, root, aliases, where=where)
    if path is not None:
        if present:
            require_chart(dependency, path)
        return LocalChart(path=path)
    if repository.startswith(("oci://", "https://", "http://")):
        return chart_at(repository, dependency.name, label=label)
    raise InputError(
        f"{dependency.where}: dependency {dependency.key}: repository '{dependency.repository}' "
        "is not one helm reads; write https://host/path, oci://host/path, file://DIR or @alias"
    )


def require_chart(dependency: Dependency, path: Path) -> None:
    """A file:// dependency's directory must hold a chart."""
    if not (path / "Chart.yaml").is_file():
        raise InputError(
            f"{dependency.where}: dependency {dependency.key}: {dependency.repository} is not a "
            "chart directory (no Chart.yaml)"
        )


def file_directory(
    repository: str, directory: Path, root: Path, aliases: Mapping[str, str], *, where: str
) -> Path | None:
    """The directory a dependency's `file://` repository (or an alias of one) names, from the
    chart in `directory`; None for a repository of any other kind."""
    url = _repository_url(repository, aliases)
    if not url.startswith("file://"):
        return None
    return paths.safe_path(root, directory, url.removeprefix("file://"), where=where)


def _repository_url(repository: str, aliases: Mapping[str, str]) -> str:
    """A dependency's repository with an alias replaced by its URL, without a trailing `/`."""
    alias = _alias_of(repository)
    return (repository if alias is None else aliases.get(alias, "")).rstrip("/")


def _go_dependency(fields: dict[str, Any]) -> dict[str, Any]:
    """A dependency as Go marshals helm's chart.Dependency: its fields in struct order, the
    `omitempty` ones left out when empty."""
    out: dict[str, Any] = {"name": fields.get("name", "")}
    if fields.get("version"):
        out["version"] = fields["version"]
    out["repository"] = fields.get("repository") or ""
    for key in ("condition", "tags", "enabled", "import-values", "alias"):
        if fields.get(key):
            out[key] = _sorted_maps(fields[key])
    return out


def _sorted_maps(value: Any) -> Any:
    """Go marshals a map with its keys sorted."""
    if isinstance(value, dict):
        return {key: _sorted_maps(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_maps(item) for item in value]
    return value


def _refuse_ignored_subcharts(directory: Path, root: Path) -> None:
    """A subchart in `charts/` that git ignores is on this machine only: the chart's digest,
    and what it renders, would differ in a fresh clone (CI). One error naming the rule."""
    charts = directory / "charts"
    if not charts.is_dir():
        return
    entries = sorted(path.name for path in charts.iterdir())
    rules = git.ignoring_rules(charts, entries)
    for name in entries:
        if name in rules:
            shown = yamlfile.relative_name(charts / name, root)
            raise InputError(
                f"{shown} is ignored by git ({_rule_from(charts, root, rules[name])}), so a "
                "fresh clone does not have it and renders this chart differently: commit it "
                "(`git add -f`), or delete it and let toolkit fetch the dependency from the "
                "repository Chart.yaml names"
            )


def _rule_from(charts: Path, root: Path, rule: str) -> str:
    """`source:line: pattern` with the source named from the configuration's root."""
    source, rest = rule.split(":", 1)
    path = git.toplevel(charts) / source
    return f"{yamlfile.relative_name(path.resolve(), root)}:{rest}"
