"""`toolkit init`: a new config repository (toolkit.yaml, a Kustomize base, two environments,
optionally a chart from `helm create`), or toolkit.yaml for the layout a repository already has
(`--from`), each with the CI workflow and an Argo CD or Flux application per environment.

Every file comes from a template in toolkit/scaffold/; docs/recipes/ holds the same templates
rendered for the example repository. Nothing is written over an existing file, and everything
is written or nothing is.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from toolkit.charts import locking
from toolkit.config.project import (
    CONFIG_FILE,
    DEFAULT_RENDERED_BRANCH,
    DNS_LABEL,
    default_path,
    load_config,
)
from toolkit.config.releases import KUSTOMIZATION_FILES, LOCK_FILE, RELEASES_FILE
from toolkit.infra import atomicfiles, git, process, yamlfile
from toolkit.infra.errors import InputError
from toolkit.render import provision, tools
from toolkit.render.kustomizeinputs import strings
from toolkit.render.settings import RenderSettings

ARGOCD, FLUX = "argocd", "flux"
NEW_ENVIRONMENTS = ("staging", "production")
WORKFLOW = ".github/workflows/rendered.yml"
PLACEHOLDER_URL = "https://git.example.com/{team}/{project}.git"
# Promotion order for the directory names a repository commonly uses; others go before prod.
_STAGES = {"dev": 0, "development": 0, "test": 1, "qa": 1, "stage": 2, "staging": 2}
_LAST = {"prod": 5, "production": 5}


@dataclass(frozen=True)
class InitOptions:
    root: Path  # the repository to scaffold, or to adopt
    operator: str = "argocd"  # or "flux": what applies each environment
    chart: str | None = None  # a chart made by `helm create`, released in every environment
    adopt: bool = False  # adopt the layout `root` has instead of scaffolding one


@dataclass(frozen=True)
class InitResult:
    root: Path
    adopted: bool
    written: tuple[str, ...]  # paths from the root
    notes: tuple[str, ...]  # what the user should know or do next

    def as_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "adopted": self.adopted,
            "written": list(self.written),
            "notes": list(self.notes),
        }

    def lines(self, cwd: Path) -> list[str]:
        """What was written, the notes, and the next step (from `cwd`, where the user is)."""
        where = "" if self.root == cwd else f"cd {self.root} && "
        commit = "" if self.adopted else "git init && "
        return [
            *(f"wrote {path}" for path in self.written),
            *(f"note: {note}" for note in self.notes),
            f"next: {where}{commit}git add -A && git commit -m 'toolkit init', then `toolkit "
            "hydrate` commits the rendered manifests to the rendered branch",
        ]


@dataclass(frozen=True)
class _Environment:
    name: str
    path: str


def template(name: str, **context: Any) -> str:
    """A file of toolkit/scaffold/, rendered with `context` when it is a Jinja2 template."""
    text = (resources.files("toolkit") / "scaffold" / name).read_text(encoding="utf-8")
    if not name.endswith(".j2"):
        return text
    from toolkit.infra import templates  # Jinja2 loads only where a template is used

    return templates.render(templates.template_environment().from_string(text), context)


def recipes(
    *,
    project: str,
    repo_url: str,
    branch: str,
    environments: Sequence[str],
    operator: str,
) -> dict[str, str]:
    """The CI workflow and one GitOps application per environment, by path from the root."""
    shards = list(range(1, len(environments) + 1))
    files = {WORKFLOW: template("github-actions.yml.j2", shards=shards)}
    name = "argocd-application.yaml.j2" if operator == ARGOCD else "flux-kustomization.yaml.j2"
    for env in environments:
        files[f"deploy/{operator}/{env}.yaml"] = template(
            name, project=project, repo_url=repo_url, branch=branch, environment=env
        )
    return files


def init(options: InitOptions, settings: RenderSettings) -> InitResult:
    """Scaffold (or, with `adopt`, describe the layout of) the repository at `root`; the tools
    pinned are the builds of the helm major `settings` choose."""
    root, operator, chart, adopt = options.root, options.operator, options.chart, options.adopt
    helm = settings.tools.helm
    if adopt and chart:
        raise InputError(
            "--from adopts the layout that is there; add a chart to an environment's "
            "releases.yaml by hand instead of --chart"
        )
    root.mkdir(parents=True, exist_ok=True)
    project = _project_name(root)
    wheel = provision.wheel_for(_helm_major(helm))
    if adopt:
        environments, charts = _detect(root)
        notes = [_found(environments, charts)]
    else:
        environments = [_Environment(n, default_path(n)) for n in NEW_ENVIRONMENTS]
        notes = []
    files = {
        CONFIG_FILE: template(
            "toolkit.yaml.j2",
            helm=wheel.helm.version,
            kustomize=wheel.kustomize,
            branch=DEFAULT_RENDERED_BRANCH,
            environments=[
                {"name": e.name, "path": None if e.path == default_path(e.name) else e.path}
                for e in environments
            ],
        ),
        **recipes(
            project=project,
            repo_url=_repo_url(root, project),
            branch=DEFAULT_RENDERED_BRANCH,
            environments=[e.name for e in environments],
            operator=operator,
        ),
    }
    if not adopt:
        files.update(_new_environments(project, chart))
    data = {path: text.encode() for path, text in files.items()}
    modes: dict[str, int] = {}
    if chart:
        _refuse_existing(root, [f"charts/{chart}"])
        for path, (content, mode) in _helm_create(chart, helm).items():
            data[f"charts/{chart}/{path}"], modes[f"charts/{chart}/{path}"] = content, mode
    _refuse_existing(root, data)
    with atomicfiles.all_or_nothing(root) as changes:
        for path, content in data.items():
            changes.write(root / path, content, mode=modes.get(path))
    written = list(data)
    if chart:
        cfg = load_config(root)
        locking.lock_environments(cfg, cfg.environments)
        written += [f"{e.path}/{LOCK_FILE}" for e in environments]
    notes.append(
        f"pinned helm {wheel.helm.version} and kustomize {wheel.kustomize} in "
        f"{CONFIG_FILE} (tools:), the builds toolkit provisions for helm "
        f"{wheel.helm.version.split('.')[0]}"
    )
    return InitResult(root, adopt, tuple(sorted(written)), tuple(notes))


def _new_environments(project: str, chart: str | None) -> dict[str, str]:
    base = default_path("base")  # beside the environments: their overlays take ../base
    files = {
        f"{base}/kustomization.yaml": template("base-kustomization.yaml"),
        f"{base}/settings.yaml": template("base-settings.yaml"),
    }
    for replicas, env in enumerate(NEW_ENVIRONMENTS, start=1):
        directory = default_path(env)
        context = {"environment": env, "namespace": project, "chart": chart, "replicas": replicas}
        files[f"{directory}/kustomization.yaml"] = template(
            "overlay-kustomization.yaml.j2", **context
        )
        files[f"{directory}/namespace.yaml"] = template("overlay-namespace.yaml.j2", **context)
        if chart:
            files[f"{directory}/{RELEASES_FILE}"] = template("releases.yaml.j2", **context)
            files[f"{directory}/values/{chart}.yaml"] = template("values.yaml.j2", **context)
    return files


def _helm_major(flag: str | None) -> int:
    """The major of the helm found (flag, variable, PATH, cache), else 3: init pins the build
    toolkit provisions for it."""
    try:
        found = tools.find_helm(flag, provision=False)
    except tools.ToolError:
        return 3
    return int(found.version.removeprefix("v").split(".")[0])


def _helm_create(chart: str, flag: str | None) -> dict[str, tuple[bytes, int]]:
    """`helm create` of `chart`, run by the real helm in a scratch directory: each file's
    bytes and mode, by path inside the chart."""
    helm = tools.find_helm(flag)
    with tempfile.TemporaryDirectory(prefix="toolkit-init-") as scratch:
        target = Path(scratch) / chart
        try:
            process.run((*helm.command, "create", str(target)))
        except process.ProcessError as exc:
            raise InputError(f"helm create {chart} failed:\n{exc.output.describe()}") from None
        return {
            path.relative_to(target).as_posix(): (path.read_bytes(), path.stat().st_mode & 0o777)
            for path in sorted(target.rglob("*"))
            if path.is_file()
        }


def _refuse_existing(root: Path, paths: Iterable[str]) -> None:
    taken = [p for p in paths if os.path.lexists(root / p)]
    if taken:
        listed = ", ".join(sorted(taken)[:10]) + (" …" if len(taken) > 10 else "")
        raise InputError(
            f"toolkit init would overwrite {listed} in {root}; nothing was written: move "
            "them away, or run init in another directory"
        )


def _project_name(root: Path) -> str:
    """The directory's name as a DNS label: names the namespace and the applications."""
    name = re.sub(r"[^a-z0-9-]+", "-", root.resolve().name.lower()).strip("-")[:40].strip("-")
    return name or "config"


