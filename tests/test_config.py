from __future__ import annotations

import os
from pathlib import Path

import pytest

from toolkit.config import (
    Config,
    DiffIgnore,
    Environment,
    LocalChart,
    Location,
    OciChart,
    RepoChart,
    branch_name_problem,
    load_config,
    load_environment,
    safe_path,
)
from toolkit.errors import InputError

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


def write(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root


def repository(root: Path, **overrides: str) -> Path:
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
    return write(root, files)


def config_error(root: Path) -> str:
    with pytest.raises(InputError) as caught:
        load_config(root)
    return str(caught.value)


def environment_error(root: Path, env: str = "dev") -> str:
    config = load_config(root)
    with pytest.raises(InputError) as caught:
        load_environment(config, config.environment(env))
    return str(caught.value)


def releases(*entries: str) -> str:
    return "releases:\n" + "".join(entries)


# --- the happy path -----------------------------------------------------------------------


def test_realistic_config_loads(tmp_path: Path) -> None:
    root = repository(tmp_path)

    config = load_config(root)

    assert config.root == root.resolve()
    assert config.path == root.resolve() / "toolkit.yaml"
    assert config.rendered_branch == "rendered/{env}"
    assert [env.name for env in config.environments] == ["dev", "staging", "production"]
    assert config.repositories == {
        "podinfo": "https://stefanprodan.github.io/podinfo",
        "registry": "oci://ghcr.io/example/charts",
    }
    assert config.promotion_copy == ("values/common/**",)
    production = config.environment("production")
    assert production.kube_version == "1.33.0"
    assert production.api_versions == ("monitoring.coreos.com/v1", "networking.k8s.io/v1/Ingress")
    assert production.directory == root.resolve() / "overlays" / "production"
    assert config.environment("dev").vars == {"domain": "dev.example.com", "replicas": 1}


def test_environment_spec_of_a_realistic_environment(tmp_path: Path) -> None:
    root = repository(tmp_path).resolve()
    config = load_config(root)

    spec = load_environment(config, config.environment("dev"))

    api, podinfo, worker, cache = spec.releases
    assert api.name == "api"
    assert api.namespace == "api"
    assert api.chart == LocalChart(root / "charts" / "api")
    assert api.version == "^1.2.0"
    assert api.values == (
        root / "overlays/dev/values/api.yaml",
        root / "overlays/dev/values/api.yaml.j2",
    )
    assert api.set == {"replicaCount": 2, "image": {"tag": "1.2.3"}}
    assert str(api.location) == "overlays/dev/releases.yaml:2"
    assert podinfo.chart == RepoChart(
        repository="podinfo", url="https://stefanprodan.github.io/podinfo", name="podinfo"
    )
    assert podinfo.values == ()
    assert podinfo.set == {}
    assert worker.chart == OciChart(url="oci://ghcr.io/example/charts/worker", name="worker")
    assert worker.version is None
    assert cache.chart == OciChart(url="oci://registry.example.com/charts/redis", name="redis")
    assert spec.kustomization == root / "overlays" / "dev"
    assert spec.releases_file == root / "overlays" / "dev" / "releases.yaml"


def test_environment_without_files_asks_for_nothing(tmp_path: Path) -> None:
    config = load_config(repository(tmp_path))

    spec = load_environment(config, config.environment("staging"))

    assert spec.releases == ()
    assert spec.kustomization is None
    assert spec.releases_file is None


def test_kustomization_spellings_are_recognised(tmp_path: Path) -> None:
    root = repository(tmp_path, **{"overlays/staging/Kustomization": "resources: []\n"})
    config = load_config(root)

    spec = load_environment(config, config.environment("staging"))

    assert spec.kustomization == config.root / "overlays" / "staging"


def test_loaded_data_is_read_only_and_hashable(tmp_path: Path) -> None:
    config = load_config(repository(tmp_path))
    dev = config.environment("dev")
    spec = load_environment(config, dev)

    with pytest.raises(TypeError):
        dev.vars["domain"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        spec.releases[0].set["replicaCount"] = 3  # type: ignore[index]
    assert len({dev, config.environment("dev")}) == 1
    assert len({spec.releases[0], spec.releases[1]}) == 2


def test_minimal_config_takes_defaults(tmp_path: Path) -> None:
    write(tmp_path, {"toolkit.yaml": "environments:\n  - name: dev\n"})

    config = load_config(tmp_path)

    assert config.rendered_branch == "rendered"
    assert config.branch_for("dev") == "rendered"
    assert config.repositories == {}
    assert config.promotion_copy == ()
    dev = config.environment("dev")
    assert (dev.kube_version, dev.api_versions, dict(dev.vars)) == (None, (), {})


def test_branch_for_substitutes_the_environment(tmp_path: Path) -> None:
    config = load_config(repository(tmp_path))

    assert config.branch_for("production") == "rendered/production"


def test_select_keeps_promotion_order(tmp_path: Path) -> None:
    config = load_config(repository(tmp_path))

    assert config.select([]) == config.environments
    assert [env.name for env in config.select(["production", "dev", "dev"])] == [
        "dev",
        "production",
    ]


def test_unknown_environment_suggests_the_closest(tmp_path: Path) -> None:
    config = load_config(repository(tmp_path))

    with pytest.raises(InputError) as caught:
        config.select(["dev", "prodution"])

    assert str(caught.value) == (
        "toolkit.yaml has no environment 'prodution' (did you mean 'production'?); "
        "it defines: dev, staging, production"
    )


def test_location_without_root_shows_the_absolute_path(tmp_path: Path) -> None:
    assert str(Location(tmp_path / "a.yaml", None)) == (tmp_path / "a.yaml").as_posix()
    assert str(Location(tmp_path / "a.yaml", 3, tmp_path)) == "a.yaml:3"


# --- toolkit.yaml errors ------------------------------------------------------------------


def test_missing_toolkit_yaml_says_where_it_looked(tmp_path: Path) -> None:
    message = config_error(tmp_path)

    assert message.startswith(f"no toolkit.yaml in {tmp_path.resolve()} (looked for ")
    assert "-C DIR" in message


def test_empty_toolkit_yaml(tmp_path: Path) -> None:
    write(tmp_path, {"toolkit.yaml": "# todo\n"})

    assert "toolkit.yaml is empty; list the environments" in config_error(tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "environment:\n  - name: dev\n",
            "toolkit.yaml:1: unknown key 'environment' in toolkit.yaml "
            "(did you mean 'environments'?); allowed keys: rendered, environments, "
            "repositories, promotion, diff",
        ),
        (
            "environments:\n  - name: dev\n    kubeversion: '1.30.0'\n",
            "toolkit.yaml:3: unknown key 'kubeversion' in environments[0] "
            "(did you mean 'kubeVersion'?); allowed keys: name, vars, kubeVersion, apiVersions",
        ),
        (
            "rendered:\n  brnch: x\nenvironments:\n  - name: dev\n",
            "toolkit.yaml:2: unknown key 'brnch' in rendered (did you mean 'branch'?); "
            "allowed keys: branch, message",
        ),
        (
            "environments:\n  - name: dev\npromotion:\n  copies: []\n",
            "toolkit.yaml:4: unknown key 'copies' in promotion (did you mean 'copy'?); "
            "allowed keys: copy",
        ),
    ],
)
def test_unknown_keys_suggest_the_closest(tmp_path: Path, text: str, expected: str) -> None:
    write(tmp_path, {"toolkit.yaml": text})

    assert config_error(tmp_path) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rendered: {}\n", "toolkit.yaml:1: toolkit.yaml is missing the required key"),
        ("environments: []\n", "toolkit.yaml:1: environments is empty"),
        ("environments: dev\n", "toolkit.yaml:1: environments must be a list, found 'dev'"),
        ("environments:\n  - dev\n", "toolkit.yaml:2: environments[0] must be a mapping"),
        ("environments:\n  - vars: {}\n", "toolkit.yaml:2: environments[0] is missing the"),
        (
            "environments:\n  - name: Dev_1\n",
            "toolkit.yaml:2: environment name 'Dev_1' is not valid: use at most 63 lowercase",
        ),
        ("environments:\n  - name: base\n", "toolkit.yaml:2: environment name 'base' is reserved"),
        (
            "environments:\n  - name: dev\n    kubeVersion: 1.30\n",
            "toolkit.yaml:3: environments[0].kubeVersion must be a Kubernetes version string "
            'such as "1.33.0", found the number 1.3; quote it',
        ),
        (
            "environments:\n  - name: dev\n    apiVersions: [a/v1, 'b/v1,c/v1']\n",
            "toolkit.yaml:3: environments[0].apiVersions: 'b/v1,c/v1' is not an API version",
        ),
        (
            "environments:\n  - name: dev\n    apiVersions: [7]\n",
            "toolkit.yaml:3: environments[0].apiVersions[0] must be a string, found the number 7",
        ),
        (
            "environments:\n  - name: dev\n    vars: [a]\n",
            "toolkit.yaml:3: environments[0].vars must be a mapping, found a list",
        ),
        (
            "environments:\n  - name: dev\n    vars: {1: a}\n",
            "toolkit.yaml:3: environments[0].vars: key 1 must be a string",
        ),
        (
            "environments:\n  - name: dev\n  - name: staging\n  - name: dev\n",
            "toolkit.yaml:4: duplicate environment name 'dev' (first defined on line 2)",
        ),
        (
            "environments: [{name: dev}]\nrepositories:\n  stable: ftp://charts.example.com\n",
            "toolkit.yaml:3: repositories.stable must be a chart repository URL, found "
            "'ftp://charts.example.com'; use https://host/path",
        ),
        (
            "environments: [{name: dev}]\nrepositories:\n  'my/repo': https://x.example\n",
            "toolkit.yaml:3: repository alias 'my/repo' may use only",
        ),
        (
            "environments: [{name: dev}]\npromotion:\n  copy: [../secrets/**]\n",
            "toolkit.yaml:3: promotion.copy pattern '../secrets/**' must be relative",
        ),
        (
            "environments: [{name: dev}]\npromotion:\n  copy: values/**\n",
            "toolkit.yaml:3: promotion.copy must be a list, found 'values/**'",
        ),
    ],
)
def test_invalid_toolkit_yaml(tmp_path: Path, text: str, expected: str) -> None:
    write(tmp_path, {"toolkit.yaml": text})

    assert config_error(tmp_path).startswith(expected)


