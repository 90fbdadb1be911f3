from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import config_repository, write_tree
from toolkit.config.project import load_config
from toolkit.config.releases import LocalChart, OciChart, RepoChart, load_environment
from toolkit.infra.errors import InputError


def environment_error(root: Path, env: str = "dev") -> str:
    config = load_config(root)
    with pytest.raises(InputError) as caught:
        load_environment(config, config.environment(env))
    return str(caught.value)


def releases(*entries: str) -> str:
    return "releases:\n" + "".join(entries)


# --- the happy path -----------------------------------------------------------------------


def test_environment_spec_of_a_realistic_environment(tmp_path: Path) -> None:
    root = config_repository(tmp_path).resolve()
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
    config = load_config(config_repository(tmp_path))
    (tmp_path / "overlays/staging").mkdir()

    spec = load_environment(config, config.environment("staging"))

    assert spec.releases == ()
    assert spec.kustomization is None
    assert spec.releases_file is None


def test_kustomization_spellings_are_recognised(tmp_path: Path) -> None:
    root = config_repository(tmp_path, **{"overlays/staging/Kustomization": "resources: []\n"})
    config = load_config(root)

    spec = load_environment(config, config.environment("staging"))

    assert spec.kustomization == config.root / "overlays" / "staging"


def test_loaded_data_is_read_only_and_hashable(tmp_path: Path) -> None:
    config = load_config(config_repository(tmp_path))
    dev = config.environment("dev")
    spec = load_environment(config, dev)

    with pytest.raises(TypeError):
        dev.vars["domain"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        spec.releases[0].set["replicaCount"] = 3  # type: ignore[index]
    assert len({dev, config.environment("dev")}) == 1
    assert len({spec.releases[0], spec.releases[1]}) == 2


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
    root = config_repository(tmp_path, **{"overlays/dev/releases.yaml": text})

    assert environment_error(root).startswith(expected)


def test_empty_releases_yaml_has_no_releases(tmp_path: Path) -> None:
    root = config_repository(tmp_path, **{"overlays/dev/releases.yaml": "releases:\n"})
    config = load_config(root)

    spec = load_environment(config, config.environment("dev"))

    assert spec.releases == ()
    assert spec.releases_file == config.root / "overlays/dev/releases.yaml"


def test_unknown_repository_alias_suggests_the_closest(tmp_path: Path) -> None:
    text = releases("  - name: podinfo\n    namespace: podinfo\n    chart: podinf/podinfo\n")
    root = config_repository(tmp_path, **{"overlays/dev/releases.yaml": text})

    assert environment_error(root) == (
        "overlays/dev/releases.yaml:4: release 'podinfo': unknown chart repository 'podinf' in "
        "chart 'podinf/podinfo' (did you mean 'podinfo'?); add it under repositories: in "
        "toolkit.yaml (defined: podinfo, registry), or, for a local chart in podinf/podinfo/ "
        "at the top of the repository, write chart: ../../podinf/podinfo (paths are relative "
        "to releases.yaml)"
    )


def test_the_hint_for_a_local_chart_is_a_path_that_works(tmp_path: Path) -> None:
    """The hint once said ./charts/payments, which is looked for beside releases.yaml."""
    text = releases("  - name: payments\n    namespace: payments\n    chart: charts/payments\n")
    root = config_repository(tmp_path, **{"overlays/dev/releases.yaml": text})
    hint = environment_error(root).split("write chart: ")[1].split(" ")[0]
    (root / "charts/payments").mkdir(parents=True)
    (root / "charts/payments/Chart.yaml").write_text(
        "apiVersion: v2\nname: payments\nversion: 1.0.0\n"
    )
    (root / "overlays/dev/releases.yaml").write_text(text.replace("charts/payments", hint))

    config = load_config(root)
    (release, *_) = load_environment(config, config.environment("dev")).releases

    assert hint == "../../charts/payments"
    assert release.chart == LocalChart(root / "charts/payments")


def test_alias_like_path_to_an_existing_directory_is_a_local_chart(tmp_path: Path) -> None:
    text = releases("  - name: api\n    namespace: api\n    chart: charts/api\n")
    root = config_repository(
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
    root = config_repository(tmp_path, **{"overlays/dev/releases.yaml": text})

    message = environment_error(root)

    assert message.startswith("overlays/dev/releases.yaml:4: release 'c': chart ")
    assert "put the version under version:" in message


def test_missing_values_file_says_where_it_looked(tmp_path: Path) -> None:
    root = config_repository(
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
    write_tree(tmp_path, {"secret.yaml": "password: hunter2\n"})
    config_repository(
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
    write_tree(tmp_path, {"secret.yaml": "password: hunter2\n"})
    config_repository(
        root, **{"overlays/dev/releases.yaml": releases(API, "    values: [values/link.yaml]\n")}
    )
    (root / "overlays/dev/values/link.yaml").symlink_to(tmp_path / "secret.yaml")

    message = environment_error(root)

    assert message.startswith(
        "overlays/dev/releases.yaml:5: release 'api': values file: 'values/link.yaml' "
        "leads outside the repository"
    )


def test_values_symlink_inside_the_repository_is_followed(tmp_path: Path) -> None:
    root = config_repository(
        tmp_path,
        **{"overlays/dev/releases.yaml": releases(API, "    values: [values/link.yaml]\n")},
    )
    (root / "overlays/dev/values/link.yaml").symlink_to(root / "overlays/dev/values/api.yaml")
    config = load_config(root)

    (release,) = load_environment(config, config.environment("dev")).releases

    assert release.values == (config.root / "overlays/dev/values/api.yaml",)


def test_absolute_values_path_is_refused(tmp_path: Path) -> None:
    values = (tmp_path / "overlays/dev/values/api.yaml").as_posix()
    root = config_repository(
        tmp_path, **{"overlays/dev/releases.yaml": releases(API, f"    values: [{values}]\n")}
    )

    assert "is an absolute path; write it relative to overlays/dev/" in environment_error(root)


def test_chart_symlink_leaving_the_repository_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_tree(tmp_path, {"outside/Chart.yaml": "apiVersion: v2\nname: x\nversion: 1.0.0\n"})
    text = releases("  - name: api\n    namespace: api\n    chart: ../../charts/link\n")
    config_repository(root, **{"overlays/dev/releases.yaml": text})
    (root / "charts/link").symlink_to(tmp_path / "outside", target_is_directory=True)

    message = environment_error(root)

    assert message.startswith(
        "overlays/dev/releases.yaml:4: release 'api': chart: '../../charts/link' leads outside "
        "the repository"
    )


def test_local_chart_without_chart_yaml_is_refused(tmp_path: Path) -> None:
    text = releases("  - name: api\n    namespace: api\n    chart: ../../charts/empty\n")
    root = config_repository(
        tmp_path, **{"overlays/dev/releases.yaml": text, "charts/empty/README": ""}
    )

    assert environment_error(root) == (
        "overlays/dev/releases.yaml:4: release 'api': chart directory charts/empty has no "
        "Chart.yaml; point chart: at a Helm chart directory"
    )


def test_missing_local_chart_directory(tmp_path: Path) -> None:
    text = releases("  - name: api\n    namespace: api\n    chart: ../../charts/nope\n")
    root = config_repository(tmp_path, **{"overlays/dev/releases.yaml": text})

    message = environment_error(root)

    assert message.startswith(
        "overlays/dev/releases.yaml:4: release 'api': chart '../../charts/nope' is not a "
        "directory (looked in charts/nope)"
    )


def test_environment_directory_symlink_leaving_the_repository_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_tree(tmp_path, {"elsewhere/releases.yaml": "releases: []\n"})
    config_repository(root)
    (root / "overlays/staging").symlink_to(tmp_path / "elsewhere", target_is_directory=True)

    message = environment_error(root, "staging")

    assert message.startswith("environment 'staging': 'overlays/staging' leads outside")


def test_yaml_problems_in_releases_yaml_carry_the_file(tmp_path: Path) -> None:
    text = "releases:\n  - *api\n"
    root = config_repository(tmp_path, **{"overlays/dev/releases.yaml": text})

    assert environment_error(root).startswith("overlays/dev/releases.yaml:2: alias '*api' refers")
