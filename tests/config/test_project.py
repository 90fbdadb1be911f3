from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import config_repository, write_tree
from toolkit.config.checks import DiffIgnore
from toolkit.config.project import Config, Environment, Location, load_config
from toolkit.infra.errors import InputError
from toolkit.infra.git import branch_name_problem
from toolkit.infra.paths import safe_path


def config_error(root: Path) -> str:
    with pytest.raises(InputError) as caught:
        load_config(root)
    return str(caught.value)


# --- the happy path -----------------------------------------------------------------------


def test_realistic_config_loads(tmp_path: Path) -> None:
    root = config_repository(tmp_path)

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


def test_minimal_config_takes_defaults(tmp_path: Path) -> None:
    write_tree(tmp_path, {"toolkit.yaml": "environments:\n  - name: dev\n"})

    config = load_config(tmp_path)

    assert config.rendered_branch == "rendered"
    assert config.branch_for("dev") == "rendered"
    assert config.repositories == {}
    assert config.promotion_copy == ()
    dev = config.environment("dev")
    assert (dev.kube_version, dev.api_versions, dict(dev.vars)) == (None, (), {})


def test_branch_for_substitutes_the_environment(tmp_path: Path) -> None:
    config = load_config(config_repository(tmp_path))

    assert config.branch_for("production") == "rendered/production"


def test_select_keeps_promotion_order(tmp_path: Path) -> None:
    config = load_config(config_repository(tmp_path))

    assert config.select([]) == config.environments
    assert [env.name for env in config.select(["production", "dev", "dev"])] == [
        "dev",
        "production",
    ]


def test_unknown_environment_suggests_the_closest(tmp_path: Path) -> None:
    config = load_config(config_repository(tmp_path))

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
    write_tree(tmp_path, {"toolkit.yaml": "# todo\n"})

    assert "toolkit.yaml is empty; list the environments" in config_error(tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "environment:\n  - name: dev\n",
            "toolkit.yaml:1: unknown key 'environment' in toolkit.yaml "
            "(did you mean 'environments'?); allowed keys: rendered, environments, "
            "repositories, promotion, diff, tools, validate, clusterScopedKinds",
        ),
        (
            "environments:\n  - name: dev\n    kubeversion: '1.30.0'\n",
            "toolkit.yaml:3: unknown key 'kubeversion' in environments[0] "
            "(did you mean 'kubeVersion'?); allowed keys: "
            "name, path, vars, kubeVersion, apiVersions",
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
    write_tree(tmp_path, {"toolkit.yaml": text})

    assert config_error(tmp_path) == expected
    assert config_error(tmp_path) == expected  # read back as parsed: the same line


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
    write_tree(tmp_path, {"toolkit.yaml": text})

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
    write_tree(tmp_path, {"toolkit.yaml": text})

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


# --- safe_path ----------------------------------------------------------------------------


def test_safe_path_resolves_inside_the_root(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"a/b/x.yaml": ""}).resolve()

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
    config: Config = load_config(config_repository(tmp_path))

    staging: Environment = config.environment("staging")

    assert staging.name == "staging"


# --- diff.ignore ----------------------------------------------------------------------------


def test_diff_ignore_rules_load_with_unescaped_pointers(tmp_path: Path) -> None:
    write_tree(
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
            write_tree(tmp_path / "b", {"toolkit.yaml": "environments: [{name: dev}]\n"})
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
    write_tree(
        tmp_path,
        {"toolkit.yaml": f"environments: [{{name: dev}}]\ndiff:\n  ignore:\n    - {rule}\n"},
    )
    assert expected in config_error(tmp_path)


def test_cluster_scoped_kinds_are_kinds_with_their_groups(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "toolkit.yaml": (
                "environments: [{name: dev}]\n"
                "clusterScopedKinds:\n"
                "  [ClusterIssuer.cert-manager.io, Fleet.fleet.example.com, Thing]\n"
            )
        },
    )

    assert load_config(tmp_path).cluster_scoped_kinds == {
        ("cert-manager.io", "ClusterIssuer"),
        ("fleet.example.com", "Fleet"),
        ("", "Thing"),
    }


def test_a_cluster_scoped_kind_that_is_not_a_kind_names_its_line(tmp_path: Path) -> None:
    write_tree(
        tmp_path, {"toolkit.yaml": "environments: [{name: dev}]\nclusterScopedKinds:\n  - a b\n"}
    )

    assert config_error(tmp_path) == (
        "toolkit.yaml:3: clusterScopedKinds: 'a b' is not a kind with its API group; write "
        "Kind.group as kubectl does, e.g. ClusterIssuer.cert-manager.io"
    )


_SEGMENTS = st.sampled_from(["a", "a-b", "a.b", "b"])
_PATHS = st.lists(_SEGMENTS, min_size=1, max_size=3).map("/".join)


@settings(max_examples=60, deadline=None)
@given(paths=st.lists(_PATHS, min_size=1, max_size=6))
def test_environment_directories_are_refused_exactly_when_two_nest(
    tmp_path_factory: pytest.TempPathFactory, paths: list[str]
) -> None:
    """Compared with every pair: a fleet's paths are checked against their sorted neighbours."""
    root = tmp_path_factory.mktemp("nesting")
    entries = "".join(f"  - {{name: env-{i}, path: {p}}}\n" for i, p in enumerate(paths))
    write_tree(root, {"toolkit.yaml": f"environments:\n{entries}"})
    nested = [
        (i, j)
        for i, inner in enumerate(paths)
        for j, outer in enumerate(paths[:i])
        if f"{inner}/".startswith(f"{outer}/") or f"{outer}/".startswith(f"{inner}/")
    ]
    if not nested:
        assert [env.path for env in load_config(root).environments] == paths
        return
    with pytest.raises(InputError, match="must not be the same or lie inside one another") as e:
        load_config(root)
    # It names two environments that do nest, at the line of the one listed later.
    named = re.match(
        r"toolkit.yaml:(\d+): environment 'env-(\d+)' .* and 'env-(\d+)'", str(e.value)
    )
    assert named is not None
    line, later, earlier = (int(group) for group in named.groups())
    assert (later, earlier) in nested and line == later + 2
