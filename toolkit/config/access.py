"""How toolkit reaches a private repository: `repositories.<alias>` written as a mapping.

    repositories:
      private:
        url: oci://registry.example.com/charts
        usernameEnv: REGISTRY_USER        # names of environment variables, never the secrets
        passwordEnv: REGISTRY_PASSWORD
        tokenEnv: REGISTRY_TOKEN          # instead of a username and password: a bearer token
        caFile: certs/registry-ca.pem     # files relative to the repository root
        certFile: certs/client.pem
        keyFile: certs/client-key.pem
        insecureSkipTLSVerify: false
        plainHTTP: false

A URL with a password in it is refused: a secret does not belong in a committed file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from toolkit.infra.paths import safe_path
from toolkit.infra.yamlfile import KeyPath, YamlDocument, describe, dotted

ACCESS_KEYS = (
    "url",
    "usernameEnv",
    "passwordEnv",
    "tokenEnv",
    "caFile",
    "certFile",
    "keyFile",
    "insecureSkipTLSVerify",
    "plainHTTP",
)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class RepositoryAccess:
    """toolkit.yaml's settings for reaching one repository (no secret: only where to find it)."""

    alias: str
    url: str
    username_env: str | None = None
    password_env: str | None = None
    token_env: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False
    plain_http: bool | None = None  # None: as toolkit decides (plain HTTP to loopback only)
    where: str = ""  # toolkit.yaml:line, for messages


def repository_access(
    doc: YamlDocument, root: Path, alias: str, raw: Any, *, url_ok: Any
) -> RepositoryAccess:
    """`repositories.<alias>`: a URL, or a mapping of a URL and how to reach it."""
    path: KeyPath = ("repositories", alias)
    if not isinstance(raw, dict):
        return RepositoryAccess(alias, _url(doc, path, raw, url_ok), where=doc.where(*path))
    fields = doc.mapping(path, raw, allowed=ACCESS_KEYS, required=("url",))
    env = {key: _env_name(doc, (*path, key), fields.get(key)) for key in ACCESS_KEYS[1:4]}
    if bool(env["usernameEnv"]) != bool(env["passwordEnv"]):
        doc.fail(path, f"repositories.{alias}: give usernameEnv and passwordEnv together")
    if env["tokenEnv"] and env["usernameEnv"]:
        doc.fail(path, f"repositories.{alias}: give either tokenEnv or usernameEnv/passwordEnv")
    files = {key: _file(doc, root, (*path, key), fields.get(key)) for key in ACCESS_KEYS[4:7]}
    if bool(files["certFile"]) != bool(files["keyFile"]):
        doc.fail(path, f"repositories.{alias}: a client certificate needs certFile and keyFile")
    return RepositoryAccess(
        alias=alias,
        url=_url(doc, (*path, "url"), fields["url"], url_ok),
        username_env=env["usernameEnv"],
        password_env=env["passwordEnv"],
        token_env=env["tokenEnv"],
        ca_file=files["caFile"],
        cert_file=files["certFile"],
        key_file=files["keyFile"],
        insecure=_flag(doc, (*path, "insecureSkipTLSVerify"), fields.get("insecureSkipTLSVerify"))
        or False,
        plain_http=_flag(doc, (*path, "plainHTTP"), fields.get("plainHTTP")),
        where=doc.where(*path),
    )


def _url(doc: YamlDocument, path: KeyPath, url: Any, url_ok: Any) -> str:
    alias = path[1]
    if not isinstance(url, str) or not url_ok(url):
        doc.fail(
            path,
            f"repositories.{alias} must be a chart repository URL, found {describe(url)}; use "
            "https://host/path (an index repository) or oci://host/path (a registry)",
        )
    if urlsplit(url).password is not None:
        doc.fail(
            path,
            f"repositories.{alias}: the URL carries a password, and toolkit.yaml is committed: "
            "take it out and name environment variables instead (usernameEnv, passwordEnv)",
        )
    return url.rstrip("/")


def _env_name(doc: YamlDocument, path: KeyPath, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
        doc.fail(
            path,
            f"{dotted(path)} must name an environment variable (letters, digits, "
            f"_), found {describe(value)}; the secret itself never goes in toolkit.yaml",
        )
    return value


def _file(doc: YamlDocument, root: Path, path: KeyPath, value: Any) -> Path | None:
    if value is None:
        return None
    where = doc.where(*path)
    if not isinstance(value, str):
        doc.fail(path, f"{dotted(path)} must be a path, found {describe(value)}")
    # An absolute path is the machine's (a CA bundle under /etc): CI images carry them there.
    found = Path(value) if Path(value).is_absolute() else safe_path(root, root, value, where=where)
    if not found.is_file():
        doc.fail(path, f"{dotted(path)}: no file {value} (paths are from the root)")
    return found


def _flag(doc: YamlDocument, path: KeyPath, value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        doc.fail(path, f"{dotted(path)} must be true or false, found {describe(value)}")
    return value
