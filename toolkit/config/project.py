"""toolkit.yaml, validated once into frozen dataclasses, and what every loader shares.

Every later module trusts these types. Each user error names the file and line, the key
path, the environment, and what to do.
"""

from __future__ import annotations

import copy
import functools
import itertools
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from toolkit.config import checks, names
from toolkit.config.checks import DiffIgnore, ValidateSettings
from toolkit.config.names import NameRule, refuse_duplicates, valid_name
from toolkit.infra import yamlfile, yamlmemo
from toolkit.infra.errors import InputError
from toolkit.infra.git import branch_name_problem
from toolkit.infra.paths import refuse_link_out
from toolkit.infra.yamlfile import KeyPath, YamlDocument, describe, did_you_mean, dotted

if TYPE_CHECKING:
    from toolkit.config.access import RepositoryAccess
    from toolkit.config.toolpins import ToolPin

CONFIG_FILE = "toolkit.yaml"
DEFAULT_RENDERED_BRANCH = "rendered"
ENV_PLACEHOLDER = "{env}"
# Where an environment's directory is when toolkit.yaml gives it no `path:`: <this>/<name>.
DEFAULT_ENVIRONMENTS_DIRECTORY = "overlays"
# In the default layout overlays/base is the shared Kustomize base.
RESERVED_ENVIRONMENTS = frozenset({"base"})

DNS_LABEL = NameRule(
    re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"),
    63,
    "at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit",
)
_REPOSITORY_ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_KUBE_VERSION = re.compile(r"v?[0-9]+\.[0-9]+(\.[0-9]+)?([-+][0-9A-Za-z.+-]+)?")

_CONFIG_KEYS = (
    "rendered",
    "environments",
    "repositories",
    "promotion",
    "diff",
    "tools",
    "validate",
    "clusterScopedKinds",
)
_TOOL_KEYS = ("helm", "kustomize")  # what `tools:` may pin
_ENVIRONMENT_KEYS = ("name", "path", "vars", "kubeVersion", "apiVersions")


@dataclass(frozen=True)
class Location:
    """Where something was written, for messages."""

    path: Path
    line: int | None
    root: Path | None = None

    def __str__(self) -> str:
        shown = (
            self.path.as_posix()
            if self.root is None
            else yamlfile.relative_name(self.path, self.root)
        )
        return shown if self.line is None else f"{shown}:{self.line}"


def default_path(name: str) -> str:
    """An environment's directory when toolkit.yaml gives it no `path:`."""
    return f"{DEFAULT_ENVIRONMENTS_DIRECTORY}/{name}"


@dataclass(frozen=True)
class Environment:
    name: str
    kube_version: str | None
    api_versions: tuple[str, ...]
    vars: Mapping[str, Any] = field(hash=False)
    directory: Path
    # The directory from the configuration's root, posix (`environments[].path`).
    path: str = ""
    location: Location | None = field(default=None, compare=False)  # its entry in toolkit.yaml

    def __post_init__(self) -> None:
        if not self.path:
            object.__setattr__(self, "path", default_path(self.name))


@dataclass(frozen=True)
class Config:
    root: Path
    path: Path
    rendered_branch: str
    environments: tuple[Environment, ...]
    repositories: Mapping[str, str] = field(hash=False)
    promotion_copy: tuple[str, ...]
    # rendered.message: a Jinja2 template for the rendered commit's message (None: the default).
    rendered_message: str | None = None
    rendered_message_location: Location | None = None
    diff_ignore: tuple[DiffIgnore, ...] = ()
    # `tools:`: helm and kustomize versions a render must use; a tool left out (or "any") is
    # found as it always is.
    tool_pins: Mapping[str, ToolPin] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    validate: ValidateSettings = field(default_factory=ValidateSettings)
    # clusterScopedKinds: (group, kind) that the cluster serves without a namespace.
    cluster_scoped_kinds: frozenset[tuple[str, str]] = frozenset()
    # How each repository is reached (credentials from the environment, TLS), by alias.
    repository_access: Mapping[str, RepositoryAccess] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

    def environment(self, name: str) -> Environment:
        """The environment called ``name``; an InputError suggesting the closest name."""
        for environment in self.environments:
            if environment.name == name:
                return environment
        names = [environment.name for environment in self.environments]
        raise InputError(
            f"{CONFIG_FILE} has no environment '{name}'{did_you_mean(name, names)}; "
            f"it defines: {', '.join(names)}"
        )

    def select(self, names: Sequence[str]) -> tuple[Environment, ...]:
        """The named environments in promotion order (all of them when ``names`` is empty)."""
        chosen = {self.environment(name).name for name in names}
        return tuple(env for env in self.environments if not names or env.name in chosen)

    def branch_for(self, env: str) -> str:
        """The rendered branch that holds environment ``env``."""
        return self.rendered_branch.replace(ENV_PLACEHOLDER, env)

    def owner_of(self, relative: str) -> str | None:
        """The environment whose directory holds ``relative`` (a posix path from the root, the
        directory itself included), or None. Directories never nest, so there is at most one."""
        parts = relative.split("/")
        prefixes = ("/".join(parts[:n]) for n in range(1, len(parts) + 1))
        return next((self._by_path[p] for p in prefixes if p in self._by_path), None)

    @functools.cached_property
    def _by_path(self) -> dict[str, str]:
        return {env.path: env.name for env in self.environments}