@pytest.mark.parametrize(
    ("branch", "expected"),
    [
        ("rendered/{environment}", "may use only the placeholder {env}"),
        ("rendered/{env", "may use only the placeholder {env}"),
        ("rendered/{0}", "may use only the placeholder {env}"),
        ("rendered..{env}", "gives 'rendered..dev' for environment 'dev'"),
        ("rendered/{env}.lock", "a part starts with '.' or ends with '.lock'"),
        ("-{env}", "it starts with '-'"),
        ("my branch", "it contains a space"),
        ("", "it is empty"),
    ],
)
def test_invalid_rendered_branch(tmp_path: Path, branch: str, expected: str) -> None:
    text = f"rendered:\n  branch: '{branch}'\nenvironments:\n  - name: dev\n"
    write(tmp_path, {"toolkit.yaml": text})

    message = config_error(tmp_path)

    assert message.startswith("toolkit.yaml:2: rendered.branch")
    assert expected in message


@pytest.mark.parametrize("name", ["main", "rendered/dev", "a.b/c-d", "rendered/prod_1"])
def test_valid_branch_names(name: str) -> None:
    assert branch_name_problem(name) is None


@pytest.mark.parametrize(
    "name",
    ["a//b", "a/", "/a", "a.", "a@{b", "HEAD", "@", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b"],
)
def test_invalid_branch_names(name: str) -> None:
    assert branch_name_problem(name) is not None


# --- releases.yaml errors -----------------------------------------------------------------

API = "  - name: api\n    namespace: api\n    chart: ../../charts/api\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "release:\n  - name: api\n",
            "overlays/dev/releases.yaml:1: unknown key 'release' in overlays/dev/releases.yaml "
            "(did you mean 'releases'?); allowed keys: releases",
        ),
        (
            releases(API, "    valeus: [values/api.yaml]\n"),
            "overlays/dev/releases.yaml:5: unknown key 'valeus' in releases[0] "
            "(did you mean 'values'?); allowed keys: name, namespace, chart, version, values, set",
        ),
        (
            releases("  - name: api\n    chart: ../../charts/api\n"),
            "overlays/dev/releases.yaml:2: releases[0] is missing the required key 'namespace'",
        ),
        (
            "releases: {}\n",
            "overlays/dev/releases.yaml:1: releases must be a list, found a mapping",
        ),
        (
            releases("  - name: API\n    namespace: api\n    chart: ../../charts/api\n"),
            "overlays/dev/releases.yaml:2: release name 'API' is not valid: use at most 53",
        ),
        (
            releases(f"  - name: {'a' * 54}\n    namespace: api\n    chart: ../../charts/api\n"),
            "overlays/dev/releases.yaml:2: release name",
        ),
        (
            releases("  - name: kustomize\n    namespace: k\n    chart: ../../charts/api\n"),
            "overlays/dev/releases.yaml:2: release name 'kustomize' is reserved",
        ),
        (
            releases("  - name: api\n    namespace: Api.x\n    chart: ../../charts/api\n"),
            "overlays/dev/releases.yaml:3: release 'api': namespace 'Api.x' is not valid",
        ),
        (
            releases(API, "    version: 1.2\n"),
            "overlays/dev/releases.yaml:5: release 'api': version must be a constraint string, "
            "found the number 1.2; quote it",
        ),
        (
            releases(API, "    set: [replicaCount=2]\n"),
            "overlays/dev/releases.yaml:5: releases[0].set must be a mapping, found a list",
        ),
        (
            releases(API, "    values: values/api.yaml\n"),
            "overlays/dev/releases.yaml:5: releases[0].values must be a list, found "
            "'values/api.yaml'",
        ),
        (
            releases(API, API.replace("namespace: api", "namespace: other")),
            "overlays/dev/releases.yaml:5: duplicate release name 'api' (first defined on line 2)",
        ),
        (
            releases("  - name: api\n    namespace: api\n    chart: 42\n"),
            "overlays/dev/releases.yaml:4: release 'api': chart must be a string, found the "
            "number 42",
        ),
    ],
)
def test_invalid_releases_yaml(tmp_path: Path, text: str, expected: str) -> None:
    root = repository(tmp_path, **{"overlays/dev/releases.yaml": text})

    assert environment_error(root).startswith(expected)


