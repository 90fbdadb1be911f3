from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import write_tree
from toolkit.config.project import Environment, Location
from toolkit.config.releases import LocalChart, Release
from toolkit.infra import process
from toolkit.infra.errors import InputError
from toolkit.render import tools
from toolkit.render.values import (
    deep_merge,
    merged_values,
)


def environment(root: Path, **vars: Any) -> Environment:
    return Environment(
        name="production",
        kube_version="1.33.0",
        api_versions=("monitoring.coreos.com/v1",),
        vars=MappingProxyType(vars),
        directory=root / "overlays" / "production",
    )


def release(root: Path, *values: str, set: Mapping[str, Any] | None = None) -> Release:
    directory = root / "overlays" / "production"
    return Release(
        name="api",
        namespace="api-ns",
        chart=LocalChart(root / "charts" / "api"),
        version=None,
        values=tuple(directory / value for value in values),
        set=MappingProxyType(dict(set or {})),
        location=Location(directory / "releases.yaml", 2, root),
    )


def values_of(root: Path, files: dict[str, str | bytes], **kwargs: Any) -> dict[str, Any]:
    write_tree(root, {f"overlays/production/{name}": text for name, text in files.items()})
    env = environment(root, domain="example.com", tier="gold")
    return merged_values(release(root, *files, **kwargs), env, root=root).values


def values_error(root: Path, files: dict[str, str | bytes]) -> str:
    with pytest.raises(InputError) as caught:
        values_of(root, files)
    return str(caught.value)


# --- Helm's merge rules -------------------------------------------------------------------


def test_nested_maps_merge_and_later_scalars_win() -> None:
    base = {"image": {"repository": "api", "tag": "1.0"}, "replicas": 1, "labels": {"a": "1"}}
    override = {"image": {"tag": "2.0"}, "replicas": 3, "labels": {"b": "2"}}

    assert deep_merge(base, override) == {
        "image": {"repository": "api", "tag": "2.0"},
        "replicas": 3,
        "labels": {"a": "1", "b": "2"},
    }


def test_lists_are_replaced_wholesale() -> None:
    assert deep_merge({"args": ["a", "b"]}, {"args": ["c"]}) == {"args": ["c"]}


def test_a_map_replaces_a_scalar_and_a_scalar_replaces_a_map() -> None:
    assert deep_merge({"a": 1, "b": {"x": 1}}, {"a": {"y": 2}, "b": "off"}) == {
        "a": {"y": 2},
        "b": "off",
    }


def test_null_replaces_so_that_helm_deletes_the_key() -> None:
    merged = deep_merge({"resources": {"limits": {"cpu": 1}}, "debug": True}, {"debug": None})

    assert merged == {"resources": {"limits": {"cpu": 1}}, "debug": None}
    assert deep_merge(merged, {"debug": {"level": 2}}) == {
        "resources": {"limits": {"cpu": 1}},
        "debug": {"level": 2},
    }


def test_merge_does_not_modify_its_arguments() -> None:
    base = {"a": {"b": 1}}
    override = {"a": {"c": 2}}

    deep_merge(base, override)

    assert base == {"a": {"b": 1}}
    assert override == {"a": {"c": 2}}


scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
values_trees = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=12,
)
values_maps = st.dictionaries(st.text(max_size=3), values_trees, max_size=4)


@given(values_maps)
def test_merging_with_empty_is_identity(values: dict[str, Any]) -> None:
    assert deep_merge(values, {}) == values
    assert deep_merge({}, values) == values


@given(values_maps, st.dictionaries(st.text(max_size=3), scalars, max_size=4))
def test_later_scalars_win(base: dict[str, Any], override: dict[str, Any]) -> None:
    merged = deep_merge(base, override)

    for key, value in override.items():
        assert merged[key] == value
    assert set(merged) == set(base) | set(override)


@given(values_maps, values_maps)
def test_merging_a_map_onto_itself_is_idempotent(a: dict[str, Any], b: dict[str, Any]) -> None:
    merged = deep_merge(a, b)

    assert deep_merge(merged, b) == merged