def load_config(root: Path) -> Config:
    """Load and validate ``<root>/toolkit.yaml``."""
    root = root.resolve()
    path = root / CONFIG_FILE
    if not path.is_file():
        raise InputError(
            f"no {CONFIG_FILE} in {root} (looked for {path}); run toolkit in a config "
            "repository or select its root with -C DIR"
        )
    refuse_link_out(path, [root], root=root, reader="toolkit")
    doc = yamlmemo.load(path, root=root)
    if doc.data is None:
        doc.fail(
            (),
            f"{CONFIG_FILE} is empty; list the environments, e.g. environments: [{{name: dev}}]",
        )
    top = doc.mapping((), doc.data, allowed=_CONFIG_KEYS, required=("environments",))
    environments = _environments(doc, top["environments"], root)
    access = _repositories(doc, top.get("repositories"), root)
    return Config(
        root=root,
        path=path,
        rendered_branch=_rendered_branch(doc, top.get("rendered"), environments),
        environments=environments,
        repositories=MappingProxyType({a: r.url for a, r in access.items()}),
        repository_access=MappingProxyType(access),
        promotion_copy=_promotion_copy(doc, top.get("promotion")),
        rendered_message=_rendered_message(doc, top.get("rendered")),
        rendered_message_location=Location(path, doc.line_of("rendered", "message"), root),
        diff_ignore=checks.diff_ignore(doc, top.get("diff")),
        tool_pins=MappingProxyType(_tool_pins(doc, top.get("tools"), root)),
        validate=checks.validate_settings(doc, top.get("validate")),
        cluster_scoped_kinds=names.cluster_scoped_kinds(doc, top.get("clusterScopedKinds")),
    )


def _tool_pins(doc: YamlDocument, raw: Any, root: Path) -> dict[str, ToolPin]:
    listed = doc.mapping(("tools",), raw, allowed=_TOOL_KEYS)
    if not listed:
        return {}  # most configurations pin no tool: every run loads this module, not that one
    from toolkit.config.toolpins import tool_pins

    return tool_pins(doc, listed, root)


# --- toolkit.yaml -------------------------------------------------------------------------


def _environments(doc: YamlDocument, raw: Any, root: Path) -> tuple[Environment, ...]:
    path: KeyPath = ("environments",)
    items = doc.sequence(path, raw)
    if not items:
        doc.fail(path, "environments is empty; list at least one, e.g. - name: dev")
    environments = tuple(
        _environment(doc, (*path, index), item, root) for index, item in enumerate(items)
    )
    refuse_duplicates(doc, path, [env.name for env in environments], "environment")
    _refuse_nested_paths(doc, path, environments)
    return environments


def _environment(doc: YamlDocument, path: KeyPath, raw: Any, root: Path) -> Environment:
    entry = doc.mapping(path, raw, allowed=_ENVIRONMENT_KEYS, required=("name",))
    name = valid_name(doc, (*path, "name"), entry["name"], DNS_LABEL, "environment name")
    if name in RESERVED_ENVIRONMENTS and entry.get("path") is None:
        doc.fail(
            (*path, "name"),
            f"environment name '{name}' is reserved: {default_path(name)} is the shared "
            "Kustomize base; choose another name, or give the environment a path:",
        )
    relative = _environment_path(doc, (*path, "path"), entry.get("path"), name)
    return Environment(
        name=name,
        kube_version=_kube_version(doc, (*path, "kubeVersion"), entry.get("kubeVersion")),
        api_versions=_api_versions(doc, (*path, "apiVersions"), entry.get("apiVersions")),
        vars=MappingProxyType(copy.deepcopy(doc.mapping((*path, "vars"), entry.get("vars")))),
        directory=root.joinpath(*relative.split("/")),
        path=relative,
        location=Location(doc.path, doc.line_of(*path), root),
    )


def _environment_path(doc: YamlDocument, path: KeyPath, raw: Any, name: str) -> str:
    """`environments[].path`, normalised (no `.` parts, no trailing `/`), else the default."""
    if raw is None:
        return default_path(name)
    example = f'e.g. path: "clusters/{name}"'
    if not isinstance(raw, str) or not raw.strip():
        doc.fail(path, f"{dotted(path)} must be a directory path string, {example}")
    normal = posixpath.normpath(raw)
    parts = normal.split("/")
    if raw.startswith("/") or "\\" in raw or ".." in parts or normal == "." or ".git" in parts:
        doc.fail(
            path,
            f"{dotted(path)} '{raw}' must name a directory inside the repository, relative to "
            f"{CONFIG_FILE} (not the root itself, nothing above it or in .git), {example}",
        )
    return normal


