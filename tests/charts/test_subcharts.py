"""A local chart's dependencies, against the real helm: an umbrella chart with dependencies from
an HTTP repository (by URL and by alias), an OCI registry and a file:// directory, locked and
rendered equal to `helm dependency build` + `helm template`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.charts import ChartRepo, Registry
from tests.helpers import Cli, CliResult, commit_all, git, make_repo, write_tree
from toolkit.charts import lockfile
from toolkit.infra import process
from toolkit.render import tools

SUB = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
data:
  version: {{ .Chart.Version | quote }}
  greeting: {{ .Values.greeting | default "none" | quote }}
"""
UMBRELLA_TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-umbrella
data:
  subcharts: {{ keys .Subcharts | sortAlpha | join "," | quote }}
  other: {{ .Values.other.greeting | quote }}
"""


def umbrella(registry: Registry, repo: ChartRepo, *, sub: str = "^1.2.0") -> dict[str, str]:
    return {
        "charts/umbrella/Chart.yaml": f"""\
apiVersion: v2
name: umbrella
version: 0.1.0
dependencies:
  - name: demo
    version: "{sub}"
    repository: "@web"
  - name: greeter
    alias: other
    version: ~1.2.0
    repository: {repo.url}
  - name: ocidep
    version: ">=0.3.0"
    repository: oci://{registry.host}/deps
  - name: common
    version: 1.x
    repository: file://../common
