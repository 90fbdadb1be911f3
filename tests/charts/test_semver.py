"""toolkit.charts.semver against Masterminds/semver's and Helm's own test vectors, plus properties.

The vectors are data kept in the repository (tests/data/semver, copied unedited from the
upstream tables its README names): every row of every table is a test case here, read at
collection time. A missing table is a collection error, never a skip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.charts.semver import (
    first_match,
    nearest,
    parse_constraint,
    parse_version,
    satisfies,
    select,
    select_oci,
)
from toolkit.infra.errors import InputError

VECTORS = Path(__file__).resolve().parents[1] / "data" / "semver"
# versions.tsv functions that are Helm's: lenient parsing everywhere, strict for OCI tags.
HELM_PARSERS = {"NewVersion": False, "StrictNewVersion": True}


def rows(name: str, *, header: bool = False) -> list[tuple[int, tuple[str, ...]]]:
    """(line number, columns) of every row of a vector table; the table must be there."""
    table = VECTORS / name
    if not table.is_file():
        raise FileNotFoundError(
            f"the semver test vectors are missing: {table} (restore tests/data)"
        )
    lines = table.read_text(encoding="utf-8").splitlines()
    start = 2 if header else 1
    return [
        (number, tuple(line.split("\t")))
        for number, line in enumerate(lines[start - 1 :], start=start)
        if line
    ]


def vectors(name: str, *, header: bool = False) -> list[Any]:
    """One pytest param per row of a vector table."""
    return [
        pytest.param(row, id=f"{name}:{number}:{' '.join(row)}")
        for number, row in rows(name, header=header)
    ]


def helm_version_vectors() -> list[Any]:
    """versions.tsv rows of the parsers Helm calls; the other Masterminds modes are not Helm's."""
    return [param for param in vectors("versions.tsv") if param.values[0][2] in HELM_PARSERS]


@pytest.mark.parametrize("row", vectors("cases.tsv"))
def test_constraint_vector(row: tuple[str, str, str]) -> None:
    constraint, version, expected = row
    if constraint:
        assert satisfies(constraint, version) is (expected == "true")
    else:
        # Empty-constraint rows come from Masterminds' internal parser, where "" means "*";
        # Helm's pick gives an empty request the same meaning.
        assert select(constraint, [version]) == (version if expected == "true" else None)


def test_an_empty_constraint_is_rejected_by_the_public_parser() -> None:
    with pytest.raises(InputError, match="it is empty"):
        parse_constraint("")


@pytest.mark.parametrize("row", vectors("invalid.tsv"))
def test_invalid_constraint_vector(row: tuple[str]) -> None:
    (constraint,) = row
    with pytest.raises(InputError) as raised:
        parse_constraint(constraint)
    message = str(raised.value)
    assert repr(constraint) in message
    assert "valid examples: '1.2.3', '^1.2'" in message


def test_version_vectors_outside_helms_modes_are_only_the_coerce_off_modes() -> None:
    # Helm parses with NewVersion (coercion on) and StrictNewVersion; the tables' other rows
    # test Masterminds options Helm never sets, so they are left out, not skipped.
    functions = {row[2] for _, row in rows("versions.tsv")}
    assert functions - set(HELM_PARSERS) == {
        "NewVersion[CoerceNewVersion=false]",
        "NewVersion[CoerceNewVersion=false,DetailedNewVersionErrors=false]",
    }


@pytest.mark.parametrize("row", helm_version_vectors())
def test_version_vector(row: tuple[str, str, str]) -> None:
    text, valid, function = row
    text = text.replace("\\n", "\n")
    if valid == "true":
        parse_version(text, strict=HELM_PARSERS[function])
    else:
        with pytest.raises(InputError, match="is not a"):
            parse_version(text, strict=HELM_PARSERS[function])


@pytest.mark.parametrize("row", vectors("compare.tsv", header=True))
def test_compare_vector(row: tuple[str, ...]) -> None:
    first, operation, second, expected = row[:4]
    order = parse_version(first).compare(parse_version(second))
    if operation == "Compare":
        assert order == int(expected)
        return
    outcomes = {
        "LessThan": order < 0,
        "LessThanEqual": order <= 0,
        "GreaterThan": order > 0,
        "GreaterThanEqual": order >= 0,
        "Equal": order == 0,
    }
    assert outcomes[operation] is (expected == "true")


