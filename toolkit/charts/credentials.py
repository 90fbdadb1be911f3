"""Credentials and TLS for private repositories, found where users already keep them, in this
order: environment variables named in toolkit.yaml, helm's own state (`helm repo add` in
repositories.yaml, `helm registry login` in its registry config), Docker's config.json
(`auths`, `credHelpers`, `credsStore`: the `docker-credential-*` helper is run), `.netrc`.

A secret lives only in memory: never in a message, a file toolkit writes, a cache key, or a
command line (`repr=False` keeps it out of tracebacks too).
"""

from __future__ import annotations

import base64
import json
import netrc
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from toolkit.config.access import RepositoryAccess
from toolkit.infra import process
from toolkit.infra.errors import InputError
from toolkit.infra.http import FetchError, Tls


@dataclass(frozen=True)
class Credentials:
    """A username and password, or a bearer token, and where they were found."""

    origin: str  # e.g. "$REGISTRY_PASSWORD (repositories.private)": names, never values
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)

    def header(self) -> str:
        """The Authorization header an HTTP repository takes."""
        if self.token:
            return f"Bearer {self.token}"
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


@dataclass(frozen=True)
class Access:
    """How to reach one server: credentials (or none), TLS settings, plain HTTP or not."""

    credentials: Credentials | None = None
    tls: Tls | None = None
    plain_http: bool | None = None  # None: toolkit's default (plain HTTP to loopback only)

    def headers(self) -> dict[str, str]:
        return {"Authorization": self.credentials.header()} if self.credentials else {}


@dataclass
class AccessBook:
    """One run's look-ups: each server's access found once."""

    settings: Mapping[str, RepositoryAccess]  # toolkit.yaml's repositories, by alias
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    _found: dict[tuple[str, str], Access] = field(default_factory=dict)

    def for_url(self, url: str) -> Access:
        """An HTTP repository's (the index and its archives)."""
        key = ("http", url)
        if key not in self._found:
            self._found[key] = self._http(url)
        return self._found[key]

    def for_registry(self, host: str, repository: str) -> Access:
        """An OCI registry's repository (`host`, `path/chart`)."""
        key = ("oci", f"{host}/{repository}")
        if key not in self._found:
            self._found[key] = self._oci(host, repository)
        return self._found[key]

    def _http(self, url: str) -> Access:
        configured = _longest(
            (s for s in self.settings.values() if not s.url.startswith("oci://")),
            lambda s: _under(url, s.url),
        )
        helm = _helm_repository(self.environ, url)
        credentials = (
            (self._from_environment(configured) if configured else None)
            or (helm[0] if helm else None)
            or _from_netrc(self.environ, _host(url))
        )
        tls = _tls(configured) if configured else None
        return Access(credentials, tls or (helm[1] if helm else None))

    def _oci(self, host: str, repository: str) -> Access:
        configured = _longest(
            (s for s in self.settings.values() if s.url.startswith("oci://")),
            lambda s: _under(f"oci://{host}/{repository}", s.url),
        )
        credentials = (
            (self._from_environment(configured) if configured else None)
            or _from_docker_config(_helm_registry_config(self.environ), host, "helm registry login")
            or _from_docker_config(_docker_config(self.environ), host, "Docker's config.json")
            or _from_netrc(self.environ, host.split(":")[0])
        )
        if configured is None:
            return Access(credentials)
        tls = _tls(configured)
        # TLS settings for a loopback registry mean it speaks TLS, whatever the default.
        plain = configured.plain_http if tls is None or configured.plain_http else False
        return Access(credentials, tls, plain)

    def _from_environment(self, settings: RepositoryAccess) -> Credentials | None:
        names = [settings.username_env, settings.password_env, settings.token_env]
        for name in filter(None, names):
            if not self.environ.get(name):
                raise InputError(
                    f"{settings.where}: repositories.{settings.alias} takes its credentials from "
                    f"${name}, which is not set (or empty): set it in this environment (a CI "
                    "secret), or take the setting out to use helm's, Docker's or .netrc's"
                )
        origin = f"the environment (repositories.{settings.alias})"
        if settings.token_env:
            return Credentials(origin, token=self.environ[settings.token_env])
        if settings.username_env and settings.password_env:
            return Credentials(
                origin,
                username=self.environ[settings.username_env],
                password=self.environ[settings.password_env],
            )
        return None


def _tls(settings: RepositoryAccess) -> Tls | None:
    if not (settings.ca_file or settings.cert_file or settings.insecure):
        return None
    return Tls(settings.ca_file, settings.cert_file, settings.key_file, settings.insecure)


def _longest(
    candidates: Any, matches: Any
) -> RepositoryAccess | None:  # the most specific repository URL that covers the request
    found = [c for c in candidates if matches(c)]
    return max(found, key=lambda c: len(c.url), default=None)