""",
        "charts/umbrella/values.yaml": "other:\n  greeting: from-umbrella\n",
        "charts/umbrella/templates/cm.yaml": UMBRELLA_TEMPLATE,
        "charts/common/Chart.yaml": "apiVersion: v2\nname: common\nversion: 1.4.0\n",
        "charts/common/templates/cm.yaml": SUB,
        "toolkit.yaml": yaml.safe_dump(
            {"environments": [{"name": "dev"}], "repositories": {"web": repo.url}}
        ),
        "overlays/dev/releases.yaml": yaml.safe_dump(
            {"releases": [{"name": "app", "namespace": "demo", "chart": "../../charts/umbrella"}]}
        ),
    }


def package(helm: tools.Tool, work: Path, name: str, version: str, out: Path) -> Path:
    """`helm package` a chart whose resource is named after it (so aliases do not collide)."""
    files = {"Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\n"}
    files |= {"templates/cm.yaml": SUB, "values.yaml": "greeting: packaged\n"}
    source = write_tree(work / f"{name}-{version}", files)
    process.run([helm.path, "package", source, "--destination", out])
    return out / f"{name}-{version}.tgz"


@pytest.fixture
def sources(
    helm_tool: tools.Tool, chart_repo: ChartRepo, oci_registry: Registry, tmp_path: Path
) -> tuple[ChartRepo, Registry]:
    for name, version in [("demo", "1.2.0"), ("demo", "1.2.5"), ("demo", "1.3.0"),
                          ("demo", "2.0.0"), ("greeter", "1.2.0"), ("greeter", "1.2.5"),
                          ("greeter", "1.3.0")]:  # fmt: skip
        package(helm_tool, tmp_path / "work", name, version, chart_repo.directory)
    chart_repo.reindex()
    for version in ("0.3.0", "0.4.0"):
        oci_registry.push(
            package(helm_tool, tmp_path / "work", "ocidep", version, tmp_path), "deps"
        )
    return chart_repo, oci_registry


def documents(text: str) -> dict[tuple[str, str], Any]:
    """Resources by kind and name, without the namespace toolkit fills in."""
    found = {}
    for doc in yaml.safe_load_all(text):
        if doc:
            doc["metadata"].pop("namespace", None)
            found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


def helm_build_and_template(helm: tools.Tool, chart: Path, tmp_path: Path, repo: str) -> str:
    """What the real helm prints for the chart: `helm dependency build` in a copy, with the
    alias `web` added by `helm repo add`, then `helm template`."""
    copy = tmp_path / "helm-copy"
    shutil.copytree(chart.parent, copy)
    state = [
        f"--repository-config={tmp_path / 'helm' / 'repositories.yaml'}",
        f"--repository-cache={tmp_path / 'helm' / 'cache'}",
    ]
    process.run([helm.path, "repo", "add", "web", repo, *state])
    process.run([helm.path, "dependency", "build", copy / chart.name, "--plain-http", *state])
    args = ["template", "app", copy / chart.name, "--namespace", "demo", "--include-crds"]
    return process.run([helm.path, *args, "--skip-tests"]).stdout.decode()


def rendered(root: Path, out: Path) -> str:
    return "\n---\n".join(path.read_text() for path in sorted(out.rglob("*.yaml")))


def test_an_umbrella_chart_locks_and_renders_as_helm_dependency_build_does(
    tmp_path: Path, run_cli: Cli, helm_tool: tools.Tool, sources: tuple[ChartRepo, Registry]
) -> None:
    repo, registry = sources
    root = make_repo(tmp_path / "config", umbrella(registry, repo), example=False)
    result = run_cli(root, "lock")
    assert result.exit_code == 0, result.stderr
    lock = lockfile.read_lock(root / "overlays" / "dev", root=root)
    assert lock is not None
    (entry,) = lock.entries
    pins = {d.key: (d.chart, d.repository, d.version) for d in entry.dependencies}
    assert pins == {
        "common": ("common", "file://../common", "1.4.0"),
        "demo": ("demo", repo.url, "1.3.0"),
        "ocidep": ("ocidep", f"oci://{registry.host}/deps", "0.4.0"),
        "other": ("greeter", repo.url, "1.2.5"),
    }
    assert all(d.digest.startswith("sha256:") for d in entry.dependencies)
    commit_all(root, "lock")
    out = tmp_path / "out"
    result = run_cli(root, "render", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr  # the lock answers
    expected = helm_build_and_template(helm_tool, root / "charts" / "umbrella", tmp_path, repo.url)
    assert documents(rendered(root, out)) == documents(expected)
    assert documents(expected)[("ConfigMap", "app-umbrella")]["data"]["subcharts"] == (
        "common,demo,ocidep,other"
    )
    # The source tree is never written to.
    assert not (root / "charts" / "umbrella" / "charts").exists()
    assert git(root, "status", "--porcelain") == ""


def test_chart_lock_is_honoured_and_an_inconsistent_one_is_refused(
    tmp_path: Path, run_cli: Cli, helm_tool: tools.Tool, sources: tuple[ChartRepo, Registry]
) -> None:
    repo, registry = sources
    root = make_repo(tmp_path / "config", umbrella(registry, repo), example=False)
    chart = root / "charts" / "umbrella"
    # helm's own Chart.lock, pinning older versions than the constraints pick today.
    helm_copy = tmp_path / "helm-lock"
    shutil.copytree(root / "charts", helm_copy)
    repo.directory.joinpath("demo-1.3.0.tgz").rename(tmp_path / "hidden.tgz")
    repo.reindex()
    state = [f"--repository-config={tmp_path / 'repositories.yaml'}"]
    process.run([helm_tool.path, "repo", "add", "web", repo.url, *state])
    process.run(
        [helm_tool.path, "dependency", "update", helm_copy / "umbrella", "--plain-http", *state]
    )
    (tmp_path / "hidden.tgz").rename(repo.directory / "demo-1.3.0.tgz")
    repo.reindex()
    shutil.copy(helm_copy / "umbrella" / "Chart.lock", chart / "Chart.lock")
    commit_all(root, "Chart.lock")
    assert run_cli(root, "lock").exit_code == 0
    entry = lockfile.read_lock(root / "overlays" / "dev", root=root).entries[0]  # type: ignore[union-attr]
    assert {d.key: d.version for d in entry.dependencies}["demo"] == "1.2.5"
    # Chart.yaml changed without `helm dependency update`: helm refuses, so does toolkit.
    write_tree(root, umbrella(registry, repo, sub="^1.2.1"))
    commit_all(root, "constraint")
    result = run_cli(root, "lock")
    assert result.exit_code == 2
    line = (
        (chart / "Chart.lock")
        .read_text()
        .splitlines()
        .index(
            next(
                x
                for x in (chart / "Chart.lock").read_text().splitlines()
                if x.startswith("digest:")
            )
        )
    )
    assert result.stderr.startswith(
        f"error: charts/umbrella/Chart.lock:{line + 1}: the lock file (Chart.lock) is out of "
        "sync with the dependencies in Chart.yaml"
    ), result.stderr
    assert "Traceback" not in result.stderr


def test_a_dependency_constraint_change_makes_the_lock_stale(
    tmp_path: Path, run_cli: Cli, sources: tuple[ChartRepo, Registry]
) -> None:
    """Outside git (no tree to pin the chart at), a change to Chart.yaml's dependencies makes
    the release's entry stale, like a release's own constraint."""
    repo, registry = sources
    root = write_tree(tmp_path / "config", umbrella(registry, repo))
    assert run_cli(root, "lock").exit_code == 0
    write_tree(root, umbrella(registry, repo, sub="~1.2.0"))
    result = run_cli(root, "--locked", "render")
    assert result.exit_code == 2
    assert (
        "release app: the constraint of its dependency demo changed from '^1.2.0' to '~1.2.0'"
        in result.stderr
    ), result.stderr
    result = run_cli(root, "render")
    assert result.exit_code == 0
    assert "using 0.1.0 in memory" in result.stderr
    result = run_cli(root, "lock")
    assert result.exit_code == 0
    assert result.stderr == "dev/app: umbrella 0.1.0, dependency demo 1.3.0 -> 1.2.5\n"
    entry = lockfile.read_lock(root / "overlays" / "dev", root=root).entries[0]  # type: ignore[union-attr]
    assert {d.key: d.version for d in entry.dependencies}["demo"] == "1.2.5"
    # A file:// dependency is outside the chart's directory: its own change makes it stale.
    write_tree(root, {"charts/common/values.yaml": "greeting: changed\n"})
    result = run_cli(root, "--locked", "render")
    assert result.exit_code == 2
    assert "its dependency common (file://../common) changed since it was locked" in result.stderr


def test_in_git_a_dependency_change_waits_for_lock_as_any_local_chart_change(
    tmp_path: Path, run_cli: Cli, sources: tuple[ChartRepo, Registry]
) -> None:
    """In git the chart renders the tree it was locked at (with the dependencies locked with
    it) until `toolkit lock` moves it; the lock then names the dependency that moved."""
    repo, registry = sources
    root = make_repo(tmp_path / "config", umbrella(registry, repo), example=False)
    assert run_cli(root, "lock").exit_code == 0
    commit_all(root, "locked")
    write_tree(root, umbrella(registry, repo, sub="~1.2.0"))
    commit_all(root, "narrower")
    result = run_cli(root, "--locked", "render")
    assert result.exit_code == 0, result.stderr
    assert "changed in the work tree since it was locked" in result.stderr
    assert "configmap-app-demo.yaml" in result.stdout
    result = run_cli(root, "lock")
    assert result.exit_code == 0
    assert result.stderr == "dev/app: umbrella 0.1.0, dependency demo 1.3.0 -> 1.2.5\n"


def test_a_vendored_subchart_git_ignores_is_an_error_naming_the_rule(
    tmp_path: Path, run_cli: Cli, sources: tuple[ChartRepo, Registry]
) -> None:
    repo, registry = sources
    files = umbrella(registry, repo) | {
        "charts/umbrella/.gitignore": "# helm dependency build output\ncharts/*\n",
        "charts/umbrella/charts/demo-1.3.0.tgz": repo.archive("demo", "1.3.0").read_bytes(),
    }
    root = make_repo(tmp_path / "config", files, example=False)
    result = run_cli(root, "lock")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: charts/umbrella/charts/demo-1.3.0.tgz is ignored by git "
        "(charts/umbrella/.gitignore:2: charts/*), so a fresh clone does not have it and "
        "renders this chart differently: commit it (`git add -f`), or delete it and let toolkit "
        "fetch the dependency from the repository Chart.yaml names\n"
    )


@pytest.mark.parametrize("form", ["archive", "directory"])
def test_a_committed_subchart_renders_in_place_of_its_repository_as_helm_does(
    tmp_path: Path, run_cli: Cli, helm_tool: tools.Tool, form: str
) -> None:
    """helm renders a dependency from charts/ when a chart of its name is there, whatever
    repository Chart.yaml names, and fetches nothing: toolkit neither fetches nor pins it (the
    repository here does not answer), and renders what helm renders."""
    archive = package(helm_tool, tmp_path / "work", "demo", "1.2.0", tmp_path)
    vendored: dict[str, str | bytes] = (
        {"charts/app/charts/demo-1.2.0.tgz": archive.read_bytes()}
        if form == "archive"
        else {
            f"charts/app/charts/demo/{path.relative_to(tmp_path / 'work' / 'demo-1.2.0')}": (
                path.read_text()
            )
            for path in (tmp_path / "work" / "demo-1.2.0").rglob("*")
            if path.is_file()
        }
    )
    files = {
        "charts/app/Chart.yaml": (
            "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: demo\n"
            "    version: ^1.2.0\n    repository: https://127.0.0.1:9/unreachable\n"
        ),
        "charts/app/templates/cm.yaml": SUB,
        "toolkit.yaml": "environments:\n  - name: dev\n",
        "overlays/dev/releases.yaml": yaml.safe_dump(
            {"releases": [{"name": "app", "namespace": "demo", "chart": "../../charts/app"}]}
        ),
        **vendored,
    }
    root = make_repo(tmp_path / "config", files, example=False)
    result = run_cli(root, "lock")
    assert result.exit_code == 0, result.stderr
    lock = lockfile.read_lock(root / "overlays" / "dev", root=root)
    assert lock is not None
    assert [entry.dependencies for entry in lock.entries] == [()]
    commit_all(root, "lock")
    out = tmp_path / "out"
    result = run_cli(root, "render", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    args = ["template", "app", root / "charts" / "app", "--namespace", "demo", "--include-crds"]
    expected = process.run([helm_tool.path, *args, "--skip-tests"]).stdout.decode()
    assert documents(rendered(root, out)) == documents(expected)
    assert documents(expected)[("ConfigMap", "app-demo")]["data"]["version"] == "1.2.0"


RICH = """\
apiVersion: v2
name: rich
version: 1.0.0
dependencies:
  - name: common
    version: ">=1.0.0 <2.0.0"
    repository: file://../common
    alias: shared
    condition: shared.enabled
    tags: [front, "a&b"]
    import-values:
      - child: exported
        parent: imported
      - data
  - name: vendored
    version: 0.1.0
