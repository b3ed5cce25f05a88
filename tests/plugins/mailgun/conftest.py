"""A Mailgun stand-in answering as Mailgun documents, hubs wired to it, and a form parser."""

from __future__ import annotations

import base64
import email
import email.policy
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage as MimeMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from hub.core import Hub
from hub.http import override_transport

API_KEY = "key-test-0000-not-a-real-mailgun-key"
DOMAIN = "mg.example.com"
US_URL = f"https://api.mailgun.net/v3/{DOMAIN}/messages"
EU_URL = f"https://api.eu.mailgun.net/v3/{DOMAIN}/messages"
SIGNING_KEY = "test-signing-key-0000-not-real"
ONE_ATTEMPT = {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}}
QUEUED = "Queued. Thank you."


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Upload:
    name: str
    filename: str
    content_type: str
    content: bytes


@dataclass
class Form:
    """A Messages API request as Mailgun reads it: repeatable fields and uploaded files."""

    content_type: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[Upload] = field(default_factory=list)

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.fields if key == name]

    def one(self, name: str) -> str:
        values = self.all(name)
        assert len(values) == 1, f"{name}: {values}"
        return values[0]

    def names(self) -> set[str]:
        return {key for key, _ in self.fields}


def parse_form(request: httpx.Request) -> Form:
    """Decode an urlencoded or multipart body the way a server would."""
    content_type = request.headers["content-type"]
    body = request.read()
    if content_type.startswith("application/x-www-form-urlencoded"):
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True)
        return Form("urlencoded", fields=pairs)
    assert content_type.startswith("multipart/form-data"), content_type
    raw = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
    parsed = email.message_from_bytes(raw, policy=email.policy.HTTP)
    assert isinstance(parsed, MimeMessage)
    form = Form("multipart")
    for part in parsed.iter_parts():
        assert isinstance(part, MimeMessage)
        name = str(part.get_param("name", header="content-disposition"))
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        if filename is None:
            form.fields.append((name, payload.decode("utf-8")))
        else:
            form.files.append(Upload(name, filename, part.get_content_type(), payload))
    return form


def documented_error(status: int, body: Any, **headers: str) -> httpx.Response:
    """An error as Mailgun answers it: JSON ``{"message": ...}``, or plain text (401)."""
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


class FakeMailgun:
    """``POST /v3/<domain>/messages`` answered with 200 ``{"id", "message"}``; records requests.

    Checks basic auth (``api:<key>``) as Mailgun does (401 ``Forbidden``) and the domain (404).
    ``fail(response, times)`` makes the next ``times`` requests get ``response`` instead.
    """

    def __init__(self, key: str = API_KEY, domain: str = DOMAIN) -> None:
        self.requests: list[httpx.Request] = []
        self._failures: list[httpx.Response] = []
        self._expected_auth = "Basic " + base64.b64encode(f"api:{key}".encode()).decode()
        self._domain = domain
        self.sent = 0

    def fail(self, response: httpx.Response, times: int = 1) -> None:
        self._failures.extend([response] * times)

    def clear(self) -> None:
        self._failures.clear()

    def handler(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if self._failures:
            failure = self._failures.pop(0)
            return httpx.Response(
                failure.status_code, headers=failure.headers, content=failure.content
            )
        if request.headers.get("authorization") != self._expected_auth:
            return httpx.Response(401, text="Forbidden")
        if request.url.path != f"/v3/{self._domain}/messages" or request.method != "POST":
            return httpx.Response(404, json={"message": f"Domain not found: {self._domain}"})
        self.sent += 1
        message_id = f"<20240501120000.{self.sent}.A1B2C3D4E5F6@{self._domain}>"
        return httpx.Response(200, json={"id": message_id, "message": QUEUED})

    @property
    def forms(self) -> list[Form]:
        return [parse_form(r) for r in self.requests]


@pytest.fixture
async def vendor(anyio_backend: object) -> AsyncIterator[FakeMailgun]:
    """The stand-in, under every hub client of the test (task-local override)."""
    fake = FakeMailgun()
    with override_transport(httpx.MockTransport(fake.handler)):
        yield fake


def mailgun_settings(tmp_path: Path, **section: Any) -> dict[str, Any]:
    """Hub settings with Mailgun as the only email provider, one attempt, no breaker."""
    resilience = section.pop("resilience", ONE_ATTEMPT)
    return {
        "env": "test",
        "data_dir": tmp_path,
        "state": {"url": "memory://"},
        "email": {
            "provider": "mailgun",
            "providers": ["mailgun"],
            "default_from": "Shop <shop@mg.example.com>",
            "resilience": resilience,
            "mailgun": {
                "api_key": API_KEY,
                "domain": DOMAIN,
                "webhook_signing_key": SIGNING_KEY,
                **section,
            },
        },
    }


@pytest.fixture
async def mailgun_hub(tmp_path: Path, anyio_backend: object) -> AsyncIterator[Callable[..., Hub]]:
    """``mailgun_hub(**section)``: a hub on Mailgun, closed after the test."""
    made: list[Hub] = []

    def factory(**section: Any) -> Hub:
        hub = Hub.from_settings(**mailgun_settings(tmp_path, **section))
        made.append(hub)
        return hub

    yield factory
    for hub in made:
        await hub.aclose()