def _under(url: str, base: str) -> bool:
    return url == base or url.startswith(base.rstrip("/") + "/")


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).hostname or ""


def _config_home(environ: Mapping[str, str]) -> Path:
    xdg = environ.get("XDG_CONFIG_HOME")
    return Path(xdg) if xdg else Path(environ.get("HOME", str(Path.home()))) / ".config"


def _helm_repository(
    environ: Mapping[str, str], url: str
) -> tuple[Credentials | None, Tls | None] | None:
    """`helm repo add` state: the entry of helm's repositories.yaml whose URL covers `url`."""
    path = Path(
        environ.get("HELM_REPOSITORY_CONFIG")
        or _config_home(environ) / "helm" / "repositories.yaml"
    )
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    entries = data.get("repositories") if isinstance(data, dict) else None
    matching = [
        e
        for e in entries or []
        if isinstance(e, dict)
        and isinstance(e.get("url"), str)
        and _under(url, e["url"].rstrip("/"))
    ]
    if not matching:
        return None
    entry = max(matching, key=lambda e: len(e["url"]))
    credentials = None
    if entry.get("username") and entry.get("password"):
        credentials = Credentials(
            f"helm's repositories.yaml (repository {entry.get('name')})",
            username=str(entry["username"]),
            password=str(entry["password"]),
        )
    files = [Path(entry[k]) if entry.get(k) else None for k in ("caFile", "certFile", "keyFile")]
    insecure = bool(entry.get("insecure_skip_tls_verify"))
    tls = Tls(files[0], files[1], files[2], insecure) if any(files) or insecure else None
    return credentials, tls


def _helm_registry_config(environ: Mapping[str, str]) -> Path:
    explicit = environ.get("HELM_REGISTRY_CONFIG")
    return (
        Path(explicit) if explicit else _config_home(environ) / "helm" / "registry" / "config.json"
    )


def _docker_config(environ: Mapping[str, str]) -> Path:
    directory = environ.get("DOCKER_CONFIG")
    home = Path(environ.get("HOME", str(Path.home())))
    return (Path(directory) if directory else home / ".docker") / "config.json"


def _from_docker_config(path: Path, host: str, origin: str) -> Credentials | None:
    """A registry's credentials in a Docker-format config.json: its credential helper, its
    `auths` entry, or the default credential store."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    helpers = _mapping(data.get("credHelpers"))
    if isinstance(helpers.get(host), str):
        return _from_helper(helpers[host], host, origin)
    for key, entry in _mapping(data.get("auths")).items():
        if _registry_host(key) == host and isinstance(entry, dict):
            found = _from_auth_entry(entry, f"{origin} (auths)")
            if found is not None:
                return found
    store = data.get("credsStore")
    return _from_helper(store, host, origin) if isinstance(store, str) and store else None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _registry_host(key: str) -> str:
    """`https://host/v1/`, `host` and `host:port` as the host[:port] they name."""
    return urllib.parse.urlsplit(key if "://" in key else f"//{key}").netloc


def _from_auth_entry(entry: dict[str, Any], origin: str) -> Credentials | None:
    if isinstance(entry.get("auth"), str) and entry["auth"]:
        try:
            username, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except ValueError:
            return None
        return Credentials(origin, username=username, password=password)
    if entry.get("username") and entry.get("password"):
        return Credentials(origin, username=str(entry["username"]), password=str(entry["password"]))
    return None


def _from_helper(helper: str, host: str, origin: str) -> Credentials | None:
    """`docker-credential-<helper> get`, given the registry on stdin (never as an argument)."""
    command = f"docker-credential-{helper}"
    try:
        output = process.run([command, "get"], input=host.encode(), check=False, timeout=30)
    except (OSError, process.ProcessError) as exc:
        raise FetchError(
            f"{origin} names the credential helper {command} for {host}, which cannot be run "
            f"({type(exc).__name__}): install it, or take it out of the config"
        ) from None
    if output.returncode != 0:  # "credentials not found in native keychain"
        return None
    try:
        data = json.loads(output.stdout)
    except ValueError:
        return None
    username, secret = data.get("Username"), data.get("Secret")
    if not isinstance(username, str) or not isinstance(secret, str) or not secret:
        return None
    return Credentials(f"{origin} ({command})", username=username, password=secret)


def _from_netrc(environ: Mapping[str, str], host: str) -> Credentials | None:
    path = Path(environ.get("NETRC") or Path(environ.get("HOME", str(Path.home()))) / ".netrc")
    try:
        found = netrc.netrc(str(path)).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        return None
    if not found or not found[2]:
        return None
    return Credentials(f".netrc (machine {host})", username=found[0] or "", password=found[2])