def test_merged_values_match_helm_own_merging(tmp_path: Path, helm_tool: tools.Tool) -> None:
    """What helm renders from our one merged file equals what it renders from the same files
    given as -f ... --set: null deletes the chart's default in both."""
    write_tree(
        tmp_path,
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
            "chart/values.yaml": "foo: {a: 1}\nbar: 1\nkeep: {x: 1, z: 2}\nlist: [1, 2]\n",
            "chart/templates/cm.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
                "data:\n  values: {{ toJson .Values | quote }}\n"
            ),
            "overlays/production/values/a.yaml": "foo: {b: 2}\nkeep: {z: null}\nlist: [3]\n",
            "overlays/production/values/b.yaml": "foo: null\nbar: 2\n",
        },
    )
    env = environment(tmp_path)
    rel = release(tmp_path, "values/a.yaml", "values/b.yaml", set={"bar": 3})
    merged_file = tmp_path / "merged.yaml"
    merged_file.write_text(yaml.safe_dump(merged_values(rel, env, root=tmp_path).values))
    helm = (str(helm_tool.path), "template", "r", str(tmp_path / "chart"))

    ours = process.run((*helm, "-f", str(merged_file)), cwd=tmp_path).stdout
    theirs = process.run(
        (*helm, *(arg for path in rel.values for arg in ("-f", str(path))), "--set", "bar=3"),
        cwd=tmp_path,
    ).stdout

    assert ours == theirs
    assert b'\\"bar\\":3' in ours
    assert b"foo" not in ours


# --- values files -------------------------------------------------------------------------


def test_files_merge_in_order_then_set(tmp_path: Path) -> None:
    values = values_of(
        tmp_path,
        {
            "values/common.yaml": "image: {repository: api, tag: '1.0'}\nreplicaCount: 1\n",
            "values/api.yaml.j2": (
                "ingress:\n  host: api.{{ vars.domain }}\nimage:\n  tag: '{{ env.name }}-2.0'\n"
            ),
        },
        set={"replicaCount": 3, "image": {"pullPolicy": "Always"}},
    )

    assert values == {
        "image": {"repository": "api", "tag": "production-2.0", "pullPolicy": "Always"},
        "replicaCount": 3,
        "ingress": {"host": "api.example.com"},
    }


def test_template_sees_env_vars_and_release(tmp_path: Path) -> None:
    values = values_of(
        tmp_path,
        {
            "values/ctx.yaml.j2": (
                "name: {{ env.name }}\nkube: '{{ env.kubeVersion }}'\n"
                "apis: {{ env.apiVersions | tojson }}\ntier: {{ vars.tier }}\n"
                "release: {{ release.name }}/{{ release.namespace }}\n"
                "{% if env.name == 'production' %}replicas: 3{% endif %}\n"
            )
        },
    )

    assert values == {
        "name": "production",
        "kube": "1.33.0",
        "apis": ["monitoring.coreos.com/v1"],
        "tier": "gold",
        "release": "api/api-ns",
        "replicas": 3,
    }


def test_empty_values_file_contributes_nothing(tmp_path: Path) -> None:
    assert values_of(tmp_path, {"values/a.yaml": "# nothing\n", "values/b.yaml": "x: 1\n"}) == {
        "x": 1
    }


def test_values_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    assert values_error(tmp_path, {"values/a.yaml": "- a\n- b\n"}) == (
        "overlays/production/values/a.yaml:1: a values file holds a mapping at the top level "
        "(e.g. replicaCount: 2), found a list"
    )


def test_rendered_template_that_is_not_a_mapping(tmp_path: Path) -> None:
    message = values_error(tmp_path, {"values/a.yaml.j2": "{{ vars.domain }}\n"})

    assert message.startswith(
        "overlays/production/values/a.yaml.j2 (rendered):1: a values file holds a mapping"
    )


def test_values_anchors_merge_keys_and_duplicate_keys_read_as_helm_reads_them(
    tmp_path: Path,
) -> None:
    values = values_of(
        tmp_path,
        {"values/a.yaml": "a: &x {b: 1}\nc:\n  <<: *x\n  d: 2\nc: {<<: *x, e: 3}\n"},
    )

    assert values == {"a": {"b": 1}, "c": {"b": 1, "e": 3}}


def test_values_alias_bomb_is_refused_with_its_line(tmp_path: Path) -> None:
    lines = ["a: &a [" + ",".join(["x"] * 50) + "]"]
    lines += [f"{n}: &{n} [" + ",".join([f"*{p}"] * 50) + "]" for p, n in ("ab", "bc", "cd")]

    message = values_error(tmp_path, {"values/a.yaml": "\n".join(lines) + "\n"})

    assert message.startswith("overlays/production/values/a.yaml:3: YAML aliases add more than")