def test_empty_releases_yaml_has_no_releases(tmp_path: Path) -> None:
    root = repository(tmp_path, **{"overlays/dev/releases.yaml": "releases:\n"})
    config = load_config(root)

    spec = load_environment(config, config.environment("dev"))

    assert spec.releases == ()
    assert spec.releases_file == config.root / "overlays/dev/releases.yaml"


def test_unknown_repository_alias_suggests_the_closest(tmp_path: Path) -> None:
    text = releases("  - name: podinfo\n    namespace: podinfo\n    chart: podinf/podinfo\n")
    root = repository(tmp_path, **{"overlays/dev/releases.yaml": text})

    assert environment_error(root) == (
        "overlays/dev/releases.yaml:4: release 'podinfo': unknown chart repository 'podinf' in "
        "chart 'podinf/podinfo' (did you mean 'podinfo'?); add it under repositories: in "
        "toolkit.yaml (defined: podinfo, registry), or write a local chart as ./podinf/podinfo"
    )


def test_alias_like_path_to_an_existing_directory_is_a_local_chart(tmp_path: Path) -> None:
    text = releases("  - name: api\n    namespace: api\n    chart: charts/api\n")
    root = repository(
        tmp_path,
        **{
            "overlays/dev/releases.yaml": text,
            "overlays/dev/charts/api/Chart.yaml": "apiVersion: v2\nname: api\nversion: 1.0.0\n",
        },
    )
    config = load_config(root)

    (release,) = load_environment(config, config.environment("dev")).releases

    assert release.chart == LocalChart(config.root / "overlays/dev/charts/api")


