"""What a kustomize build can read, found in real directory trees."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import make_repo
from toolkit.config.project import Config, load_config
from toolkit.render import kustomizeinputs

FILES = {
    "toolkit.yaml": "environments: [{name: dev}, {name: staging}]\n",
    "overlays/base/kustomization.yaml": "resources: [deployment.yaml]\n",
    "overlays/base/deployment.yaml": "kind: Deployment\n",
    "overlays/dev/kustomization.yaml": (
        "resources: [../base, ../../common/extra]\n"
        "configMapGenerator: [{name: c, files: [later.txt]}]\n"
    ),
    "overlays/staging/kustomization.yaml": "resources: [../base]\n",
    "overlays/staging/values.yaml": "a: 1\n",
    "common/extra/kustomization.yaml": "resources: [configmap.yaml]\n",
    "common/extra/configmap.yaml": "kind: ConfigMap\n",
    "common/unused.yaml": "kind: Secret\n",
}


def test_the_files_a_build_can_read(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES, example=False)
    config = load_config(repo)

    found = kustomizeinputs.find(config, config.environment("dev"))

    relative = {p.relative_to(config.root).as_posix() for p in found.files}
    assert relative == {
        "overlays/base/kustomization.yaml",
        "overlays/base/deployment.yaml",
        "overlays/dev/kustomization.yaml",
        "common/extra/kustomization.yaml",
        "common/extra/configmap.yaml",
    }
    # A path named but missing today (kustomize would read it once it exists) is still named.
    assert config.root / "overlays/dev/later.txt" in found.named


def test_another_environment_is_read_only_where_the_overlay_names_it(tmp_path: Path) -> None:
    files = {**FILES, "overlays/dev/kustomization.yaml": "resources: [../staging]\n"}
    repo = make_repo(tmp_path / "repo", files, example=False)
    config = load_config(repo)

    found = kustomizeinputs.find(config, config.environment("dev"))

    assert config.root / "overlays/staging/values.yaml" in found.files
    assert (
        config.root / "overlays/dev/kustomization.yaml"
        not in kustomizeinputs.find(config, config.environment("staging")).files
    )


def test_the_digest_keys_on_content_and_repository_relative_paths(tmp_path: Path) -> None:
    one = load_config(make_repo(tmp_path / "one", FILES, example=False))
    two = load_config(make_repo(tmp_path / "two", FILES, example=False))

    def digest(config: Config) -> str:
        env = config.environment("dev")
        inputs = kustomizeinputs.find(config, env)
        return kustomizeinputs.digest(config, env.directory, inputs.files, {})

    assert digest(one) == digest(two)
    (two.root / "common/extra/configmap.yaml").write_text("kind: ConfigMap\ndata: {a: b}\n")
    assert digest(one) != digest(two)


def test_a_base_above_the_configuration_is_read_and_named_from_its_root(tmp_path: Path) -> None:
    """A monorepo keeps its toolkit configuration in a subdirectory; a kustomization may take a
    base from elsewhere in the work tree. It is hashed like any input (by its path from the
    configuration, the same in every clone), and a path outside the configuration makes the
    environment's reads unprovable from the configuration's history alone."""
    files = {f"gitops/{name}": text for name, text in FILES.items()}
    files["gitops/overlays/dev/kustomization.yaml"] = "resources: [../../../common/extra]\n"
    files["common/extra/kustomization.yaml"] = "resources: [configmap.yaml]\n"
    files["common/extra/configmap.yaml"] = "kind: ConfigMap\n"
    top = make_repo(tmp_path / "monorepo", files, example=False)
    config = load_config(top / "gitops")
    dev = config.environment("dev")

    found = kustomizeinputs.find(config, dev)

    assert top.resolve() / "common/extra/configmap.yaml" in found.files
    before = kustomizeinputs.digest(config, dev.directory, found.files, {})
    (top / "common/extra/configmap.yaml").write_text("kind: ConfigMap\ndata: {a: b}\n")
    assert kustomizeinputs.digest(config, dev.directory, found.files, {}) != before