def test_values_non_utf8_is_refused(tmp_path: Path) -> None:
    message = values_error(tmp_path, {"values/a.yaml": b"a: \xff\n"})

    assert message.startswith("overlays/production/values/a.yaml:1: not valid UTF-8")


def test_template_non_utf8_is_refused(tmp_path: Path) -> None:
    message = values_error(tmp_path, {"values/a.yaml.j2": b"a: 1\nb: \xff\n"})

    assert message.startswith("overlays/production/values/a.yaml.j2:2: not valid UTF-8")


def test_template_cannot_change_the_environment_vars(tmp_path: Path) -> None:
    write_tree(
        tmp_path, {"overlays/production/values/a.yaml.j2": "n: {{ vars.hosts.append(1) }}\n"}
    )
    env = environment(tmp_path, hosts=[])

    merged_values(release(tmp_path, "values/a.yaml.j2"), env, root=tmp_path)

    assert env.vars == {"hosts": []}


# --- Jinja2 -------------------------------------------------------------------------------


def test_undefined_variable_names_it_and_what_exists(tmp_path: Path) -> None:
    message = values_error(tmp_path, {"values/a.yaml.j2": "a: 1\nhost: {{ vars.domian }}\n"})

    assert message == (
        "overlays/production/values/a.yaml.j2:2: 'dict object' has no attribute 'domian' "
        "(did you mean 'domain'?); variables available: env (name, kubeVersion, apiVersions), "
        "vars (domain, tier), release (name, namespace)"
    )


def test_undefined_top_level_name(tmp_path: Path) -> None:
    message = values_error(tmp_path, {"values/a.yaml.j2": "{{ environment.name }}\n"})

    assert message.startswith("overlays/production/values/a.yaml.j2:1: 'environment' is undefined")
    assert "variables available: env (" in message


def test_sandbox_refuses_python_internals(tmp_path: Path) -> None:
    message = values_error(tmp_path, {"values/a.yaml.j2": "a: 1\nb: {{ ''.__class__.__mro__ }}\n"})

    assert message.startswith(
        "overlays/production/values/a.yaml.j2:2: template refused: access to attribute "
        "'__class__' of 'str' object is unsafe"
    )
    assert "not Python internals" in message


def test_template_syntax_error_names_the_line(tmp_path: Path) -> None:
    message = values_error(tmp_path, {"values/a.yaml.j2": "a: 1\n{% if %}\n"})

    assert message.startswith("overlays/production/values/a.yaml.j2:2: template syntax error:")


def test_unknown_filter_is_a_syntax_error(tmp_path: Path) -> None:
    message = values_error(tmp_path, {"values/a.yaml.j2": "a: {{ 1 | nosuchfilter }}\n"})

    assert message.startswith(
        "overlays/production/values/a.yaml.j2:1: template syntax error: No filter named "
        "'nosuchfilter'"
    )


def test_runtime_error_in_a_template(tmp_path: Path) -> None:
    message = values_error(tmp_path, {"values/a.yaml.j2": "a: 1\n\nb: {{ 1 // 0 }}\n"})

    assert message.startswith("overlays/production/values/a.yaml.j2:3: template failed:")


def test_template_output_is_bounded(tmp_path: Path) -> None:
    text = "{% for i in range(1000) %}{{ 'x' * 100000 }}{% endfor %}\n"

    message = values_error(tmp_path, {"values/a.yaml.j2": text})

    assert "template output passes 10 MiB" in message


def test_include_inside_the_repository_works(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "overlays/production/common.j2": "shared: {{ vars.tier }}\n",
            "overlays/production/values/a.yaml.j2": (
                "{% include 'overlays/production/common.j2' %}own: 1\n"
            ),
        },
    )

    merged = merged_values(
        release(tmp_path, "values/a.yaml.j2"), environment(tmp_path, tier="gold"), root=tmp_path
    )
    assert merged.values == {"shared": "gold", "own": 1}
    production = (tmp_path / "overlays/production").resolve()
    assert set(merged.files) == {production / "values/a.yaml.j2", production / "common.j2"}


def test_include_leaving_the_repository_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_tree(tmp_path, {"secret.txt": "password: x\n"})
    write_tree(root, {"overlays/production/values/a.yaml.j2": "{% include '../secret.txt' %}\n"})

    with pytest.raises(InputError, match=r"^template '\.\./secret\.txt': .* leads outside"):
        merged_values(release(root, "values/a.yaml.j2"), environment(root), root=root)
