"""OCI registries through the distribution API: tags, manifests and blobs of Helm charts.

Access as registries ask for it: anonymously, with Basic credentials, or through the bearer
token flow (a token fetched from the registry's token service, with credentials when there
are some, and fetched again when the registry answers 401 to it: tokens expire during long
runs). Loopback hosts (localhost, 127.0.0.0/8, ::1) are spoken to over plain HTTP, every
other host over HTTPS, as Docker treats local registries, unless toolkit.yaml says otherwise.
"""

from __future__ import annotations

import ipaddress
import json
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from toolkit.charts.contentcache import sha256_digest
from toolkit.charts.credentials import Access
from toolkit.infra import http
from toolkit.infra.http import FetchError

CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
_MANIFEST_TYPES = "application/vnd.oci.image.manifest.v1+json"
_MAX_PAGES = 100
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Reference:
    """`oci://host[:port]/path/chart` split into the registry and the repository path."""

    host: str
    repository: str

    @property
    def url(self) -> str:
        return f"oci://{self.host}/{self.repository}"

    @property
    def base(self) -> str:
        """The repository the chart lives in, as the lock records it: oci://host/path."""
        return self.url.rsplit("/", 1)[0]

    @property
    def api(self) -> str:
        return self.api_with(plain=plain_http(self.host))

    def api_with(self, *, plain: bool) -> str:
        return f"{'http' if plain else 'https'}://{self.host}/v2/{self.repository}"


def parse_reference(url: str) -> Reference:
    parts = urllib.parse.urlsplit(url)
    return Reference(host=parts.netloc, repository=parts.path.strip("/"))


def plain_http(host: str) -> bool:
    """Whether a registry host is on this machine (spoken to without TLS)."""
    name = urllib.parse.urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def tag_of(version: str) -> str:
    """The OCI tag of a chart version: `+` cannot appear in a tag, helm push writes `_`."""
    return version.replace("+", "_")


@dataclass
class Registry:
    """One run's registry client: an Authorization per repository, found once and renewed
    when the registry refuses it."""

    access: Callable[[Reference], Access] = lambda ref: Access()
    _authorization: dict[str, str] = field(default_factory=dict)

    def tags(self, ref: Reference, *, what: str) -> list[str]:
        tags: list[str] = []
        url: str | None = f"{self._api(ref)}/tags/list?n=1000"
        for _ in range(_MAX_PAGES):
            if url is None:
                break
            response = self._get(ref, url, what=what)
            http.check_status(
                response,
                what=what,
                expected=f"is {ref.url} a chart pushed with `helm push`? Check the chart's path",
            )
            listed = _json(response, what).get("tags") or []
            tags += [tag for tag in listed if isinstance(tag, str)]
            url = _next_page(response)
        return tags

    def manifest(self, ref: Reference, reference: str, *, what: str) -> tuple[str, bytes]:
        """(digest, bytes) of the manifest a tag or digest names."""
        response = self._get(
            ref,
            f"{self._api(ref)}/manifests/{reference}",
            what=what,
            headers={"Accept": _MANIFEST_TYPES},
        )
        http.check_status(
            response, what=what, expected=f"{ref.url} has no tag or digest {reference}"
        )
        return sha256_digest(response.body), response.body

    def blob(self, ref: Reference, digest: str, *, what: str) -> bytes:
        """A blob, verified against its digest."""
        response = self._get(ref, f"{self._api(ref)}/blobs/{digest}", what=what)
        http.check_status(response, what=what, expected=f"{ref.url} has no blob {digest}")
        actual = sha256_digest(response.body)
        if actual != digest:
            raise FetchError(f"{what}: blob {digest} of {ref.url} arrived with digest {actual}")
        return response.body

    def _api(self, ref: Reference) -> str:
        chosen = self.access(ref).plain_http
        return ref.api_with(plain=plain_http(ref.host) if chosen is None else chosen)

    def _get(
        self, ref: Reference, url: str, *, what: str, headers: dict[str, str] | None = None
    ) -> http.Response:
        access = self.access(ref)
        key = f"{ref.host}/{ref.repository}"
        wanted = dict(headers or {})
        if key in self._authorization:
            wanted["Authorization"] = self._authorization[key]
        response = http.get(url, what=what, headers=wanted, tls=access.tls)
        if response.status == 401:  # no Authorization yet, or an expired token: (re)new it
            challenge = response.header("www-authenticate") or ""
            self._authorization[key] = _authorize(challenge, ref, access, what)
            wanted["Authorization"] = self._authorization[key]
            response = http.get(url, what=what, headers=wanted, tls=access.tls)
        return response