"""


def test_chart_lock_digest_is_the_one_helm_writes(
    tmp_path: Path, run_cli: Cli, helm_tool: tools.Tool
) -> None:
    """Every field helm hashes (alias, condition, tags, import-values, escaped `<>&`): the real
    `helm dependency update` writes Chart.lock, and toolkit takes it as consistent."""
    files = {
        "charts/rich/Chart.yaml": RICH,
        "charts/rich/charts/vendored/Chart.yaml": "apiVersion: v2\nname: vendored\nversion: 0.1.0",
        "charts/common/Chart.yaml": "apiVersion: v2\nname: common\nversion: 1.4.0\n",
        "charts/common/templates/cm.yaml": SUB,
        "toolkit.yaml": "environments: [{name: dev}]\n",
        "overlays/dev/releases.yaml": yaml.safe_dump(
            {"releases": [{"name": "app", "namespace": "demo", "chart": "../../charts/rich"}]}
        ),
    }
    work = write_tree(tmp_path / "helm", files)
    process.run([helm_tool.path, "dependency", "update", work / "charts" / "rich"])
    files["charts/rich/Chart.lock"] = (work / "charts" / "rich" / "Chart.lock").read_text()
    root = make_repo(tmp_path / "config", files, example=False)
    result = run_cli(root, "lock")
    assert result.exit_code == 0, result.stderr
    entry = lockfile.read_lock(root / "overlays" / "dev", root=root).entries[0]  # type: ignore[union-attr]
    assert [(d.key, d.version) for d in entry.dependencies] == [("shared", "1.4.0")]
    # One field helm hashes changed, Chart.lock not updated: refused, as helm refuses it.
    write_tree(root, {"charts/rich/Chart.yaml": RICH.replace("[front,", "[back,")})
    commit_all(root, "tag changed")
    result = run_cli(root, "lock")
    assert result.exit_code == 2
    assert "the lock file (Chart.lock) is out of sync" in result.stderr
    copy = tmp_path / "helm-refuses"
    shutil.copytree(root / "charts", copy)
    refused = process.run([helm_tool.path, "dependency", "build", copy / "rich"], check=False)
    assert refused.returncode != 0 and b"out of sync" in refused.stderr


# --- charts locked at their git trees, with file:// dependencies ----------------------------


def demo_umbrella(
    repo: ChartRepo, *, demo: str = "^1.2.0", common: str = "1.4.0", greeting: str = "hello"
) -> dict[str, str]:
    """An umbrella chart over `demo` from `repo` and charts/common by file://, released as
    `app` in dev and staging."""
    releases = yaml.safe_dump(
        {"releases": [{"name": "app", "namespace": "demo", "chart": "../../charts/umbrella"}]}
    )
    return {
        "charts/umbrella/Chart.yaml": f"""\