def test_oci_chart_with_a_tag_is_refused(tmp_path: Path) -> None:
    text = releases("  - name: c\n    namespace: c\n    chart: oci://example.com/charts/c:1.0\n")
    root = repository(tmp_path, **{"overlays/dev/releases.yaml": text})

    message = environment_error(root)

    assert message.startswith("overlays/dev/releases.yaml:4: release 'c': chart ")
    assert "put the version under version:" in message


def test_missing_values_file_says_where_it_looked(tmp_path: Path) -> None:
    root = repository(
        tmp_path,
        **{
            "overlays/dev/releases.yaml": releases(
                API, "    values:\n      - values/api.yaml\n      - values/x.yaml\n"
            )
        },
    )

    assert environment_error(root) == (
        "overlays/dev/releases.yaml:7: release 'api': values file 'values/x.yaml' not found "
        "(looked in overlays/dev/values/x.yaml); create it or correct the path, which is "
        "relative to the releases.yaml"
    )


def test_values_path_leaving_the_repository_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(tmp_path, {"secret.yaml": "password: hunter2\n"})
    repository(
        root,
        **{"overlays/dev/releases.yaml": releases(API, "    values: [../../../secret.yaml]\n")},
    )

    message = environment_error(root)

    assert message.startswith(
        "overlays/dev/releases.yaml:5: release 'api': values file: '../../../secret.yaml' "
        "leads outside the repository"
    )


