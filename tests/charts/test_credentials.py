"""Private chart sources, against real servers on 127.0.0.1: a Helm repository behind TLS that
demands basic auth, one that demands a client certificate, and docker-registry with htpasswd
behind TLS; credentials from each place users keep them; and a password planted in the
environment never leaves it."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.charts.test_subcharts import SUB, documents, package, rendered
from tests.fixtures.charts import ChartRepo, Registry
from tests.fixtures.private import (
    PASSWORD,
    TOKEN_LIFETIME,
    USERNAME,
    Authority,
    PrivateRegistry,
    serve_private_registry,
    serve_private_repo,
    serve_token_service,
)
from tests.helpers import Cli, commit_all, git, make_repo
from toolkit.charts import lockfile, oci
from toolkit.charts.credentials import AccessBook
from toolkit.config.project import load_config
from toolkit.infra import process
from toolkit.render import tools

pytestmark = pytest.mark.oci

ENV = {"CHARTS_USER": USERNAME, "CHARTS_PASSWORD": PASSWORD}


@pytest.fixture
def basic_repo(helm_tool: tools.Tool, authority: Authority, tmp_path: Path) -> Iterator[ChartRepo]:
    with serve_private_repo(
        helm_tool, tmp_path / "basic-repo", authority, basic=True, client_cert=False
    ) as repo:
        for version in ("1.0.0", "1.1.0"):
            package(helm_tool, tmp_path / "work", "webapp", version, repo.directory)
        repo.reindex()
        yield repo


@pytest.fixture
def cert_repo(helm_tool: tools.Tool, authority: Authority, tmp_path: Path) -> Iterator[ChartRepo]:
    with serve_private_repo(
        helm_tool, tmp_path / "cert-repo", authority, basic=False, client_cert=True
    ) as repo:
        package(helm_tool, tmp_path / "work", "certified", "2.0.0", repo.directory)
        repo.reindex()
        yield repo


@pytest.fixture
def private_registry(
    helm_tool: tools.Tool, authority: Authority, tmp_path: Path
) -> Iterator[PrivateRegistry]:
    with serve_private_registry(tmp_path / "registry", authority) as registry:
        archive = package(helm_tool, tmp_path / "work", "backend", "0.5.0", tmp_path / "oci")
        Registry(registry.plain_host, helm_tool).push(archive, "team")
        yield registry


def tls_root(root: Path, authority: Authority) -> None:
    """The CA and the client certificate in the config repository, where toolkit.yaml names
    them from."""
    certs = root / "certs"
    certs.mkdir(parents=True, exist_ok=True)
    for name, path in [("ca.pem", authority.ca), ("client.pem", authority.client_cert),
                       ("client-key.pem", authority.client_key)]:  # fmt: skip
        shutil.copy(path, certs / name)


def private_config(
    tmp_path: Path,
    authority: Authority,
    repositories: dict[str, object],
    releases: list[dict[str, str]],
    extra: dict[str, str] | None = None,
) -> Path:
    root = tmp_path / "config"
    tls_root(root, authority)
    files = {
        "toolkit.yaml": yaml.safe_dump(
            {"environments": [{"name": "dev"}], "repositories": repositories}
        ),
        "overlays/dev/releases.yaml": yaml.safe_dump(
            {"releases": [{"namespace": "demo", **r} for r in releases]}
        ),
        **(extra or {}),
    }
    return make_repo(root, files, example=False)


def with_env(url: str, **more: object) -> dict[str, object]:
    return {
        "url": url,
        "usernameEnv": "CHARTS_USER",
        "passwordEnv": "CHARTS_PASSWORD",
        "caFile": "certs/ca.pem",
        **more,
    }


def locked_versions(root: Path) -> dict[str, str]:
    lock = lockfile.read_lock(root / "overlays" / "dev", root=root)
    assert lock is not None
    return {e.release: e.version for e in lock.entries}


def test_environment_variables_named_in_toolkit_yaml_reach_every_kind_of_source(
    tmp_path: Path,
    run_cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    authority: Authority,
    basic_repo: ChartRepo,
    cert_repo: ChartRepo,
    private_registry: PrivateRegistry,
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    repositories = {
        "web": with_env(basic_repo.url),
        "team": with_env(f"oci://{private_registry.host}/team"),
        "certified": {
            "url": cert_repo.url,
            "caFile": "certs/ca.pem",
            "certFile": "certs/client.pem",
            "keyFile": "certs/client-key.pem",
        },
    }
    releases = [
        {"name": "web", "chart": "web/webapp", "version": "^1.0.0"},
        {"name": "backend", "chart": "team/backend"},
        {"name": "certified", "chart": "certified/certified"},
    ]
    root = private_config(tmp_path, authority, repositories, releases)
    result = run_cli(root, "lock")
    assert result.exit_code == 0, result.stderr
    assert locked_versions(root) == {"web": "1.1.0", "backend": "0.5.0", "certified": "2.0.0"}
    commit_all(root, "lock")
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "empty-cache"))  # fetched again
    assert run_cli(root, "render").exit_code == 0


def test_without_credentials_each_source_is_one_clear_error(
    tmp_path: Path,
    run_cli: Cli,
    authority: Authority,
    basic_repo: ChartRepo,
    private_registry: PrivateRegistry,
) -> None:
    repositories = {
        "web": {"url": basic_repo.url, "caFile": "certs/ca.pem"},
        "team": {"url": f"oci://{private_registry.host}/team", "caFile": "certs/ca.pem"},
    }
    for release in ({"name": "web", "chart": "web/webapp"}, {"name": "b", "chart": "team/backend"}):
        root = private_config(tmp_path / release["name"], authority, repositories, [release])
        result = run_cli(root, "lock")
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert "give toolkit credentials" in result.stderr or "asks for credentials" in (
            result.stderr
        ), result.stderr
    # A variable toolkit.yaml names but the environment lacks.
    root = private_config(
        tmp_path / "unset",
        authority,
        {"web": with_env(basic_repo.url)},
        [{"name": "web", "chart": "web/webapp"}],
    )
    result = run_cli(root, "lock")
    assert result.exit_code == 2
    assert "takes its credentials from $CHARTS_USER, which is not set" in result.stderr


def test_a_password_in_toolkit_yaml_is_refused(tmp_path: Path, run_cli: Cli) -> None:
    root = make_repo(
        tmp_path / "config",
        {
            "toolkit.yaml": "environments: [{name: dev}]\nrepositories:\n  web: https://u:pw@charts.example.com\n"
        },
        example=False,
    )
    result = run_cli(root, "render")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: toolkit.yaml:3: repositories.web: the URL carries a password"
    )
    assert "pw@" not in result.stderr


def write_docker_config(
    directory: Path, host: str, *, helper: str | None = None, store: str | None = None
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    auth = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    data: dict[str, object] = (
        {"credHelpers": {host: helper}} if helper else {"auths": {host: {"auth": auth}}}
    )
    if store:  # the default store, with an auths entry that names the registry but holds nothing
        data = {"auths": {host: {}}, "credsStore": store}
    (directory / "config.json").write_text(json.dumps(data))
    return directory / "config.json"


def credential_helper(bin_dir: Path, host: str) -> None:
    """docker-credential-fixture: answers `get` for `host` (read from stdin), as real helpers do."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "docker-credential-fixture"
    answer = json.dumps({"ServerURL": host, "Username": USERNAME, "Secret": PASSWORD})
    script.write_text(
        "#!/bin/sh\n"
        '[ "$1" = get ] || exit 1\n'
        "read -r server\n"
        f'[ "$server" = "{host}" ] || {{ echo "credentials not found"; exit 1; }}\n'
        f"cat <<'EOF'\n{answer}\nEOF\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


@pytest.mark.parametrize(
    "where",
    ["helm-registry-login", "docker-auths", "docker-cred-helper", "docker-creds-store", "netrc"],
)
def test_registry_credentials_from_where_users_keep_them(
    where: str,
    tmp_path: Path,
    run_cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    authority: Authority,
    private_registry: PrivateRegistry,
) -> None:
    host = private_registry.host
    if where == "helm-registry-login":
        config = write_docker_config(tmp_path / "helm-registry", host)
        monkeypatch.setenv("HELM_REGISTRY_CONFIG", str(config))
    elif where == "docker-auths":
        monkeypatch.setenv(
            "DOCKER_CONFIG", str(write_docker_config(tmp_path / "docker", host).parent)
        )
    elif where.startswith("docker-cred"):
        credential_helper(tmp_path / "bin", host)
        monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
        kind = {"helper" if where.endswith("helper") else "store": "fixture"}
        config = write_docker_config(tmp_path / "docker", host, **kind)
        monkeypatch.setenv("DOCKER_CONFIG", str(config.parent))
    else:
        netrc = tmp_path / "netrc"
        netrc.write_text(f"machine 127.0.0.1 login {USERNAME} password {PASSWORD}\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
    repositories = {"team": {"url": f"oci://{host}/team", "caFile": "certs/ca.pem"}}
    root = private_config(
        tmp_path, authority, repositories, [{"name": "b", "chart": "team/backend"}]
    )
    result = run_cli(root, "lock")
    assert result.exit_code == 0, result.stderr
    assert locked_versions(root) == {"b": "0.5.0"}


@pytest.mark.parametrize("where", ["helm-repo-add", "netrc"])
def test_repository_credentials_from_where_users_keep_them(
    where: str,
    tmp_path: Path,
    run_cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    helm_tool: tools.Tool,
    authority: Authority,
    basic_repo: ChartRepo,
) -> None:
    if where == "helm-repo-add":  # the real `helm repo add`, with the password on stdin
        config = tmp_path / "helm" / "repositories.yaml"
        process.run(
            [helm_tool.path, "repo", "add", "web", basic_repo.url, "--username", USERNAME,
             "--password-stdin", "--ca-file", authority.ca, f"--repository-config={config}",
             f"--repository-cache={tmp_path / 'helm' / 'cache'}"],
            input=PASSWORD.encode(),
        )  # fmt: skip
        monkeypatch.setenv("HELM_REPOSITORY_CONFIG", str(config))
        repositories: dict[str, object] = {"web": basic_repo.url}  # TLS from helm's entry too
    else:
        netrc = tmp_path / "netrc"
        netrc.write_text(f"machine 127.0.0.1 login {USERNAME} password {PASSWORD}\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        repositories = {"web": {"url": basic_repo.url, "caFile": "certs/ca.pem"}}
    root = private_config(
        tmp_path, authority, repositories, [{"name": "web", "chart": "web/webapp"}]
    )
    result = run_cli(root, "lock")
    assert result.exit_code == 0, result.stderr
    assert locked_versions(root) == {"web": "1.1.0"}


UMBRELLA = """\
apiVersion: v2
name: private-umbrella
version: 1.0.0
dependencies:
  - name: webapp
    version: ~1.0.0
    repository: "@web"
  - name: backend
    version: ">=0.1.0"
    repository: oci://{host}/team
"""


def recording_helm(helm: tools.Tool, directory: Path) -> Path:
    """A helm that appends its own /proc/self/cmdline to a log, then runs the real one."""
    directory.mkdir(parents=True, exist_ok=True)
    wrapper = directory / "helm"
    log = directory / "cmdlines"
    wrapper.write_text(
        f"#!/bin/sh\ncat /proc/$$/cmdline >> '{log}'\necho >> '{log}'\nexec '{helm.path}' \"$@\"\n"
    )
    wrapper.chmod(0o755)
    return wrapper


def everything_written(root: Path, cache: Path) -> bytes:
    """Every byte toolkit may have written: the work tree, every git object (uncompressed:
    the rendered branch, its messages and notes), the refs, and the cache."""
    chunks = [p.read_bytes() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]
    objects = process.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=root)
    chunks.append(objects.stdout)
    chunks.append(git(root, "for-each-ref").encode())
    chunks += [p.read_bytes() for p in cache.rglob("*") if p.is_file()]
    for archive in cache.rglob("*.blob"):  # chart archives: gzip, searched unpacked too
        chunks.append(_gunzipped(archive))
    return b"\n".join(chunks)


def _gunzipped(path: Path) -> bytes:
    import gzip

    try:
        return gzip.decompress(path.read_bytes())
    except OSError:
        return b""


def test_an_umbrella_chart_from_private_sources_hydrates_as_helm_renders_it_and_leaks_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    helm_tool: tools.Tool,
    kustomize_tool: tools.Tool,
    authority: Authority,
    basic_repo: ChartRepo,
    private_registry: PrivateRegistry,
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    cache = tmp_path / "cache"
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(cache))
    repositories = {
        "web": with_env(basic_repo.url),
        "team": with_env(f"oci://{private_registry.host}/team"),
    }
    extra = {
        "charts/private-umbrella/Chart.yaml": UMBRELLA.format(host=private_registry.host),
        "charts/private-umbrella/templates/cm.yaml": SUB,
    }
    releases = [{"name": "app", "chart": "../../charts/private-umbrella"}]
    root = private_config(tmp_path, authority, repositories, releases, extra)
    helm = recording_helm(helm_tool, tmp_path / "recorder")
    from click.testing import CliRunner

    from toolkit import cli

    outputs = []
    for args in (
        ["lock"],
        ["render", "-o", str(tmp_path / "out")],
        ["-v", "hydrate", "--allow-dirty"],
    ):
        argv = [
            "-C",
            str(root),
            "--helm",
            str(helm),
            "--kustomize",
            str(kustomize_tool.path),
            *args,
        ]
        result = CliRunner().invoke(cli.main, argv, catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        outputs += [result.stdout.encode(), result.stderr.encode()]
        if args == ["lock"]:
            commit_all(root, "lock")
    # Equal to what the real helm renders after `helm dependency build` with the same access.
    copy = tmp_path / "helm-copy"
    shutil.copytree(root / "charts" / "private-umbrella", copy)
    state = [f"--repository-config={tmp_path / 'h' / 'repositories.yaml'}",
             f"--repository-cache={tmp_path / 'h' / 'cache'}",
             f"--registry-config={tmp_path / 'h' / 'registry.json'}"]  # fmt: skip
    helm_run = [helm_tool.path]
    login = ["--username", USERNAME, "--password-stdin", "--ca-file", authority.ca, *state]
    secret = PASSWORD.encode()
    process.run([*helm_run, "repo", "add", "web", basic_repo.url, *login], input=secret)
    process.run([*helm_run, "registry", "login", private_registry.host, *login], input=secret)
    process.run([*helm_run, "dependency", "build", copy, "--ca-file", authority.ca, *state])
    expected = process.run(
        [
            *helm_run,
            "template",
            "app",
            copy,
            "--namespace",
            "demo",
            "--include-crds",
            "--skip-tests",
        ]
    ).stdout.decode()
    assert documents(rendered(root, tmp_path / "out")) == documents(expected)
    # The password, and its Basic form, are nowhere toolkit wrote or printed, nor on the
    # command line of any helm it started.
    cmdlines = (tmp_path / "recorder" / "cmdlines").read_bytes()
    assert b"template" in cmdlines
    haystack = everything_written(root, cache) + b"".join(outputs) + cmdlines
    basic = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode())
    assert PASSWORD.encode() not in haystack
    assert basic not in haystack
    assert git(root, "ls-tree", "-r", "--name-only", "rendered")  # the branch was written


def test_a_bearer_token_insecure_tls_and_an_untrusted_certificate(
    tmp_path: Path,
    run_cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    helm_tool: tools.Tool,
    authority: Authority,
) -> None:
    monkeypatch.setenv("CHARTS_TOKEN", PASSWORD)
    with serve_private_repo(
        helm_tool, tmp_path / "token-repo", authority, basic=False, client_cert=False,
        token=PASSWORD,
    ) as repo:  # fmt: skip
        package(helm_tool, tmp_path / "work", "webapp", "1.0.0", repo.directory)
        repo.reindex()
        release = [{"name": "web", "chart": "web/webapp"}]
        token = {"url": repo.url, "tokenEnv": "CHARTS_TOKEN"}
        cases = {
            "token": ({"web": {**token, "caFile": "certs/ca.pem"}}, 0),
            "insecure": ({"web": {**token, "insecureSkipTLSVerify": True}}, 0),
            "untrusted": ({"web": token}, 2),
        }
        for name, (repositories, code) in cases.items():
            root = private_config(tmp_path / name, authority, repositories, release)
            result = run_cli(root, "lock")
            assert result.exit_code == code, (name, result.stderr)
        assert result.stderr.count("\n") == 1
        assert "its TLS certificate is not trusted" in result.stderr
        assert "caFile" in result.stderr and PASSWORD not in result.stderr


def test_the_bearer_token_flow_with_credentials_renews_an_expired_token(
    tmp_path: Path,
    run_cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    helm_tool: tools.Tool,
    authority: Authority,
) -> None:
    """docker-registry with token authentication: toolkit fetches a token with the credentials
    and, when the registry refuses one that expired during the run, a new one."""
    with (
        serve_token_service(authority, tmp_path / "tokens") as tokens,
        serve_private_registry(tmp_path / "registry", authority, token_realm=tokens.url) as reg,
    ):
        archive = package(helm_tool, tmp_path / "work", "backend", "0.5.0", tmp_path / "oci")
        Registry(reg.plain_host, helm_tool).push(archive, "team")
        for name, value in ENV.items():
            monkeypatch.setenv(name, value)
        repositories: dict[str, object] = {
            "team": {"url": f"oci://{reg.host}/team", "usernameEnv": "CHARTS_USER",
                     "passwordEnv": "CHARTS_PASSWORD"}
        }  # fmt: skip
        root = private_config(
            tmp_path, authority, repositories, [{"name": "b", "chart": "team/backend"}]
        )
        result = run_cli(root, "lock")
        assert result.exit_code == 0, result.stderr
        assert locked_versions(root) == {"b": "0.5.0"}
        assert tokens.issued and set(tokens.issued) == {"repository:team/backend:pull"}
        # The client on its own: a token outlived between two requests is renewed.
        access = AccessBook(load_config(root).repository_access)
        client = oci.Registry(lambda ref: access.for_registry(ref.host, ref.repository))
        ref = oci.parse_reference(f"oci://{reg.host}/team/backend")
        assert client.tags(ref, what="test") == ["0.5.0"]
        issued = len(tokens.issued)
        time.sleep(TOKEN_LIFETIME)
        digest, _ = client.manifest(ref, "0.5.0", what="test")
        assert digest.startswith("sha256:") and len(tokens.issued) == issued + 1
    # Wrong credentials: one message naming where they came from, never the secret.
    monkeypatch.setenv("CHARTS_PASSWORD", "wrong-" + PASSWORD)
    with (
        serve_token_service(authority, tmp_path / "tokens2") as tokens,
        serve_private_registry(tmp_path / "registry2", authority, token_realm=tokens.url) as reg,
    ):
        repositories = {"team": {"url": f"oci://{reg.host}/team", "usernameEnv": "CHARTS_USER",
                                 "passwordEnv": "CHARTS_PASSWORD"}}  # fmt: skip
        root = private_config(
            tmp_path / "wrong", authority, repositories, [{"name": "b", "chart": "team/backend"}]
        )
        result = run_cli(root, "lock")
        assert result.exit_code == 2
        assert "token service refused the credentials from the environment (repositories.team)" in (
            result.stderr
        ), result.stderr
        assert PASSWORD not in result.stderr


def test_kustomize_helm_charts_from_a_private_repository_take_the_same_credentials(
    tmp_path: Path,
    run_cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    authority: Authority,
    basic_repo: ChartRepo,
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    kustomization = {
        "helmCharts": [
            {"name": "webapp", "repo": basic_repo.url, "version": "1.1.0", "releaseName": "k"}
        ]
    }
    root = private_config(
        tmp_path,
        authority,
        {"web": with_env(basic_repo.url)},
        [],
        {"overlays/dev/kustomization.yaml": yaml.safe_dump(kustomization)},
    )
    out = tmp_path / "out"
    result = run_cli(root, "render", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert documents(rendered(root, out))[("ConfigMap", "k-webapp")]["data"]["version"] == "1.1.0"
    assert "/webapp-1.1.0.tgz" in basic_repo.requests
