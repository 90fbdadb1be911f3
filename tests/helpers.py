"""What many tests share: real git repositories, file trees written out, the CLI's result."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from toolkit.infra import process

PROJECT = Path(__file__).resolve().parents[1]
SCHEMAS = PROJECT / "schemas"  # the --json documents' schemas
EXAMPLE_PATHS = ("toolkit.yaml", "charts", "crds", "overlays")


@contextlib.contextmanager
def serving(server: http.server.ThreadingHTTPServer) -> Iterator[None]:
    """`server` answering on a thread of its own until the block ends, then closed."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """`files` (relative path -> text or bytes) written under `root`, directories made."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def git(repo: Path, *args: str) -> str:
    """Run git in a test repository and return its stdout, stripped."""
    return git_exact(repo, *args).strip()


def git_exact(repo: Path, *args: str) -> str:
    """Run git in a test repository and return its stdout as it is (for byte-exact checks)."""
    return process.run(("git", *args), cwd=repo).stdout.decode()


def branch_files(repo: Path, rev: str = "rendered") -> list[str]:
    """Every file on a rendered branch."""
    return git(repo, "ls-tree", "-r", "--name-only", rev).splitlines()


def show(repo: Path, path: str, rev: str = "rendered", *, exact: bool = False) -> str:
    """A file's text as committed on a rendered branch (stripped, unless `exact`)."""
    text = git_exact(repo, "show", f"{rev}:{path}")
    return text if exact else text.strip()


def commit_all(repo: Path, message: str = "change") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def push_to_bare_remote(repo: Path, remote: Path | None = None) -> Path:
    """A bare repository made `origin` of `repo`, with main pushed to it: `remote`, by its file
    URL, or else `remote.git` beside `repo` by the relative URL `../remote.git` (the same in
    every copy of the two)."""
    bare = remote or repo.parent / "remote.git"
    git(bare.parent, "init", "-q", "--bare", "-b", "main", str(bare))
    git(repo, "remote", "add", "origin", "../remote.git" if remote is None else bare.as_uri())
    git(repo, "push", "-q", "origin", "main")
    return bare


_COUNTING_WRAPPER = """#!/bin/bash
# Counts the processes toolkit starts (not git's own children), then acts at a chosen one.
dir=${trial}
if [ "$PPID" = "$(cat "$dir/toolkit.pid" 2>/dev/null)" ]; then
    exec 9>>"$dir/count.lock"
    flock 9
    n=$(( $(cat "$dir/count" 2>/dev/null || echo 0) + 1 ))
    echo "$n" > "$dir/count"
    exec 9>&-
{action}
fi
exec {real} "$@"
"""
_PID_LAUNCHER = """#!/bin/bash
echo $$ > "${trial}/toolkit.pid"
exec {python} -m toolkit "$@"
"""


def counting_bin(directory: Path, *, trial: str, action: str, helm: Path, kustomize: Path) -> Path:
    """`directory` made a bin of `toolkit` (recording its pid in the directory named by
    `$<trial>`) and wrapped git, helm and kustomize that count each process toolkit starts in
    `$dir/count` and run the bash `action` (with the count in `$n`) before the real tool."""
    directory.mkdir()
    real_git = shutil.which("git")
    assert real_git
    for name, real in (("git", Path(real_git)), ("helm", helm), ("kustomize", kustomize)):
        text = _COUNTING_WRAPPER.replace("{trial}", trial).replace("{action}", action)
        (directory / name).write_text(text.replace("{real}", str(real)))
        (directory / name).chmod(0o755)
    launcher = _PID_LAUNCHER.replace("{trial}", trial).replace("{python}", sys.executable)
    (directory / "toolkit").write_text(launcher)
    (directory / "toolkit").chmod(0o755)
    return directory


_GIT_LOGGER = """#!/bin/sh
printf '%s\\n' "$*" >> "{log}"
exec {real} "$@"
"""