def test_values_symlink_leaving_the_repository_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(tmp_path, {"secret.yaml": "password: hunter2\n"})
    repository(
        root, **{"overlays/dev/releases.yaml": releases(API, "    values: [values/link.yaml]\n")}
    )
    (root / "overlays/dev/values/link.yaml").symlink_to(tmp_path / "secret.yaml")

    message = environment_error(root)

    assert message.startswith(
        "overlays/dev/releases.yaml:5: release 'api': values file: 'values/link.yaml' "
        "leads outside the repository"
    )


def test_values_symlink_inside_the_repository_is_followed(tmp_path: Path) -> None:
    root = repository(
        tmp_path,
        **{"overlays/dev/releases.yaml": releases(API, "    values: [values/link.yaml]\n")},
    )
    (root / "overlays/dev/values/link.yaml").symlink_to(root / "overlays/dev/values/api.yaml")
    config = load_config(root)

    (release,) = load_environment(config, config.environment("dev")).releases

    assert release.values == (config.root / "overlays/dev/values/api.yaml",)


def test_absolute_values_path_is_refused(tmp_path: Path) -> None:
    values = (tmp_path / "overlays/dev/values/api.yaml").as_posix()
    root = repository(
        tmp_path, **{"overlays/dev/releases.yaml": releases(API, f"    values: [{values}]\n")}
    )

    assert "is an absolute path; write it relative to overlays/dev/" in environment_error(root)


def test_chart_symlink_leaving_the_repository_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(tmp_path, {"outside/Chart.yaml": "apiVersion: v2\nname: x\nversion: 1.0.0\n"})
    text = releases("  - name: api\n    namespace: api\n    chart: ../../charts/link\n")
    repository(root, **{"overlays/dev/releases.yaml": text})
    (root / "charts/link").symlink_to(tmp_path / "outside", target_is_directory=True)

    message = environment_error(root)

    assert message.startswith(
        "overlays/dev/releases.yaml:4: release 'api': chart: '../../charts/link' leads outside "
        "the repository"
    )


def test_local_chart_without_chart_yaml_is_refused(tmp_path: Path) -> None:
    text = releases("  - name: api\n    namespace: api\n    chart: ../../charts/empty\n")
    root = repository(tmp_path, **{"overlays/dev/releases.yaml": text, "charts/empty/README": ""})

    assert environment_error(root) == (
        "overlays/dev/releases.yaml:4: release 'api': chart directory charts/empty has no "
        "Chart.yaml; point chart: at a Helm chart directory"
    )