apiVersion: v2
name: umbrella
version: 0.1.0
dependencies:
  - name: demo
    version: "{demo}"
    repository: {repo.url}
  - name: common
    version: 1.x
    repository: file://../common
""",
        "charts/umbrella/values.yaml": "other:\n  greeting: from-umbrella\n",
        "charts/umbrella/templates/cm.yaml": UMBRELLA_TEMPLATE,
        "charts/common/Chart.yaml": f"apiVersion: v2\nname: common\nversion: {common}\n",
        "charts/common/values.yaml": f"greeting: {greeting}\n",
        "charts/common/templates/cm.yaml": SUB,
        "toolkit.yaml": "environments: [{name: dev}, {name: staging}]\n",
        "overlays/dev/releases.yaml": releases,
        "overlays/staging/releases.yaml": releases,
    }


def pins(root: Path, env: str) -> dict[str, tuple[str, str | None]]:
    """Each dependency's locked version and git tree in `env`."""
    lock = lockfile.read_lock(root / "overlays" / env, root=root)
    assert lock is not None
    return {d.key: (d.version, d.tree) for d in lock.entries[0].dependencies}


def configmap_data(result: CliResult, name: str) -> dict[str, str]:
    data: dict[str, str] = documents(result.stdout)[("ConfigMap", name)]["data"]
    return data