def logging_git(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """git wrapped, first on PATH, to append each process's arguments to the file returned
    (created by the first call)."""
    real = shutil.which("git")
    assert real is not None
    directory.mkdir()
    log = directory / "git.log"
    (directory / "git").write_text(_GIT_LOGGER.format(log=log, real=real))
    (directory / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{directory}:{os.environ['PATH']}")
    return log


def make_repo(
    path: Path, files: Mapping[str, str | bytes] | None = None, *, example: bool = True
) -> Path:
    """A real git repository holding the example configuration (and/or `files`), committed."""
    path.mkdir(parents=True, exist_ok=True)
    if example:
        for name in EXAMPLE_PATHS:
            source = PROJECT / name
            if source.is_dir():
                shutil.copytree(source, path / name)
            else:
                shutil.copy2(source, path / name)
    write_tree(path, files or {})
    git(path, "init", "-q", "-b", "main")
    commit_all(path, "initial configuration")
    return path


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


Cli = Callable[..., CliResult]


@functools.cache
def json_schemas() -> dict[str, Any]:
    """schemas/*.schema.json by file name."""
    return {p.name: json.loads(p.read_text()) for p in sorted(SCHEMAS.glob("*.schema.json"))}


def json_document(stdout: str) -> Any:
    """The JSON document a command's --json printed, once it is checked against its command's
    schema (schemas/<command>.schema.json)."""
    document = json.loads(stdout)
    assert document["schemaVersion"] == 1
    schemas = json_schemas()
    registry = jsonschema_rs.Registry([(schema["$id"], schema) for schema in schemas.values()])
    schema = schemas[f"{document['command'].replace(' ', '-')}.schema.json"]
    validator = jsonschema_rs.validator_for(schema, registry=registry)
    errors = [
        f"{'/'.join(map(str, error.instance_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]
    assert errors == []
    return document


def json_result(stdout: str) -> Any:
    """The `result` of a command's --json document (checked against its schema)."""
    document = json_document(stdout)
    assert set(document) == {"schemaVersion", "command", "result"}
    return document["result"]


def json_error(stdout: str) -> Any:
    """The `error` of the --json document a failed command printed (checked likewise)."""
    document = json_document(stdout)
    assert set(document) == {"schemaVersion", "command", "error"}
    return document["error"]


def hydrated_environments(stdout: str) -> dict[str, dict[str, Any]]:
    """`hydrate --json`'s environments by name."""
    return {env["name"]: env for env in json_result(stdout)["environments"]}


def write_config(
    root: Path,
    repositories: dict[str, str],
    releases: dict[str, list[dict[str, str]]],
) -> Path:
    """A committed config repository: one environment per key of `releases`."""
    files = {
        "toolkit.yaml": yaml.safe_dump(
            {"environments": [{"name": env} for env in releases], "repositories": repositories}
        )
    }
    for env, items in releases.items():
        listed = [{"namespace": "demo", **item} for item in items]
        files[f"overlays/{env}/releases.yaml"] = yaml.safe_dump(
            {"releases": listed}, sort_keys=False
        )
    return make_repo(root, files, example=False)


TOOLKIT_YAML = """\
rendered:
  branch: rendered/{env}
environments:
  - name: dev
    vars:
      domain: dev.example.com
      replicas: 1
  - name: staging
  - name: production
    kubeVersion: "1.33.0"
    apiVersions: [monitoring.coreos.com/v1, networking.k8s.io/v1/Ingress]
repositories:
  podinfo: https://stefanprodan.github.io/podinfo/
  registry: oci://ghcr.io/example/charts
promotion:
  copy: ["values/common/**"]
"""

RELEASES_YAML = """\
releases:
  - name: api
    namespace: api
    chart: ../../charts/api
    version: "^1.2.0"
    values: [values/api.yaml, values/api.yaml.j2]
    set: {replicaCount: 2, image: {tag: "1.2.3"}}
  - name: podinfo
    namespace: podinfo
    chart: podinfo/podinfo
    version: "6.x"
  - name: worker
    namespace: jobs
    chart: registry/worker
  - name: cache
    namespace: cache
    chart: oci://registry.example.com/charts/redis
"""


def config_repository(root: Path, **overrides: str) -> Path:
    """A config repository: toolkit.yaml, a local chart, dev's releases and values."""
    files = {
        "toolkit.yaml": TOOLKIT_YAML,
        "charts/api/Chart.yaml": "apiVersion: v2\nname: api\nversion: 1.2.3\n",
        "overlays/dev/releases.yaml": RELEASES_YAML,
        "overlays/dev/values/api.yaml": "replicaCount: 1\n",
        "overlays/dev/values/api.yaml.j2": "host: api.{{ vars.domain }}\n",
        "overlays/dev/kustomization.yaml": "resources: [../base]\n",
    }
    files.update(overrides)
    return write_tree(root, files)


def recording_helm(helm: Path, directory: Path) -> tuple[Path, Path]:
    """A helm that logs its arguments (one run a line), then runs the real one; and the log."""
    directory.mkdir(parents=True, exist_ok=True)
    wrapper, log = directory / "helm", directory / "argv"
    wrapper.write_text(f"#!/bin/sh\necho \"$*\" >> '{log}'\nexec '{helm}' \"$@\"\n")
    wrapper.chmod(0o755)
    return wrapper, log


def templates_run(log: Path) -> list[str]:
    """The release of each `helm template` a recording helm's log holds (probes left out)."""
    lines = log.read_text().splitlines() if log.exists() else []
    return sorted(line.split()[1] for line in lines if line.startswith("template "))


def toolkit_with(repo: Path, helm: Path, kustomize: Path, *args: str) -> CliResult:
    """`toolkit -C repo ARGS...` in-process with the helm and kustomize given."""
    from click.testing import CliRunner

    from toolkit import cli

    argv = ["-C", str(repo), "--helm", str(helm), "--kustomize", str(kustomize), *args]
    result = CliRunner().invoke(cli.main, argv, catch_exceptions=False)
    return CliResult(result.exit_code, result.stdout, result.stderr)


BREAK = '{{ if .Values.brokenOnPurpose }}{{ fail "broken on purpose" }}{{ end }}\n'


def break_staging_api(repo: Path) -> None:
    """The example's api chart fails `helm template` on its first line (service.yaml:1) where
    staging sets brokenOnPurpose; dev and production still render. Committed."""
    template = repo / "charts/api/templates/service.yaml"
    template.write_text(BREAK + template.read_text())
    releases = repo / "overlays/staging/releases.yaml"
    text = releases.read_text()
    first = "    values: [values/common/api.yaml, values/api.yaml, values/api.yaml.j2]\n"
    releases.write_text(text.replace(first, first + "    set: {brokenOnPurpose: true}\n", 1))
    commit_all(repo, "break staging's api")