def test_missing_local_chart_directory(tmp_path: Path) -> None:
    text = releases("  - name: api\n    namespace: api\n    chart: ../../charts/nope\n")
    root = repository(tmp_path, **{"overlays/dev/releases.yaml": text})

    message = environment_error(root)

    assert message.startswith(
        "overlays/dev/releases.yaml:4: release 'api': chart '../../charts/nope' is not a "
        "directory (looked in charts/nope)"
    )


def test_environment_directory_symlink_leaving_the_repository_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(tmp_path, {"elsewhere/releases.yaml": "releases: []\n"})
    repository(root)
    (root / "overlays/staging").symlink_to(tmp_path / "elsewhere", target_is_directory=True)

    message = environment_error(root, "staging")

    assert message.startswith("environment 'staging': 'overlays/staging' leads outside")


def test_yaml_problems_in_releases_yaml_carry_the_file(tmp_path: Path) -> None:
    text = "releases:\n  - &api {name: api, namespace: api, chart: ../../charts/api}\n"
    root = repository(tmp_path, **{"overlays/dev/releases.yaml": text})

    assert environment_error(root).startswith("overlays/dev/releases.yaml:2: YAML anchor '&api'")


# --- safe_path ----------------------------------------------------------------------------


def test_safe_path_resolves_inside_the_root(tmp_path: Path) -> None:
    root = write(tmp_path, {"a/b/x.yaml": ""}).resolve()

    assert safe_path(root, root / "a" / "b", "../b/./x.yaml", where="w") == root / "a/b/x.yaml"


@pytest.mark.parametrize("relative", ["../../x", "b/../../../x", "", "/etc/passwd", "a\x00b"])
def test_safe_path_refuses_escapes_and_nonsense(tmp_path: Path, relative: str) -> None:
    (tmp_path / "a").mkdir()

    with pytest.raises(InputError, match=r"^here: '"):
        safe_path(tmp_path, tmp_path / "a", relative, where="here")


def test_safe_path_refuses_a_symlinked_parent(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "a").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", root / "a" / "out")

    with pytest.raises(InputError, match="leads outside the repository"):
        safe_path(root, root / "a", "out/file.yaml", where="here")


def test_environment_lookup_returns_the_environment(tmp_path: Path) -> None:
    config: Config = load_config(repository(tmp_path))

    staging: Environment = config.environment("staging")

    assert staging.name == "staging"


# --- diff.ignore ----------------------------------------------------------------------------


def test_diff_ignore_rules_load_with_unescaped_pointers(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "toolkit.yaml": (
                "environments: [{name: dev}]\n"
                "diff:\n  ignore:\n"
                "    - kind: Deployment\n      name: web-*\n"
                "      jsonPointers: [/metadata/annotations/checksum~1config, /spec/x~0y]\n"
                "    - {group: policy, kind: PodDisruptionBudget, namespace: web}\n"
            )
        },
    )
    config = load_config(tmp_path)
    assert config.diff_ignore == (
        DiffIgnore(
            None,
            "Deployment",
            "web-*",
            None,
            (("metadata", "annotations", "checksum/config"), ("spec", "x~y")),
        ),
        DiffIgnore("policy", "PodDisruptionBudget", None, "web", ()),
    )
    assert (
        load_config(
            write(tmp_path / "b", {"toolkit.yaml": "environments: [{name: dev}]\n"})
        ).diff_ignore
        == ()
    )


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("{jsonPointers: [/a]}", "toolkit.yaml:4: diff.ignore[0] must name a kind or a name"),
        (
            "{kind: Deployment, jsonPointers: [spec/replicas]}",
            "toolkit.yaml:4: 'spec/replicas' is not a JSON pointer: start it with '/'",
        ),
        ("{kind: Deployment, pointers: [/a]}", "unknown key 'pointers' in diff.ignore[0]"),
        ("{kind: 3}", "diff.ignore[0].kind must be a string, found the number 3"),
    ],
)
def test_invalid_diff_ignore_rules(tmp_path: Path, rule: str, expected: str) -> None:
    write(
        tmp_path,
        {"toolkit.yaml": f"environments: [{{name: dev}}]\ndiff:\n  ignore:\n    - {rule}\n"},
    )
    assert expected in config_error(tmp_path)