def test_dependency_pins_that_do_not_answer_the_locked_tree_are_stale(
    tmp_path: Path, run_cli: Cli, chart_repo: ChartRepo
) -> None:
    """A chart locked at its git tree renders that tree's Chart.yaml: dependency pins made for
    another Chart.yaml (a hand-merged lock, a promotion that moved the tree alone) are stale,
    as a release's changed constraint is; the work tree moving on is news, not staleness (see
    the test above)."""
    chart_repo.add("demo", "1.2.5", "1.3.0")
    root = make_repo(tmp_path / "config", demo_umbrella(chart_repo), example=False)
    assert run_cli(root, "lock").exit_code == 0
    commit_all(root, "locked")
    write_tree(root, demo_umbrella(chart_repo, demo="~1.2.0"))
    assert run_cli(root, "lock", "dev").exit_code == 0
    commit_all(root, "demo ~1.2.0 in dev")
    dev = lockfile.read_lock(root / "overlays/dev", root=root)
    staging_lock = root / "overlays/staging/releases.lock"
    staging = lockfile.read_lock(staging_lock.parent, root=root)
    assert dev is not None and staging is not None
    (old_tree,) = {e.tree for e in staging.entries}
    (new_tree,) = {e.tree for e in dev.entries}
    staging_lock.write_text(staging_lock.read_text().replace(f"{old_tree}", f"{new_tree}"))

    result = run_cli(root, "--locked", "render", "staging")

    assert result.exit_code == 2
    assert result.stderr == (
        "error: overlays/staging/releases.lock is stale and --locked forbids resolving: release "
        "app: the constraint of its dependency demo changed from '^1.2.0' to '~1.2.0'; run "
        "`toolkit lock staging` and commit overlays/staging/releases.lock\n"
    )
    result = run_cli(root, "render", "staging")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        "warning: overlays/staging/releases.lock: release app: the constraint of its dependency "
        "demo changed from '^1.2.0' to '~1.2.0'; using 0.1.0 in memory; run `toolkit lock "
        "staging` and commit overlays/staging/releases.lock\n"
    )
    assert configmap_data(result, "app-demo")["chartVersion"] == "1.2.5"
    result = run_cli(root, "lock", "staging")
    assert result.exit_code == 0
    assert result.stderr == "staging/app: umbrella 0.1.0, dependency demo 1.3.0 -> 1.2.5\n"


