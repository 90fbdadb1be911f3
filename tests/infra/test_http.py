"""HTTP GET with retries and clear errors, against a real server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers import serving
from toolkit.infra import http
from toolkit.infra.errors import InputError
from toolkit.infra.http import FetchError


@dataclass
class Script:
    """What the server answers, request by request; and what it was sent."""

    statuses: list[int] = field(default_factory=list)
    seen: list[dict[str, str]] = field(default_factory=list)
    redirect_to: str = ""


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            script.seen.append({"path": self.path, **dict(self.headers.items())})
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", script.redirect_to)
                self.end_headers()
                return
            status = script.statuses.pop(0) if script.statuses else 200
            body = f"status {status}".encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with serving(httpd):
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script


def test_server_errors_are_retried(server: tuple[str, Script]) -> None:
    url, script = server
    script.statuses = [503, 502]
    response = http.get(f"{url}/index.yaml", what="repository 'x'")
    assert (response.status, response.body) == (200, b"status 200")
    assert len(script.seen) == 3


def test_a_server_failing_every_attempt_is_one_message(server: tuple[str, Script]) -> None:
    url, script = server
    script.statuses = [500, 500, 500]
    with pytest.raises(FetchError) as caught:
        http.get(f"{url}/index.yaml", what="repository 'x'")
    assert str(caught.value).startswith(
        f"repository 'x': cannot fetch {url}/index.yaml: HTTP 500 Internal Server Error "
        "(tried 3 times"
    )


def test_client_errors_are_returned_not_retried(server: tuple[str, Script]) -> None:
    url, script = server
    script.statuses = [404]
    response = http.get(f"{url}/missing", what="x")
    assert response.status == 404 and len(script.seen) == 1
    with pytest.raises(FetchError, match=r"^x: .*/missing answered 404 Not Found; look elsewhere$"):
        http.check_status(response, what="x", expected="look elsewhere")


def test_credentials_are_not_carried_to_another_host(server: tuple[str, Script]) -> None:
    url, script = server
    other = url.replace("127.0.0.1", "localhost")
    script.redirect_to = f"{other}/elsewhere"
    http.get(f"{url}/redirect", what="x", headers={"Authorization": "Bearer secret"})
    first, second = script.seen
    assert first["Authorization"] == "Bearer secret"
    assert second["path"] == "/elsewhere" and "Authorization" not in second


@pytest.mark.parametrize("value", ["soon", "0", "-1"])
def test_a_bad_timeout_setting(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(http.TIMEOUT_ENV, value)
    with pytest.raises(InputError, match=rf"^TOOLKIT_HTTP_TIMEOUT='{value}'"):
        http.timeout()


def test_an_unknown_host() -> None:
    with pytest.raises(
        FetchError, match=r"cannot fetch http://no-such-host\.invalid/: unknown host"
    ):
        http.get("http://no-such-host.invalid/", what="x")
