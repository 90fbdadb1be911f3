"""YAML as Kubernetes reads it (the rules each checked against helm 3 and 4 by test_fidelity's
generated scalars and corpus); here the cases one by one, and the writer that keeps them."""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml

from toolkit.infra import kubescalars, kubeyaml


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("y", True),
        ("NO", False),
        ("on", True),
        ("Off", False),
        ("tRUE", "tRUE"),
        ("~", None),
        ("Null", None),
        ("nULL", "nULL"),
        ("0o755", 493),
        ("0755", 493),
        ("0x1F", 31),
        ("0b101", 5),
        ("-0b101", -5),
        ("1_000", 1000),
        ("0x_1F", 31),
        ("9223372036854775807", 9223372036854775807),
        ("18446744073709551615", 18446744073709551615),
        ("18446744073709551616", 1.8446744073709552e19),
        ("08", 8.0),
        ("1e3", 1000.0),
        ("1_e3", 1000.0),
        (".5e3", 500.0),
        ("5.", 5.0),
        ("1e400", "1e400"),
        ("0x1p3", "0x1p3"),
        ("inf", "inf"),
        ("0o8", "0o8"),
        ("0x", "0x"),
        ("_1", "_1"),
        ("1:30", "1:30"),
        ("12:30:00", "12:30:00"),
        ("2024-01-01", "2024-01-01"),
        ("2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z"),
        ("=", "="),
        ("=~", "=~"),
        ("<<", "<<"),
    ],
)
def test_plain_scalars_resolve_as_go_yaml_v2(text: str, value: Any) -> None:
    resolved = kubescalars.plain_value(text)
    assert resolved == value and type(resolved) is type(value)


def test_special_floats_resolve_but_cannot_become_json() -> None:
    assert math.isinf(kubescalars.plain_value("-.Inf")) and math.isnan(kubeyaml.plain_value(".NaN"))
    with pytest.raises(kubeyaml.KubeYamlError, match=r"'\.inf' is not a number JSON can hold"):
        kubeyaml.load("a:\n  b: .inf\n")


def test_keys_become_the_strings_kubernetes_names_them() -> None:
    text = "y: a\n1e3: b\n0x10: c\n1.5: d\n16777217.0: e\n1e20: f\n-.inf: g\n0.00001: h\n"

    assert kubeyaml.load(text) == {
        "true": "a",
        "1000": "b",
        "16": "c",
        "1.5": "d",
        "1.6777216e+07": "e",  # Go formats float keys with float32 precision
        "1e+20": "f",
        "-.inf": "g",
        "1e-05": "h",
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("~: x\n", "a null key is not allowed"),
        ("18446744073709551615: x\n", "unsupported map key of type uint64"),
        ("[a]: x\n", "a mapping or list is not allowed as a key"),
        ("<<: [1]\n", r"map merge \(<<\) requires a mapping or a list of mappings"),
        ("a: !!int abc\n", "cannot decode !!str `abc` as a !!int"),
    ],
)
def test_what_kubernetes_cannot_read_is_an_error_with_its_line(text: str, problem: str) -> None:
    with pytest.raises(kubeyaml.KubeYamlError, match=problem) as caught:
        kubeyaml.load(text)
    assert caught.value.line == 1


def test_merge_keys_apply_in_order_and_the_first_of_a_list_wins() -> None:
    text = (
        "base: &base {a: 1, b: 1}\nother: &other {a: 2, c: 2}\n"
        "before: {<<: *base, a: 9}\nafter: {a: 9, <<: *base}\nboth: {<<: [*base, *other]}\n"
    )

    loaded = kubeyaml.load(text)

    assert loaded["before"] == {"a": 9, "b": 1}
    assert loaded["after"] == {"a": 1, "b": 1}  # go-yaml v2: the merge overrides what came before
    assert loaded["both"] == {"a": 1, "b": 1, "c": 2}


def test_explicit_tags_are_decoded_as_go_yaml_v2_decodes_them() -> None:
    text = "a: !!str 123\nb: !!int '12'\nc: !!float 1\nd: !!binary aGVsbG8=\ne: !custom 12\n"

    assert kubeyaml.load(text) == {"a": "123", "b": 12, "c": 1.0, "d": "hello", "e": "12"}


def test_a_million_brackets_are_measured_without_recursion() -> None:
    # Newer libyaml builds stop at their own depth limit first; either way it is one message.
    with pytest.raises(kubeyaml.KubeYamlError, match=r"nested more than 200|nesting depth"):
        kubeyaml.load("[" * 1_000_000 + "]" * 1_000_000)


@pytest.mark.parametrize(
    "value",
    [
        "y",
        "n",
        "NO",
        "1e3",
        "0o755",
        "0755",
        "1:30",
        "12:30",
        "=",
        "=~",
        "2024-01-01",
        "~",
        "",
        "1_000",
        ".inf",
        "0x1F",
        "true",
        "null",
        "08",
        "-",
        "<<",
        " lead",
        "trail ",
        "a: b",
        "#c",
    ],
)
def test_a_written_string_reads_back_unchanged_everywhere(value: str) -> None:
    text = kubeyaml.dump({"k": value})

    assert kubeyaml.load(text) == {"k": value}
    assert yaml.safe_load(text) == {"k": value}  # YAML 1.1 (PyYAML) reads it the same


def test_multi_line_strings_are_written_as_literal_blocks() -> None:
    config = "[server]\nroot_url = https://example.com\n  indented = yes\n"

    text = kubeyaml.dump({"grafana.ini": config, "n": 1e3, "big": 18446744073709551615})

    assert text.startswith("grafana.ini: |\n  [server]\n")
    assert kubeyaml.load(text) == {"grafana.ini": config, "n": 1000.0, "big": 18446744073709551615}