def test_a_file_dependency_of_a_tree_pinned_chart_renders_its_locked_tree(
    tmp_path: Path, run_cli: Cli, helm_tool: tools.Tool, chart_repo: ChartRepo
) -> None:
    """A file:// dependency lies outside its parent's directory, so it is pinned by its own git
    tree beside the parent's: a change in the work tree waits for `toolkit lock`, as the
    parent's own does, and never reaches an environment by itself."""
    chart_repo.add("demo", "1.2.5", "1.3.0")
    root = make_repo(tmp_path / "config", demo_umbrella(chart_repo), example=False)
    assert run_cli(root, "lock").exit_code == 0
    commit_all(root, "locked")
    common_tree = git(root, "rev-parse", "HEAD:charts/common")
    assert pins(root, "dev") == {"common": ("1.4.0", common_tree), "demo": ("1.3.0", None)}
    assert f"        tree: {common_tree}\n" in (root / "overlays/dev/releases.lock").read_text()
    umbrella_chart = root / "charts" / "umbrella"
    expected = helm_build_and_template(helm_tool, umbrella_chart, tmp_path, chart_repo.url)

    write_tree(root, demo_umbrella(chart_repo, common="1.4.1", greeting="changed"))
    commit_all(root, "common 1.4.1, not locked")
    result = run_cli(root, "--locked", "render", "dev")

    assert result.exit_code == 0, result.stderr
    assert documents(result.stdout) == documents(expected)
    assert configmap_data(result, "app-common") == {"version": "1.4.0", "greeting": "hello"}
    assert result.stderr == (
        "warning: overlays/dev/releases.lock: release app: dependency common: charts/common/ "
        "changed in the work tree since it was locked (1.4.0 locked, 1.4.1 now), not locked in "
        "dev: dev renders the locked git tree until `toolkit lock dev` or a promotion moves it\n"
    )
    assert run_cli(root, "--locked", "lock").exit_code == 0  # staged, not stale
    result = run_cli(root, "lock", "dev")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "dev/app: umbrella 0.1.0, dependency common 1.4.0 -> 1.4.1\n"
    moved = git(root, "rev-parse", "HEAD:charts/common")
    assert pins(root, "dev")["common"] == ("1.4.1", moved)
    assert pins(root, "staging")["common"] == ("1.4.0", common_tree)
    dev = run_cli(root, "--locked", "render", "dev")
    assert configmap_data(dev, "app-common") == {"version": "1.4.1", "greeting": "changed"}
    staging = run_cli(root, "--locked", "render", "staging")
    assert configmap_data(staging, "app-common") == {"version": "1.4.0", "greeting": "hello"}
    # A dependency tree this clone lacks: one error, naming the trees as git does.
    staging_lock = root / "overlays/staging/releases.lock"
    missing = "deadbeef" * 5
    staging_lock.write_text(staging_lock.read_text().replace(common_tree, missing))
    result = run_cli(root, "render", "staging")
    assert result.exit_code == 2
    umbrella_tree = git(root, "rev-parse", "HEAD:charts/umbrella")
    assert result.stderr == (
        f"error: {umbrella_tree}:Chart.yaml:8: dependency common: the lock pins charts/common/ at "
        f"git tree {missing}, which this clone does not have: commit and push charts/common/ as "
        "it was locked, or lock again\n"
    )


