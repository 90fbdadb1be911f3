"""Each environment's releases.yaml, validated once into frozen dataclasses: what one
environment asks for (its releases, their charts, and whether it has a Kustomize overlay).

Each user error names the file and line, the key path, the release, and what to do.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from toolkit.config import setpaths
from toolkit.config.names import NameRule, refuse_duplicates, valid_name
from toolkit.config.project import (
    CONFIG_FILE,
    DNS_LABEL,
    Config,
    Environment,
    Location,
)
from toolkit.infra import yamlfile
from toolkit.infra.errors import InputError
from toolkit.infra.paths import safe_path
from toolkit.infra.yamlfile import KeyPath, YamlDocument, describe, did_you_mean

RELEASES_FILE = "releases.yaml"
LOCK_FILE = "releases.lock"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# The rendered layout puts the Kustomize output in <env>/kustomize/.
RESERVED_RELEASES = frozenset({"kustomize"})

# Helm's own release name rule (ValidateReleaseName).
_RELEASE_NAME = NameRule(
    re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"),
    53,
    "at most 53 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
)
_CHART_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

_RELEASE_KEYS = (
    "name",
    "namespace",
    "chart",
    "version",
    "values",
    "set",
    "createNamespace",
    "includeTests",
)


@dataclass(frozen=True)
class LocalChart:
    path: Path


@dataclass(frozen=True)
class RepoChart:
    repository: str
    url: str
    name: str


@dataclass(frozen=True)
class OciChart:
    url: str
    name: str


ChartRef = LocalChart | RepoChart | OciChart


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    chart: ChartRef
    version: str | None
    values: tuple[Path, ...]
    set: Mapping[str, Any] = field(hash=False)
    location: Location
    # Add the release's Namespace to its output (helm --create-namespace, Argo CD's
    # CreateNamespace=true); keep helm test hooks, which `helm template --skip-tests` drops.
    create_namespace: bool = False
    include_tests: bool = False


@dataclass(frozen=True)
class EnvironmentSpec:
    """What one environment asks for."""

    environment: Environment
    releases: tuple[Release, ...]
    kustomization: Path | None
    releases_file: Path | None


def load_environment(config: Config, env: Environment) -> EnvironmentSpec:
    """Read what ``env`` asks for: its releases.yaml and whether it has a Kustomize overlay."""
    where = f"environment '{env.name}'"
    require_directory(config, env)
    safe_path(config.root, config.root, env.path, where=where)
    refuse_misspelt_files(config, env)
    releases_file = env.directory / RELEASES_FILE
    releases: tuple[Release, ...] = ()
    if releases_file.exists():
        safe_path(config.root, env.directory, RELEASES_FILE, where=where)
        releases = _releases(yamlfile.load(releases_file, root=config.root), config, env)
    kustomized = any((env.directory / name).is_file() for name in KUSTOMIZATION_FILES)
    return EnvironmentSpec(
        environment=env,
        releases=releases,
        kustomization=env.directory if kustomized else None,
        releases_file=releases_file if releases_file.exists() else None,
    )


def require_directory(config: Config, env: Environment) -> None:
    """A configured environment renders from its directory: a missing one (renamed, deleted,
    or a path: that is wrong) is an error, never an environment rendered empty."""
    if env.directory.is_dir():
        return
    index = next(i for i, e in enumerate(config.environments) if e.name == env.name)
    raise InputError(
        f"{env.location or CONFIG_FILE}: environment '{env.name}' has no directory "
        f"{env.path}/ (renamed or deleted?): create it, point environments[{index}].path at "
        "where it is now, or remove the environment"
    )


# The stems of toolkit's own files, for telling a misspelt one (a near miss) from a resource.
_MEANT = {"releases": RELEASES_FILE, "kustomization": KUSTOMIZATION_FILES[0]}


def refuse_misspelt_files(config: Config, env: Environment) -> None:
    """A file beside the environment's own files that looks like a misspelt one (releases.yml,
    Release.yaml, kustomisation.yaml) would silently not be read, and a second kustomization
    file is one kustomize refuses: both are errors naming the file to keep."""
    names = sorted(entry.name for entry in env.directory.iterdir() if entry.is_file())
    shown = yamlfile.relative_name(env.directory, config.root)
    kustomizations = [name for name in KUSTOMIZATION_FILES if name in names]
    if len(kustomizations) > 1:
        raise InputError(
            f"{shown}/ has {' and '.join(kustomizations)}: kustomize reads one kustomization "
            f"file per directory; keep {kustomizations[0]} and merge the others into it"
        )
    for name in names:
        if name in (RELEASES_FILE, LOCK_FILE, *KUSTOMIZATION_FILES):
            continue
        meant = _misspelling_of(name)
        if meant is not None:
            raise InputError(
                f"{shown}/{name}: toolkit does not read a file of this name (did you mean "
                f"'{meant}'?); rename it to {meant}, or move it into a subdirectory if it is "
                "something else"
            )


def _misspelling_of(name: str) -> str | None:
    """The toolkit file `name` is a near miss of (by stem and a YAML or no extension), or None."""
    stem, dot, extension = name.partition(".")
    if dot and extension.lower() not in ("yaml", "yml", "yaml.j2", "yml.j2"):
        return None
    # 0.9: one letter off (relases, kustomisation, release) but not a resource (leases).
    close = difflib.get_close_matches(stem.lower(), list(_MEANT), n=1, cutoff=0.9)
    return _MEANT[close[0]] if close else None


def _releases(doc: YamlDocument, config: Config, env: Environment) -> tuple[Release, ...]:
    top = doc.mapping((), doc.data, allowed=("releases",))
    releases = tuple(
        _release(doc, ("releases", index), item, config, env)
        for index, item in enumerate(doc.sequence(("releases",), top.get("releases")))
    )
    refuse_duplicates(doc, ("releases",), [release.name for release in releases], "release")
    return releases


def _release(
    doc: YamlDocument, path: KeyPath, raw: Any, config: Config, env: Environment
) -> Release:
    entry = doc.mapping(path, raw, allowed=_RELEASE_KEYS, required=("name", "namespace", "chart"))
    name = valid_name(doc, (*path, "name"), entry["name"], _RELEASE_NAME, "release name")
    if name in RESERVED_RELEASES:
        doc.fail(
            (*path, "name"),
            f"release name '{name}' is reserved: the rendered layout "
            f"puts the Kustomize output in <env>/{name}/; choose another name",
        )
    what = f"release '{name}'"
    values_path = (*path, "values")
    return Release(
        name=name,
        namespace=valid_name(
            doc, (*path, "namespace"), entry["namespace"], DNS_LABEL, f"{what}: namespace"
        ),
        chart=_chart(doc, (*path, "chart"), entry["chart"], config, env, what),
        version=_version(doc, (*path, "version"), entry.get("version"), what),
        values=tuple(
            _values_file(doc, (*values_path, index), relative, config, env, what)
            for index, relative in enumerate(doc.strings(values_path, entry.get("values")))
        ),
        set=MappingProxyType(copy.deepcopy(_set(doc, (*path, "set"), entry.get("set"), what))),
        location=Location(doc.path, doc.line_of(*path), config.root),
        create_namespace=_flag(doc, (*path, "createNamespace"), entry.get("createNamespace"), what),
        include_tests=_flag(doc, (*path, "includeTests"), entry.get("includeTests"), what),
    )


def _flag(doc: YamlDocument, path: KeyPath, raw: Any, what: str) -> bool:
    if raw is None:
        return False
    if not isinstance(raw, bool):
        doc.fail(path, f"{what}: {path[-1]} must be true or false, found {describe(raw)}")
    return raw


def _set(doc: YamlDocument, path: KeyPath, raw: Any, what: str) -> dict[str, Any]:
    """`set:`, each key a helm `--set` path (checked here, applied in values.py)."""
    entries = doc.mapping(path, raw)
    for key in entries:
        try:
            setpaths.parse(key)
        except setpaths.SetPathError as exc:
            doc.fail(
                (*path, key),
                f"{what}: set key '{key}' is not a helm --set path: {exc}; write paths such "
                "as image.tag or hosts[0].name",
            )
    return entries


def _version(doc: YamlDocument, path: KeyPath, raw: Any, what: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        doc.fail(
            path,
            f"{what}: version must be a constraint string, found {describe(raw)}; "
            'quote it, e.g. version: "^1.2.0"',
        )
    return raw


def _chart(
    doc: YamlDocument, path: KeyPath, raw: Any, config: Config, env: Environment, what: str
) -> ChartRef:
    if not isinstance(raw, str) or not raw:
        doc.fail(path, f"{what}: chart must be a string, found {describe(raw)}")
    if raw.startswith("oci://"):
        return _oci_chart(doc, path, raw, what)
    if _names_repository(raw, config, env):
        alias, name = raw.split("/")
        return _repo_chart(doc, path, alias, name, config, env, what)
    return _local_chart(doc, path, raw, config, env, what)


def _names_repository(chart: str, config: Config, env: Environment) -> bool:
    """Whether ``chart`` reads as ``<alias>/<chart>``: always for a known alias; for an
    unknown one only when no directory of that path exists (then it is a misspelt alias)."""
    parts = chart.split("/")
    if len(parts) != 2 or chart.startswith("."):
        return False
    return parts[0] in config.repositories or not (env.directory / chart).is_dir()


def _oci_chart(doc: YamlDocument, path: KeyPath, url: str, what: str) -> OciChart:
    parts = urlsplit(url)
    name = parts.path.rstrip("/").rsplit("/", 1)[-1]
    if not parts.netloc or not _CHART_NAME.fullmatch(name):
        doc.fail(
            path,
            f"{what}: chart '{url}' is not an OCI chart reference; write "
            "oci://host/path/chart and put the version under version:",
        )
    return OciChart(url=url.rstrip("/"), name=name)


def _repo_chart(
    doc: YamlDocument,
    path: KeyPath,
    alias: str,
    name: str,
    config: Config,
    env: Environment,
    what: str,
) -> ChartRef:
    url = config.repositories.get(alias)
    if url is None:
        known = ", ".join(config.repositories) or "none"
        # A local chart is a path from releases.yaml: for a chart at <root>/charts/x that is
        # ../../charts/x in the default layout, not ./charts/x.
        local = os.path.relpath(config.root / alias / name, env.directory)
        doc.fail(
            path,
            f"{what}: unknown chart repository '{alias}' in chart '{alias}/{name}'"
            f"{did_you_mean(alias, config.repositories)}; add it under repositories: in "
            f"{CONFIG_FILE} (defined: {known}), or, for a local chart in {alias}/{name}/ at "
            f"the top of the repository, write chart: {local} (paths are relative to "
            f"{RELEASES_FILE})",
        )
    if not _CHART_NAME.fullmatch(name):
        doc.fail(
            path,
            f"{what}: '{name}' is not a chart name; write <alias>/<chart> and put "
            "the version under version:",
        )
    if url.startswith("oci://"):
        return OciChart(url=f"{url}/{name}", name=name)
    return RepoChart(repository=alias, url=url, name=name)


def _local_chart(
    doc: YamlDocument, path: KeyPath, relative: str, config: Config, env: Environment, what: str
) -> LocalChart:
    where = f"{doc.where(*path)}: {what}: chart"
    directory = safe_path(config.root, env.directory, relative, where=where)
    shown = yamlfile.relative_name(directory, config.root)
    if not directory.is_dir():
        raise InputError(
            f"{where} '{relative}' is not a directory (looked in {shown}); write a local chart "
            f"as a path relative to {RELEASES_FILE}, a repository chart as <alias>/<chart>, "
            "or an OCI chart as oci://host/path/chart"
        )
    if not (directory / "Chart.yaml").is_file():
        raise InputError(
            f"{where} directory {shown} has no Chart.yaml; point chart: at a Helm chart directory"
        )
    return LocalChart(path=directory)


def _values_file(
    doc: YamlDocument,
    path: KeyPath,
    relative: str,
    config: Config,
    env: Environment,
    what: str,
) -> Path:
    where = f"{doc.where(*path)}: {what}: values file"
    target = safe_path(config.root, env.directory, relative, where=where)
    if not target.is_file():
        looked = yamlfile.relative_name(target, config.root)
        raise InputError(
            f"{where} '{relative}' not found (looked in {looked}); create it or "
            "correct the path, which is relative to the releases.yaml"
        )
    return target