@pytest.mark.parametrize("row", vectors("helm_selection.tsv", header=True))
def test_helm_selection_vector(row: tuple[str, ...]) -> None:
    function, candidates_text, requested_text, expected, _source, note = row
    candidates = ["0.1.0"] if candidates_text == "(any)" else candidates_text.split(",")
    requested = helm_request(requested_text)
    if function.startswith("resolver.Resolve (file://"):
        # A local chart's version is checked against the constraint.
        assert satisfies(requested, candidates[0]) is (expected != "ERROR")
    elif function.startswith("search repo --versions"):
        matching = [version for version in candidates if satisfies(requested, version)]
        assert matching == expected.split(",")
    elif expected == "ERROR" and "invalid constraint" in note:
        with pytest.raises(InputError):
            pick(function, requested, candidates)
    else:
        chosen = pick(function, requested, candidates)
        assert chosen in (expected.split("|") if expected != "ERROR" else [None])


def helm_request(text: str) -> str:
    """The constraint a row asks for: "(empty)" is "", "(empty; --devel => >0.0.0-0)" is what
    Helm substitutes."""
    if not text.startswith("(empty"):
        return text
    return text.rstrip(")").split("=> ")[1] if "=>" in text else ""


def pick(function: str, requested: str, candidates: list[str]) -> str | None:
    if function.startswith("registry."):
        return first_match(requested, candidates)  # evaluated in the row's order
    return select(requested, candidates)


def test_select_takes_the_highest_satisfying_version_in_any_order() -> None:
    assert select("^1.0.0", ["1.0.0", "2.0.0", "1.4.2", "0.9.0", "1.10.0"]) == "1.10.0"


def test_select_prefers_an_exact_string_over_a_higher_match() -> None:
    # "1.0" as a constraint is ~1.0, which 1.0.5 satisfies, but the entry "1.0" is named.
    assert select("1.0", ["1.0.5", "1.0"]) == "1.0"
    assert select("v1.0.0", ["1.0.0", "v1.0.0"]) == "v1.0.0"


def test_select_with_no_constraint_takes_the_highest_release() -> None:
    versions = ["1.0.0", "2.0.0-rc.1", "1.5.0"]
    assert select(None, versions) == "1.5.0"
    assert select("", versions) == "1.5.0"


def test_select_admits_prereleases_only_where_the_group_opts_in() -> None:
    versions = ["1.0.0", "2.0.0-rc.1"]
    assert select(">=1.0.0", versions) == "1.0.0"
    assert select(">=1.0.0-0", versions) == "2.0.0-rc.1"
    assert select(">=1.0.0-0 || >=1.0.0", versions) == "2.0.0-rc.1"
    assert select("^2.0.0-0 || ^1.0.0", versions) == "2.0.0-rc.1"
    assert select("^3.0.0-0 || >=1.0.0", versions) == "1.0.0"


def test_select_skips_invalid_versions_and_keeps_order_between_equals() -> None:
    assert select("*", ["latest", "1.0.0+b", "not.a.version", "1.0.0+a"]) == "1.0.0+b"
    assert select("*", ["latest"]) is None


def test_select_returns_none_when_nothing_satisfies() -> None:
    assert select(">=3", ["1.0.0", "2.0.0"]) is None


def test_select_rejects_a_bad_constraint_even_if_an_entry_spells_it() -> None:
    with pytest.raises(InputError, match="'a1' is not a version"):
        select(">a1", [">a1", "1.0.0"])


def test_select_oci_uses_a_version_request_as_the_tag() -> None:
    assert select_oci("1.2.3", ["1.0.0"]) == "1.2.3"
    assert select_oci("v1.2", []) == "v1.2"


def test_select_oci_takes_the_highest_strict_tag() -> None:
    tags = ["0.5.0", "1.0.0", "1.1.0", "2.0.0", "v1.9.0", "1.8", "latest", "01.7.0"]
    assert select_oci("^1.0.0", tags) == "1.1.0"
    assert select_oci(None, tags) == "2.0.0"
    assert select_oci(">=3", tags) is None


def test_select_oci_reads_underscore_as_build_metadata() -> None:
    assert select_oci("^1.0", ["0.9.0", "1.0.0_build.7"]) == "1.0.0+build.7"


def test_select_oci_rejects_a_bad_constraint() -> None:
    with pytest.raises(InputError, match="invalid version constraint '>a1'"):
        select_oci(">a1", ["1.0.0"])


def test_first_match_keeps_the_given_order() -> None:
    assert first_match("^1.0.0", ["1.0.0", "1.1.0"]) == "1.0.0"
    assert first_match("1.2.3", ["1.3.0", "1.2.3"]) == "1.2.3"


