"""Helm-compatible versions and constraints (Masterminds/semver v3, as Helm uses it).

Versions are parsed leniently like Masterminds' `NewVersion` (a `v` prefix, `1.2` for
`1.2.0`), normalised, and ordered by the `semver` package. The constraint grammar and its
quirks (partial versions per operator, prereleases opted in per AND group) follow
Masterminds v3.4.0 exactly, the version in helm 4; shared/testdata/semver holds the
reference vectors. Helm 3.18 links v3.3.0, which opts prereleases in per comparator, so
there `>=1.0.0-0 <2` admits no prerelease; the lock pins exact versions, so either helm
then fetches what this module chose.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from semver import Version

from toolkit.infra.errors import InputError

__all__ = [
    "Comparator",
    "Constraint",
    "Version",
    "first_match",
    "nearest",
    "parse_constraint",
    "parse_version",
    "satisfies",
    "select",
    "select_oci",
]

# Go's \s is ASCII whitespace only; Python's would also take Unicode spaces.
_WS = r"[\t\n\f\r ]"
_IDENTIFIERS = r"[0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*"
# Masterminds' version part admits `|` too; such a number then fails to parse.
_PART = r"[0-9|xX*]+"
_CV = rf"v?{_PART}(?:\.{_PART})?(?:\.{_PART})?(?:-{_IDENTIFIERS})?(?:\+{_IDENTIFIERS})?"
_CV_PARTS = re.compile(
    rf"v?(?P<major>{_PART})(?:\.(?P<minor>{_PART}))?(?:\.(?P<patch>{_PART}))?"
    rf"(?:-(?P<pre>{_IDENTIFIERS}))?(?:\+{_IDENTIFIERS})?"
)
_LENIENT_VERSION = re.compile(
    r"v?(?P<major>[0-9]+)(?:\.(?P<minor>[0-9]+))?(?:\.(?P<patch>[0-9]+))?"
    rf"(?:-(?P<pre>{_IDENTIFIERS}))?(?:\+(?P<build>{_IDENTIFIERS}))?"
)
_RANGE = re.compile(rf"{_WS}*(?P<low>{_CV}){_WS}+-{_WS}+(?P<high>{_CV}){_WS}*")
_COMPARATOR = re.compile(rf"(?P<op>[=!<>~^]*){_WS}*(?P<version>[^\t\n\f\r ,]*)")
_SEPARATOR = re.compile(rf"{_WS}*(?P<comma>,)?{_WS}*")

_OPERATORS = {
    "": "=",
    "=": "=",
    "!=": "!=",
    ">": ">",
    "<": "<",
    ">=": ">=",
    "=>": ">=",
    "<=": "<=",
    "=<": "<=",
    "~": "~",
    "~>": "~",
    "^": "^",
}
_WILDCARDS = ("x", "X", "*")
_MAX_NUMBER = 2**64 - 1  # Go parses version numbers as uint64
# Helm sets no limit; this one keeps the quadratic range rewrite cheap on hostile input.
_MAX_CONSTRAINT_LENGTH = 1024
_EXAMPLES = (
    "valid examples: '1.2.3', '^1.2', '~1.2.3', '1.x', '>=1.2.0 <2.0.0', '>=1.2, <2', "
    "'1.0.0 - 2.0.0', '^1.0 || ^2.0', '>=1.0.0-0' (admits prereleases)"
)


def parse_version(text: str, *, strict: bool = False) -> Version:
    """Parse a version as Helm does: leniently (`v1.2` is 1.2.0) or, with `strict`, as
    Masterminds' StrictNewVersion (exact SemVer 2.0, Helm's filter for OCI tags)."""
    if strict:
        return _parse_strict(text)
    match = _LENIENT_VERSION.fullmatch(text)
    if match is None:
        raise InputError(
            f"{text!r} is not a version: expected MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD] "
            "such as 1.2.3, v1.2 or 1.0.0-rc.1"
        )
    numbers = [int(match[part] or 0) for part in ("major", "minor", "patch")]
    if max(numbers) > _MAX_NUMBER:
        raise InputError(f"{text!r} is not a version: a number is larger than {_MAX_NUMBER}")
    normalised = ".".join(map(str, numbers))
    if match["pre"]:
        normalised += f"-{match['pre']}"
    if match["build"]:
        normalised += f"+{match['build']}"
    try:
        return Version.parse(normalised)
    except ValueError:
        raise InputError(
            f"{text!r} is not a version: a numeric prerelease identifier has a leading zero"
        ) from None


def _parse_strict(text: str) -> Version:
    problem = f"{text!r} is not a strict version: expected MAJOR.MINOR.PATCH such as 1.2.3"
    if not text.isascii():
        raise InputError(problem)
    try:
        version = Version.parse(text)
    except ValueError:
        raise InputError(problem) from None
    if max(version.major, version.minor, version.patch) > _MAX_NUMBER:
        raise InputError(problem)
    return version


def _try_parse(text: str, *, strict: bool = False) -> Version | None:
    try:
        return parse_version(text, strict=strict)
    except InputError:
        return None


@dataclass(frozen=True)
class Comparator:
    """One comparison of a constraint, such as `>=1.2` or `^0.3.1`."""

    operator: str  # canonical: = != > < >= <= ~ ^
    version: Version  # missing or wildcard parts are zero: `1.x` gives 1.0.0
    precision: int  # explicit numbers: 0 for `*`, 1 for `1` or `1.x`, 2 for `1.2`, 3 for `1.2.3`
    text: str

    def accepts(self, version: Version, prereleases: bool) -> bool:
        """Whether `version` passes; `prereleases` says whether the AND group opted in."""
        if version.prerelease and not prereleases:
            return False
        return _CHECKS[self.operator](version, self)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Constraint:
    """A parsed constraint: alternatives (`||`) of AND groups of comparators."""

    text: str
    groups: tuple[tuple[Comparator, ...], ...]

    def allows(self, version: Version) -> bool:
        return any(_group_allows(group, version) for group in self.groups)

    def __str__(self) -> str:
        return self.text


def _group_allows(group: tuple[Comparator, ...], version: Version) -> bool:
    # A prerelease passes only where a comparator of the same AND group names one.
    prereleases = any(comparator.version.prerelease for comparator in group)
    return all(comparator.accepts(version, prereleases) for comparator in group)


def _equal(version: Version, bound: Comparator) -> bool:
    if bound.precision < 3:  # a partial version is a tilde range: `1.2` is `~1.2`
        return _tilde(version, bound)
    return version.compare(bound.version) == 0


def _not_equal(version: Version, bound: Comparator) -> bool:
    base = bound.version
    if bound.precision == 1:
        return version.major != base.major
    if bound.precision == 2:
        if (version.major, version.minor) != (base.major, base.minor):
            return True
        return (version.prerelease or "") != (base.prerelease or "")
    return version.compare(base) != 0


def _greater(version: Version, bound: Comparator) -> bool:
    base = bound.version
    if bound.precision in (1, 2) and version.major != base.major:
        return version.major > base.major
    if bound.precision == 1:  # `>1` means 2.0.0 or above
        return False
    if bound.precision == 2:  # `>1.2` means 1.3.0 or above
        return version.minor > base.minor
    return version.compare(base) > 0


def _less(version: Version, bound: Comparator) -> bool:
    return version.compare(bound.version) < 0


def _greater_equal(version: Version, bound: Comparator) -> bool:
    return version.compare(bound.version) >= 0


def _less_equal(version: Version, bound: Comparator) -> bool:
    base = bound.version
    if bound.precision == 3:
        return version.compare(base) <= 0
    if version.major != base.major:  # `<=1.1` takes all of 1.1.x, `<=1` all of 1.x
        return version.major < base.major
    return bound.precision == 1 or version.minor <= base.minor


def _tilde(version: Version, bound: Comparator) -> bool:
    base = bound.version
    if version.compare(base) < 0:
        return False
    if bound.precision in (0, 3) and (base.major, base.minor, base.patch) == (0, 0, 0):
        return True  # `~*` and `~0.0.0` take everything
    if version.major != base.major:
        return False
    return bound.precision == 1 or version.minor == base.minor


def _caret(version: Version, bound: Comparator) -> bool:
    base = bound.version
    if version.compare(base) < 0:
        return False
    if base.major > 0 or bound.precision == 1:
        return version.major == base.major
    if version.major > 0:
        return False
    if base.minor > 0 or bound.precision == 2:
        return version.minor == base.minor
    if version.minor > 0:
        return False
    return version.patch == base.patch  # `^0.0.3` is exactly 0.0.3


_CHECKS: dict[str, Callable[[Version, Comparator], bool]] = {
    "=": _equal,
    "!=": _not_equal,
    ">": _greater,
    "<": _less,
    ">=": _greater_equal,
    "<=": _less_equal,
    "~": _tilde,
    "^": _caret,
}


def parse_constraint(text: str) -> Constraint:
    """Parse a Helm (Masterminds) constraint; InputError says what is wrong."""
    if len(text) > _MAX_CONSTRAINT_LENGTH:
        raise _invalid(text, f"it is longer than {_MAX_CONSTRAINT_LENGTH} characters")
    # Like Masterminds, rewrite `A - B` before splitting alternatives.
    rewritten = _RANGE.sub(lambda m: f">= {m['low']}, <= {m['high']} ", text)
    groups = tuple(_parse_group(text, segment) for segment in rewritten.split("||"))
    return Constraint(text=text, groups=groups)


def _parse_group(text: str, segment: str) -> tuple[Comparator, ...]:
    comparators: list[Comparator] = []
    position = len(segment) - len(segment.lstrip(" \t\n\f\r"))
    while True:
        match = _COMPARATOR.match(segment, position)
        assert match is not None  # every part of the pattern is optional
        comparators.append(_parse_comparator(text, segment, match))
        separator = _SEPARATOR.match(segment, match.end())
        assert separator is not None
        position = separator.end()
        if position == len(segment):
            if separator["comma"]:
                raise _invalid(text, f"{segment.strip()!r} ends with a comma")
            return tuple(comparators)


def _parse_comparator(text: str, segment: str, match: re.Match[str]) -> Comparator:
    operator, token = match["op"], match["version"]
    if not token:
        rest = segment[match.start() :].strip()
        if operator:
            raise _invalid(text, f"operator {operator!r} has no version after it")
        if rest:
            raise _invalid(text, f"unexpected {rest[0]!r} in {segment.strip()!r}")
        raise _invalid(text, "an alternative of '||' is empty" if "||" in text else "it is empty")
    if operator not in _OPERATORS:
        raise _invalid(text, f"unknown operator {operator!r}; use one of = != > < >= <= ~ ^")
    if "|" in token:
        raise _invalid(text, "a single '|' means nothing; use '||' between alternatives")
    parts = _CV_PARTS.fullmatch(token)
    if parts is None:
        raise _invalid(text, f"{token!r} is not a version")
    precision, normalised = _fill_wildcards(token, parts)
    try:
        version = parse_version(normalised)
    except InputError as error:
        reason = str(error) if normalised == token else f"{token!r} is not a version"
        raise _invalid(text, reason) from None
    return Comparator(_OPERATORS[operator], version, precision, match[0].strip())


def _fill_wildcards(token: str, parts: re.Match[str]) -> tuple[int, str]:
    """Count the explicit numbers and fill the missing ones with zeros, as Masterminds does
    (build metadata of a partial version is dropped; it never matters)."""
    pre = f"-{parts['pre']}" if parts["pre"] else ""
    major, minor, patch = parts["major"], parts["minor"], parts["patch"]
    if major in _WILDCARDS:
        return 0, f"0.0.0{pre}"
    if minor is None or minor in _WILDCARDS:
        return 1, f"{major}.0.0{pre}"
    if patch is None or patch in _WILDCARDS:
        return 2, f"{major}.{minor}.0{pre}"
    return 3, token


def _invalid(text: str, problem: str) -> InputError:
    return InputError(f"invalid version constraint {text!r}: {problem}; {_EXAMPLES}")


def satisfies(constraint: str, version: str) -> bool:
    """Whether `version` meets `constraint`, as Helm's check would decide."""
    return parse_constraint(constraint).allows(parse_version(version))


