"""Scalars as Kubernetes reads them (sigs.k8s.io/yaml, go-yaml v2, then JSON): what a plain or
tagged scalar means and what a mapping key becomes. The rules are kubeyaml.py's docstring's."""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct
from typing import Any

PLAIN_TAG = "!toolkit/plain"  # an untagged plain scalar, resolved below
STR_TAG = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
MERGE_TAG = "tag:yaml.org,2002:merge"
SEQ_TAG = "tag:yaml.org,2002:seq"
MAP_TAG = "tag:yaml.org,2002:map"
_BINARY = "tag:yaml.org,2002:binary"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
AMBIGUOUS_TAG = "!toolkit/ambiguous"  # a string some reader would take for something else


_KEYWORDS: dict[str, Any] = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE"), True),
    **dict.fromkeys(("on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE"), False),
    **dict.fromkeys(("off", "Off", "OFF"), False),
    **dict.fromkeys(("~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_GO_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+(?:[eE][-+]?[0-9]+)?")
_DIGITS = {
    2: re.compile(r"[01]*"),
    8: re.compile(r"[0-7]*"),
    10: re.compile(r"[0-9]+"),
    16: re.compile(r"[0-9a-fA-F]+"),
}
_TIMESTAMP_TEXT = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ][0-9:.]+(?:Z|[-+][0-9:]+)?)?")
_INT64 = (-(1 << 63), (1 << 63) - 1)
_UINT64_MAX = (1 << 64) - 1


class KubeYamlError(ValueError):
    """YAML that Kubernetes would not read (or not within toolkit's limits); `line` is 1-based."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


# --- plain and tagged scalars -------------------------------------------------------------


def _parse_uint(text: str) -> int | None:
    """Go's strconv.ParseUint(text, 0, 64)."""
    if not text:
        return None
    base, digits = 10, text
    if text[0] == "0":
        prefix = text[1:2].lower()
        if len(text) >= 3 and prefix in ("b", "o", "x"):
            base, digits = {"b": 2, "o": 8, "x": 16}[prefix], text[2:]
        else:
            base, digits = 8, text[1:]
    if not _DIGITS[base].fullmatch(digits):
        return None
    value = int(digits, base) if digits else 0
    return value if value <= _UINT64_MAX else None


def _parse_int(text: str) -> int | None:
    """Go's strconv.ParseInt(text, 0, 64)."""
    sign, body = 1, text
    if text[:1] in ("+", "-"):
        sign, body = (-1 if text[0] == "-" else 1), text[1:]
    magnitude = _parse_uint(body)
    if magnitude is None:
        return None
    value = sign * magnitude
    return value if _INT64[0] <= value <= _INT64[1] else None


def plain_value(text: str) -> Any:
    """What an untagged plain scalar means to go-yaml v2 (a str when it means itself)."""
    if not text:
        return None
    first = text[0]
    if first in "yYnNtTfFoO~.":
        if text in _KEYWORDS:
            return _KEYWORDS[text]
        if first == "." and _DOT_FLOAT.fullmatch(text):
            value = float(text)
            return value if math.isfinite(value) else text
        return text
    if first in "+-0123456789":
        if text in _KEYWORDS:  # +.inf, -.inf
            return _KEYWORDS[text]
        plain = text.replace("_", "")
        for parse in (_parse_int, _parse_uint):
            number = parse(plain)
            if number is not None:
                return number
        if _GO_FLOAT.fullmatch(plain):
            value = float(plain)
            if math.isfinite(value):  # Go's ParseFloat fails on overflow: the text stays
                return value
    return text


def tag_of(value: Any) -> str:
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return _BOOL
    if isinstance(value, int):
        return _INT
    if isinstance(value, float):
        return _FLOAT
    return STR_TAG


def tagged_value(tag: str, text: str, line: int) -> Any:
    """A scalar with an explicit tag, as go-yaml v2 decodes it into interface{}."""
    if tag in (STR_TAG, "!"):
        return text
    if tag == _BINARY:
        try:
            return base64.b64decode(text, validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            raise KubeYamlError("!!binary value contains invalid base64 data", line) from None
    if tag not in (_INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP):
        return text  # a tag go-yaml does not know: the text, unresolved
    value = plain_value(text)
    found = tag_of(value)
    if tag == found:
        return value
    if tag == _FLOAT and found == _INT:
        return float(value)
    if tag == _TIMESTAMP and found == STR_TAG and _TIMESTAMP_TEXT.fullmatch(text):
        return text
    short = {_INT: "!!int", _FLOAT: "!!float", _BOOL: "!!bool", _NULL: "!!null"}
    raise KubeYamlError(
        f"cannot decode {short.get(found, '!!str')} `{text}` as a {short.get(tag, '!!timestamp')}",
        line,
    )


def _go_float32_text(value: float) -> str:
    """Go's strconv.FormatFloat(value, 'g', -1, 32): how sigs.k8s.io/yaml names a float key."""
    if math.isnan(value):
        return ".nan"
    try:
        single = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        single = math.copysign(math.inf, value)
    if math.isinf(single):
        return ".inf" if single > 0 else "-.inf"
    for precision in range(1, 10):
        shortest = f"{single:.{precision - 1}e}"
        if struct.unpack("f", struct.pack("f", float(shortest)))[0] == single:
            break
    mantissa, _, exponent_text = shortest.partition("e")
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
    exponent = int(exponent_text)
    if exponent < -4 or exponent >= 6:
        body = digits[0] + (f".{digits[1:]}" if len(digits) > 1 else "")
        return f"{sign}{body}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if exponent < 0:
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
    whole = digits.ljust(exponent + 1, "0")
    return f"{sign}{whole[: exponent + 1]}" + (
        f".{whole[exponent + 1 :]}" if len(whole) > exponent + 1 else ""
    )


def key_text(key: Any, line: int) -> str:
    """A decoded mapping key as sigs.k8s.io/yaml turns it into a JSON object key."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        if key > _INT64[1]:
            raise KubeYamlError(f"unsupported map key of type uint64: {key}", line)
        return str(key)
    if isinstance(key, float):
        return _go_float32_text(key)
    raise KubeYamlError("a null key is not allowed (Kubernetes cannot convert it to JSON)", line)