def _repo_url(root: Path, project: str) -> str:
    url = git.remote_url(root)
    return (
        git.without_credentials(url)
        if url
        else PLACEHOLDER_URL.format(team="platform", project=project)
    )


# --- --from: the layout that is there -------------------------------------------------------


def _detect(root: Path) -> tuple[list[_Environment], list[str]]:
    """Environments: the directories with a kustomization or releases.yaml that no other
    kustomization takes as a base or component; charts: the directories with a Chart.yaml."""
    directories, charts = _walk(root)
    referenced = set()
    for directory in directories:
        referenced |= _references(root, directory) & set(directories)
    leaves = [d for d in directories if d not in referenced and d.name != "base"]
    if not leaves:
        raise InputError(
            f"found no environment to adopt in {root}: no directory there has a kustomization "
            f"or {RELEASES_FILE} that no other kustomization uses; run toolkit init without "
            "--from to scaffold a new layout"
        )
    names = [leaf.name for leaf in leaves]
    environments = [
        _Environment(_environment_name(leaf, names, root), leaf.relative_to(root).as_posix())
        for leaf in leaves
    ]
    seen = [e.name for e in environments]
    for env in environments:
        if seen.count(env.name) > 1:
            raise InputError(
                f"two directories would both be environment '{env.name}' "
                f"({', '.join(e.path for e in environments if e.name == env.name)}); "
                f"write {CONFIG_FILE} by hand with a name for each"
            )
    environments.sort(key=lambda e: (_rank(Path(e.path).name), e.name))
    return environments, [c.relative_to(root).as_posix() for c in charts]


