"""HTTP GET for chart repositories and registries: a timeout, retries, and clear errors."""

from __future__ import annotations

import functools
import socket
import time
import urllib.error
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit import __version__
from toolkit.infra import process
from toolkit.infra.errors import InputError

if TYPE_CHECKING:
    import ssl
    import urllib.request

TIMEOUT_ENV = "TOOLKIT_HTTP_TIMEOUT"
DEFAULT_TIMEOUT = 30.0
ATTEMPTS = 3
# Chart archives and index files; a repository sending more is refused, not buffered.
MAX_BYTES = 256 * 1024 * 1024
_BACKOFF = (0.2, 0.6)
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class FetchError(InputError):
    """A repository or registry could not be reached or read (exit 2: the user's input names it)."""


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    headers: Mapping[str, str] = field(hash=False)
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Tls:
    """How to speak TLS to one server: a CA bundle to trust (besides the system's), a client
    certificate, or, only when the user asks, no verification at all."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False


@functools.cache
def _opener(tls: Tls | None = None) -> urllib.request.OpenerDirector:
    """The opener for `tls`: redirects followed, but never an Authorization header to another
    host. Built on first use: urllib.request loads http.client and email, which a run that
    fetches nothing (every chart local or cached) need not pay for."""
    import urllib.request

    class NoRedirectAuth(urllib.request.HTTPRedirectHandler):
        def redirect_request(
            self,
            req: urllib.request.Request,
            fp: object,
            code: int,
            msg: str,
            headers: object,
            newurl: str,
        ) -> urllib.request.Request | None:
            new = super().redirect_request(req, fp, code, msg, headers, newurl)  # type: ignore[arg-type]
            host = urllib.parse.urlsplit(req.full_url).netloc
            if new is not None and urllib.parse.urlsplit(newurl).netloc != host:
                new.remove_header("Authorization")
            return new

    handlers: list[urllib.request.BaseHandler] = [NoRedirectAuth()]
    if tls is not None:
        handlers.append(urllib.request.HTTPSHandler(context=_context(tls)))
    return urllib.request.build_opener(*handlers)


def _context(tls: Tls) -> ssl.SSLContext:
    import ssl

    context = ssl.create_default_context()
    if tls.ca_file is not None:
        context.load_verify_locations(cafile=str(tls.ca_file))
    if tls.cert_file is not None:
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file else None)
    if tls.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def timeout() -> float:
    """Seconds to wait for a connection or a read: $TOOLKIT_HTTP_TIMEOUT, default 30."""
    return process.seconds_setting(TIMEOUT_ENV, DEFAULT_TIMEOUT)


def get(
    url: str, *, what: str, headers: Mapping[str, str] | None = None, tls: Tls | None = None
) -> Response:
    """GET `url`, retrying connection failures and 5xx answers; any other status is returned
    for the caller to judge. `what` starts the error message (e.g. "repository 'podinfo'")."""
    try:
        opener = _opener(tls)
    except OSError as exc:  # a CA bundle or client certificate that cannot be read
        raise FetchError(f"{what}: cannot use the TLS files for {url}: {exc}") from None
    import urllib.request  # loaded by _opener()

    request = urllib.request.Request(
        url, headers={"User-Agent": f"toolkit/{__version__}", **(headers or {})}
    )
    seconds = timeout()
    problem = ""
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(_BACKOFF[min(attempt - 1, len(_BACKOFF) - 1)])
        try:
            with opener.open(request, timeout=seconds) as answer:
                body = answer.read(MAX_BYTES + 1)
                response = Response(answer.geturl(), answer.status, _headers(answer), body)
            break
        except urllib.error.HTTPError as exc:
            if exc.code not in _RETRY_STATUS:
                body = exc.read(64 * 1024) if exc.fp is not None else b""
                return Response(url, exc.code, _headers(exc), body)
            problem = f"HTTP {exc.code} {exc.reason}"
        except urllib.error.URLError as exc:
            problem = _reason(exc.reason)
        except TimeoutError:
            problem = f"no answer within {seconds:g} seconds"
        except (OSError, ValueError) as exc:  # a reset connection, a malformed URL
            problem = str(exc) or type(exc).__name__
    else:
        raise FetchError(
            f"{what}: cannot fetch {url}: {problem} "
            f"(tried {ATTEMPTS} times, timeout {seconds:g}s); "
            f"check the URL and the network, or raise {TIMEOUT_ENV}"
        )
    if len(response.body) > MAX_BYTES:
        raise FetchError(f"{what}: {url} sent more than {MAX_BYTES} bytes; refused")
    return response


def _headers(answer: object) -> dict[str, str]:
    items = getattr(answer, "headers", None)
    return {key.lower(): value for key, value in (items.items() if items is not None else [])}


def _reason(reason: object) -> str:
    import ssl

    if isinstance(reason, ssl.SSLCertVerificationError):
        return (
            f"its TLS certificate is not trusted ({reason.verify_message}); name the CA bundle "
            "that signed it (caFile under the repository's entry in toolkit.yaml)"
        )
    if isinstance(reason, ssl.SSLError):
        return f"TLS failed ({reason.reason or reason}); a client certificate may be required"
    if isinstance(reason, TimeoutError):
        return "no answer within the timeout"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return f"unknown host ({reason.strerror})"
    return str(reason)


def get_ok(
    url: str,
    *,
    what: str,
    expected: str,
    headers: Mapping[str, str] | None = None,
    tls: Tls | None = None,
) -> Response:
    """GET `url` (as `get` does) and require a 200; `expected` names what should be there."""
    response = get(url, what=what, headers=headers, tls=tls)
    check_status(response, what=what, expected=expected)
    return response


def check_status(response: Response, *, what: str, expected: str) -> None:
    """Raise FetchError unless the response is 200; `expected` names what should be there."""
    if response.status == 200:
        return
    if response.status == 404:
        raise FetchError(f"{what}: {response.url} answered 404 Not Found; {expected}")
    if response.status in (401, 403):
        raise FetchError(
            f"{what}: {response.url} answered {response.status}: access denied; give toolkit "
            "credentials for it (usernameEnv/passwordEnv or tokenEnv under its repositories: "
            "entry in toolkit.yaml, helm repo add or helm registry login, Docker's config.json, "
            "or .netrc), or check the ones it has"
        )
    raise FetchError(f"{what}: {response.url} answered HTTP {response.status}")