def test_a_file_dependency_moved_in_the_work_tree_leaves_its_locked_tree_rendering(
    tmp_path: Path, run_cli: Cli, chart_repo: ChartRepo
) -> None:
    """charts/common renamed to charts/lib and locked in dev: staging, locked before, renders
    the trees it pins until it is promoted, with no need of the old directory."""
    chart_repo.add("demo", "1.2.5", "1.3.0")
    root = make_repo(tmp_path / "config", demo_umbrella(chart_repo), example=False)
    assert run_cli(root, "lock").exit_code == 0
    commit_all(root, "locked")
    git(root, "mv", "charts/common", "charts/lib")
    chart = root / "charts/umbrella/Chart.yaml"
    chart.write_text(chart.read_text().replace("file://../common", "file://../lib"))
    assert run_cli(root, "lock", "dev").exit_code == 0, "dev locks the new place"
    commit_all(root, "common moved to charts/lib")

    result = run_cli(root, "--locked", "render", "staging")

    assert result.exit_code == 0, result.stderr
    assert configmap_data(result, "app-common") == {"version": "1.4.0", "greeting": "hello"}
    assert result.stderr == (
        "warning: overlays/staging/releases.lock: release app: charts/umbrella/ changed in the "
        "work tree since it was locked (0.1.0 locked, 0.1.0 now), not locked in staging: staging "
        "renders the locked git tree until `toolkit lock staging` or a promotion moves it\n"
    )
    assert run_cli(root, "promote", "dev", "staging").exit_code == 0
    assert pins(root, "staging")["common"][1] == git(root, "rev-parse", "HEAD:charts/lib")


def test_a_file_dependency_git_cannot_hold_is_pinned_by_digest_and_stale_once_it_changes(
    tmp_path: Path, run_cli: Cli, chart_repo: ChartRepo
) -> None:
    """A symbolic link in charts/common: git's tree would not hold what helm reads, so the
    dependency is locked without a tree (its parent keeps its own) and renders from the work
    tree, stale once that changes."""
    chart_repo.add("demo", "1.2.5", "1.3.0")
    files = demo_umbrella(chart_repo) | {"linked/values.yaml": "greeting: linked\n"}
    files.pop("charts/common/values.yaml")
    root = write_tree(tmp_path / "config", files)
    (root / "charts/common/values.yaml").symlink_to("../../linked/values.yaml")
    root = make_repo(root, {}, example=False)
    assert run_cli(root, "lock").exit_code == 0
    commit_all(root, "locked")
    assert pins(root, "dev")["common"] == ("1.4.0", None)
    lock = lockfile.read_lock(root / "overlays/dev", root=root)
    assert lock is not None and lock.entries[0].tree is not None

    write_tree(root, {"linked/values.yaml": "greeting: changed\n"})
    result = run_cli(root, "--locked", "render", "dev")

    assert result.exit_code == 2
    assert "release app: its dependency common (file://../common) changed since it was locked" in (
        result.stderr
    )