def _refuse_nested_paths(
    doc: YamlDocument, path: KeyPath, environments: tuple[Environment, ...]
) -> None:
    """Each environment owns its directory on its own: no two share one, none holds another.

    Sorted as `<path>/`, a directory and everything inside it come together, right after it:
    if two are nested, two neighbours are, so a fleet's paths are compared with their next
    one only (not every pair). Of the neighbours that do, the pair listed first is named."""
    order = sorted(range(len(environments)), key=lambda i: (f"{environments[i].path}/", i))
    clashes = [
        (max(a, b), min(a, b))
        for a, b in itertools.pairwise(order)
        if f"{environments[b].path}/".startswith(f"{environments[a].path}/")
    ]
    if clashes:
        index, other_index = min(clashes)
        env, other = environments[index], environments[other_index]
        doc.fail(
            (*path, index, "path"),
            f"environment '{env.name}' has the directory {env.path}, and '{other.name}' "
            f"has {other.path}: environment directories must not be the same or lie "
            "inside one another; give each its own path:",
        )


def _kube_version(doc: YamlDocument, path: KeyPath, raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not _KUBE_VERSION.fullmatch(raw):
        doc.fail(
            path,
            f"{dotted(path)} must be a Kubernetes version string such as "
            f'"1.33.0", found {describe(raw)}; quote it: kubeVersion: "1.33.0"',
        )
    return raw


def _api_versions(doc: YamlDocument, path: KeyPath, raw: Any) -> tuple[str, ...]:
    versions = doc.strings(path, raw)
    for index, version in enumerate(versions):
        if not version or re.search(r"[\s,]", version):
            doc.fail(
                (*path, index),
                f"{dotted(path)}: '{version}' is not an API version; "
                "write one per item, e.g. monitoring.coreos.com/v1",
            )
    return versions


def _rendered_branch(doc: YamlDocument, raw: Any, environments: tuple[Environment, ...]) -> str:
    section = doc.mapping(("rendered",), raw, allowed=("branch", "message"))
    path: KeyPath = ("rendered", "branch")
    branch = section.get("branch", DEFAULT_RENDERED_BRANCH)
    if not isinstance(branch, str):
        doc.fail(path, f"rendered.branch must be a string, found {describe(branch)}")
    if re.search(r"[{}]", branch.replace(ENV_PLACEHOLDER, "")):
        doc.fail(
            path,
            f"rendered.branch '{branch}' may use only the placeholder {{env}}, "
            'e.g. "rendered/{env}"',
        )
    for env in environments:
        name = branch.replace(ENV_PLACEHOLDER, env.name)
        problem = branch_name_problem(name)
        if problem:
            doc.fail(
                path,
                f"rendered.branch gives '{name}' for environment '{env.name}', "
                f"which is not a valid git branch name ({problem}); choose another name",
            )
    return branch


def _rendered_message(doc: YamlDocument, raw: Any) -> str | None:
    """The commit message template; its Jinja2 is checked where it is rendered (rendered.py)."""
    message = doc.mapping(("rendered",), raw).get("message")
    if message is None:
        return None
    if not isinstance(message, str) or not message.strip():
        doc.fail(
            ("rendered", "message"),
            f"rendered.message must be a Jinja2 template string, found {describe(message)}",
        )
    return message


def _repositories(doc: YamlDocument, raw: Any, root: Path) -> dict[str, RepositoryAccess]:
    listed = doc.mapping(("repositories",), raw)
    if not listed:
        return {}  # most configurations: every run loads this module, not the reader below
    from toolkit.config.access import repository_access

    repositories: dict[str, RepositoryAccess] = {}
    for alias, value in listed.items():
        if not _REPOSITORY_ALIAS.fullmatch(alias):
            doc.fail(
                ("repositories", alias),
                f"repository alias '{alias}' may use only letters, digits, '.', '_' and '-'",
            )
        repositories[alias] = repository_access(doc, root, alias, value, url_ok=_is_repository_url)
    return repositories


def _is_repository_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https", "oci") and bool(parts.netloc)


def _promotion_copy(doc: YamlDocument, raw: Any) -> tuple[str, ...]:
    section = doc.mapping(("promotion",), raw, allowed=("copy",))
    path: KeyPath = ("promotion", "copy")
    patterns = doc.strings(path, section.get("copy"))
    for index, pattern in enumerate(patterns):
        pure = PurePosixPath(pattern)
        if not pattern or pure.is_absolute() or ".." in pure.parts:
            doc.fail(
                (*path, index),
                f"promotion.copy pattern '{pattern}' must be relative "
                "to the environment directory and stay inside it, e.g. values/common/**",
            )
    return patterns