def first_match(constraint: str | None, candidates: Iterable[str]) -> str | None:
    """Helm's pick over candidates in the given order: an exact string match first, else the
    first candidate that satisfies; an empty constraint means `*`; invalid versions are
    skipped. Helm feeds it lists sorted newest first, as `select` does."""
    request = constraint or ""
    remaining = list(candidates)
    if request and request in remaining:
        return request
    parsed = parse_constraint(request or "*")
    for text in remaining:
        version = _try_parse(text)
        if version is not None and parsed.allows(version):
            return text
    return None


def select(constraint: str | None, versions: Iterable[str]) -> str | None:
    """Helm's pick from a repository index: the exact string if listed, else the highest
    satisfying version (ties keep their order); None when nothing satisfies."""
    parse_constraint(constraint or "*")  # Helm rejects a bad constraint before looking
    return first_match(constraint, _newest_first(versions))


def select_oci(constraint: str | None, tags: Iterable[str]) -> str | None:
    """Helm's pick from an OCI repository's tags.

    A request that parses as a version is returned as it is: Helm uses it as the tag without
    listing tags. Otherwise only strict SemVer tags count, with `_` read as `+` (OCI tags
    cannot hold `+`; helm push writes `_`), and the highest satisfying one is returned in
    its `+` form, the chart version; its tag is that with `+` replaced by `_`.
    """
    if constraint and _try_parse(constraint) is not None:
        return constraint
    versions = [tag.replace("_", "+") for tag in tags]
    strict = [text for text in versions if _try_parse(text, strict=True) is not None]
    return first_match(constraint, _newest_first(strict))


def _newest_first(versions: Iterable[str]) -> list[str]:
    """Valid versions, highest first; equal precedence keeps the input order."""
    parsed = [(text, version) for text in versions if (version := _try_parse(text)) is not None]
    parsed.sort(key=lambda pair: pair[1], reverse=True)  # stable, also in reverse
    return [text for text, _ in parsed]


def nearest(constraint: str, versions: Iterable[str], n: int = 5) -> list[str]:
    """Up to `n` versions worth naming when nothing satisfies `constraint`: those just
    below and just above each version the constraint names, then the highest; newest first."""
    bounds = [
        comparator.version for group in parse_constraint(constraint).groups for comparator in group
    ]
    ordered = _newest_first(dict.fromkeys(versions))
    parsed = [parse_version(text) for text in ordered]
    wanted: list[int] = []
    for bound in bounds:
        below = next((i for i, v in enumerate(parsed) if v.compare(bound) <= 0), len(parsed))
        wanted += [below - 1, below]  # the lowest above the bound, the highest at or below
    wanted += range(len(parsed))
    chosen = list(dict.fromkeys(i for i in wanted if 0 <= i < len(parsed)))[: max(n, 0)]
    return [ordered[i] for i in sorted(chosen)]