def _walk(root: Path) -> tuple[list[Path], list[Path]]:
    """Kustomization (or releases.yaml) directories and chart directories, in path order; a
    chart's own directories, hidden ones and components are not looked into."""
    directories: list[Path] = []
    charts: list[Path] = []
    for top, dirs, names in os.walk(root):
        here = Path(top)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if "Chart.yaml" in names:
            charts.append(here)
            dirs[:] = []
            continue
        kustomization = next((n for n in KUSTOMIZATION_FILES if n in names), None)
        if kustomization is not None and _is_component(here / kustomization, root):
            continue
        if kustomization is not None or RELEASES_FILE in names:
            directories.append(here)
    return directories, charts


def _is_component(path: Path, root: Path) -> bool:
    try:
        document = yamlfile.load(path, root=root).data
    except InputError:
        return False
    return isinstance(document, dict) and document.get("kind") == "Component"


def _references(root: Path, directory: Path) -> set[Path]:
    """The directories a kustomization names (any string in it that is one)."""
    found: set[Path] = set()
    for name in KUSTOMIZATION_FILES:
        path = directory / name
        if not path.is_file():
            continue
        try:
            document = yamlfile.load(path, root=root).data
        except InputError:
            continue  # kustomize will say what is wrong with it
        for text in strings(document):
            for target in _candidates(directory, text):
                found.add(target)
    return found


def _candidates(directory: Path, text: str) -> Iterator[Path]:
    if "://" in text or "\x00" in text or not text.strip():
        return
    target = directory / text.strip()
    if target.is_dir():
        yield Path(os.path.normpath(target))


def _environment_name(leaf: Path, names: Sequence[str], root: Path) -> str:
    """The directory's name, or `<parent>-<name>` where two leaves share a name."""
    raw = leaf.name if names.count(leaf.name) == 1 else f"{leaf.parent.name}-{leaf.name}"
    name = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")
    if not DNS_LABEL.pattern.fullmatch(name) or len(name) > DNS_LABEL.limit:
        raise InputError(
            f"{leaf.relative_to(root).as_posix()}: cannot make an environment name of '{raw}'; "
            f"write {CONFIG_FILE} by hand"
        )
    return name


def _rank(name: str) -> int:
    return _STAGES.get(name, _LAST.get(name, 3))


def _found(environments: Sequence[_Environment], charts: Sequence[str]) -> str:
    listed = ", ".join(f"{e.name} ({e.path})" for e in environments)
    note = f"environments, in the order toolkit promotes them (check it): {listed}"
    if charts:
        note += (
            f"; charts found: {', '.join(charts)}: each renders once an environment's "
            f"{RELEASES_FILE} names it"
        )
    return note