def _authorize(challenge: str, ref: Reference, access: Access, what: str) -> str:
    """The Authorization header a registry's 401 challenge asks for."""
    credentials = access.credentials
    scheme = challenge.split(" ", 1)[0].lower()
    if scheme == "basic":
        if credentials is None:
            raise FetchError(
                f"{what}: {ref.host} asks for credentials, and toolkit found none "
                f"for it{_WHERE_CREDENTIALS}"
            )
        return credentials.header()
    if scheme != "bearer":
        raise FetchError(
            f"{what}: {ref.host} asks for an authentication toolkit does not speak "
            f"({challenge.split(' ', 1)[0] or 'none named'})"
        )
    if credentials is not None and credentials.token:
        return f"Bearer {credentials.token}"
    return f"Bearer {_token(challenge, ref, access, what)}"


_WHERE_CREDENTIALS = (
    ": name environment variables in its repositories: entry in toolkit.yaml (usernameEnv, "
    "passwordEnv), or log in with `helm registry login` or `docker login`"
)


def chart_layer(manifest: bytes, *, what: str) -> str:
    """The digest of the chart archive layer in a Helm chart's manifest."""
    try:
        data = json.loads(manifest)
    except ValueError:
        raise FetchError(f"{what}: the registry sent a manifest that is not JSON") from None
    layers = data.get("layers") if isinstance(data, dict) else None
    for layer in layers if isinstance(layers, list) else []:
        if isinstance(layer, dict) and layer.get("mediaType") == CHART_LAYER:
            digest = layer.get("digest")
            if isinstance(digest, str) and digest.startswith("sha256:"):
                return digest
    raise FetchError(
        f"{what}: the manifest has no Helm chart layer ({CHART_LAYER}); is this a Helm chart?"
    )


def _token(challenge: str, ref: Reference, access: Access, what: str) -> str:
    """A bearer token from the registry's token service, with credentials when there are some."""
    params = dict(_CHALLENGE_PARAM.findall(challenge))
    realm = params.get("realm")
    if not realm:
        raise FetchError(f"{what}: {ref.host} sent a bearer challenge without a token service")
    query = {"scope": params.get("scope") or f"repository:{ref.repository}:pull"}
    if params.get("service"):
        query["service"] = params["service"]
    url = f"{realm}?{urllib.parse.urlencode(query)}"
    response = http.get(url, what=what, headers=access.headers(), tls=access.tls)
    if response.status in (401, 403):
        found = access.credentials
        raise FetchError(
            f"{what}: {ref.host}'s token service refused "
            + (f"the credentials from {found.origin}" if found else "anonymous access")
            + ("; check them" if found else _WHERE_CREDENTIALS)
        )
    http.check_status(response, what=what, expected="the registry's token service is missing")
    data = _json(response, what)
    token = data.get("token") or data.get("access_token")
    if not isinstance(token, str):
        raise FetchError(f"{what}: {ref.host}'s token service sent no token")
    return token


def _json(response: http.Response, what: str) -> dict[str, Any]:
    try:
        data = json.loads(response.body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise FetchError(f"{what}: {response.url} did not answer with a JSON object")
    return data


def _next_page(response: http.Response) -> str | None:
    match = _LINK_NEXT.search(response.header("link") or "")
    return urllib.parse.urljoin(response.url, match[1]) if match else None