def test_nearest_names_neighbours_of_the_bound_before_the_highest() -> None:
    versions = ["0.1.0", "1.8.0", "1.9.0", "2.1.0-rc.1", "3.0.0", "3.1.0", "bogus"]
    assert nearest("^2.0.0", versions, n=2) == ["2.1.0-rc.1", "1.9.0"]
    assert nearest("^2.0.0", versions) == ["3.1.0", "3.0.0", "2.1.0-rc.1", "1.9.0", "1.8.0"]


def test_nearest_covers_every_alternative_and_handles_few_versions() -> None:
    assert nearest("<0.1 || >5", ["1.0.0", "6.0.0-rc.1", "2.0.0"], n=2) == ["6.0.0-rc.1", "1.0.0"]
    assert nearest("^9", []) == []
    assert nearest("^9", ["1.0.0", "1.0.0"], n=0) == []


def test_satisfies_rejects_an_invalid_version() -> None:
    with pytest.raises(InputError, match="'latest' is not a version"):
        satisfies("*", "latest")


@pytest.mark.parametrize(
    ("constraint", "problem"),
    [
        ("", "it is empty"),
        (">=1.0 ||", "an alternative of '||' is empty"),
        (">=1.0 | <2", "use '||' between alternatives"),
        (">=1.0,", "ends with a comma"),
        (">=1.0 <", "operator '<' has no version after it"),
        ("== 1.0", "unknown operator '=='"),
        ("1.0 ,, 2.0", "unexpected ','"),
        ("1.2.3-beta.01", "leading zero"),
        ("1" * 1025, "longer than 1024 characters"),
    ],
)
def test_constraint_errors_say_what_is_wrong(constraint: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        parse_constraint(constraint)


def test_parse_version_normalises_lenient_forms() -> None:
    assert str(parse_version("v1.2")) == "1.2.0"
    assert str(parse_version("01.2-rc.1+build")) == "1.2.0-rc.1+build"
    with pytest.raises(InputError, match="not a strict version"):
        parse_version("v1.2.3", strict=True)


# Hypothesis: small numbers so that generated constraints and versions often meet.
numbers = st.integers(0, 3).map(str)
prereleases = st.sampled_from(["", "", "-0", "-alpha", "-alpha.1", "-beta", "-rc.2"])
versions = st.builds(
    lambda major, minor, patch, pre, build: f"{major}.{minor}.{patch}{pre}{build}",
    numbers,
    numbers,
    numbers,
    prereleases,
    st.sampled_from(["", "", "+build.1", "+meta"]),
)
partials = st.builds(
    lambda parts, length, pre: ".".join(parts[:length]) + pre,
    st.lists(numbers | st.sampled_from(["x", "X", "*"]), min_size=3, max_size=3),
    st.integers(1, 3),
    prereleases,
)
operators = st.sampled_from(["", "=", "!=", ">", "<", ">=", "=>", "<=", "=<", "~", "~>", "^"])
comparators = st.builds(
    lambda operator, space, version: f"{operator}{space}{version}",
    operators,
    st.sampled_from(["", " "]),
    partials,
)
and_groups = st.builds(
    lambda parts, separator: separator.join(parts),
    st.lists(comparators, min_size=1, max_size=3),
    st.sampled_from([" ", ", "]),
)
constraints = st.lists(and_groups, min_size=1, max_size=2).map(" || ".join)


@given(constraints, st.lists(versions, max_size=8))
def test_select_is_the_highest_satisfying_unless_named_exactly(
    constraint: str, candidates: list[str]
) -> None:
    chosen = select(constraint, candidates)
    if constraint in candidates:
        assert chosen == constraint
        return
    accepted = [version for version in candidates if satisfies(constraint, version)]
    # max() keeps the first of equals, as Helm's pick does for equal precedence.
    assert chosen == (max(accepted, key=parse_version) if accepted else None)


@given(constraints, versions)
def test_a_v_prefix_on_the_version_changes_nothing(constraint: str, version: str) -> None:
    assert satisfies(constraint, f"v{version}") is satisfies(constraint, version)


@given(st.integers(1, 10**6), st.integers(0, 10**6), st.integers(0, 10**6), prereleases)
def test_caret_accepts_its_own_version(major: int, minor: int, patch: int, pre: str) -> None:
    version = f"{major}.{minor}.{patch}{pre}"
    assert satisfies(f"^{version}", version)


@given(constraints, constraints, versions)
def test_an_or_accepts_the_union(first: str, second: str, version: str) -> None:
    either = satisfies(first, version) or satisfies(second, version)
    assert satisfies(f"{first} || {second}", version) is either
