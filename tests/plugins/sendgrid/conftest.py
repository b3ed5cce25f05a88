"""A SendGrid stand-in answering as SendGrid documents, and hubs wired to it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.core import Hub
from hub.http import override_transport

API_KEY = "SG.test-key-not-a-real-one"
MAIL_SEND = "https://api.sendgrid.com/v3/mail/send"
ONE_ATTEMPT = {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}}

# Error bodies as SendGrid documents them: {"errors": [{"message", "field", "help"}]}.
BAD_REQUEST = {
    "errors": [
        {
            "message": "The to array is required for all personalization objects, and must "
            "have at least one email object with a valid email address.",
            "field": "personalizations.0.to",
            "help": "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"
            "#message.personalizations.to",
        }
    ]
}
UNAUTHORIZED = {
    "errors": [
        {
            "message": "The provided authorization grant is invalid, expired, or revoked",
            "field": None,
            "help": None,
        }
    ]
}
FORBIDDEN = {
    "errors": [
        {
            "message": "The from address does not match a verified Sender Identity. Mail cannot "
            "be sent until this error is resolved.",
            "field": "from",
            "help": None,
        }
    ]
}
TOO_LARGE = {
    "errors": [
        {
            "message": "The JSON payload you have included in your request is too large.",
            "field": None,
            "help": None,
        }
    ]
}
TOO_MANY = {"errors": [{"field": None, "message": "too many requests"}]}
SERVER_ERROR = {"errors": [{"field": None, "message": "internal error"}]}


def error(status: int, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


class FakeSendGrid:
    """Answers ``POST /v3/mail/send`` with 202 and an ``X-Message-Id``; records every request.

    ``fail(response, times)`` makes the next ``times`` requests get ``response`` instead;
    ``fail_request(n, response)`` only the n-th request (counting from 1).
    """

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._failures: list[httpx.Response] = []
        self._failing: dict[int, httpx.Response] = {}
        self._sent = 0

    def fail(self, response: httpx.Response, times: int = 1) -> None:
        self._failures.extend([response] * times)

    def fail_request(self, number: int, response: httpx.Response) -> None:
        self._failing[number] = response

    def clear(self) -> None:
        self._failures.clear()

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if len(self.requests) in self._failing:
            self.fail(self._failing.pop(len(self.requests)))
        if self._failures:
            failure = self._failures.pop(0)
            return httpx.Response(
                failure.status_code, headers=failure.headers, content=failure.content
            )
        self._sent += 1
        return httpx.Response(202, headers={"X-Message-Id": f"sg-msg-{self._sent}"})

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


@pytest.fixture
async def vendor(anyio_backend: object) -> AsyncIterator[FakeSendGrid]:
    """The stand-in, under every hub client of the test (task-local override)."""
    fake = FakeSendGrid()
    with override_transport(httpx.MockTransport(fake.handler)):
        yield fake


def sendgrid_settings(tmp_path: Path, **section: Any) -> dict[str, Any]:
    """Hub settings with SendGrid as the only email provider, one attempt, no breaker."""
    resilience = section.pop("resilience", ONE_ATTEMPT)
    return {
        "env": "test",
        "data_dir": tmp_path,
        "state": {"url": "memory://"},
        "email": {
            "provider": "sendgrid",
            "providers": ["sendgrid"],
            "resilience": resilience,
            "sendgrid": {"api_key": API_KEY, **section},
        },
    }


@pytest.fixture
async def sendgrid_hub(tmp_path: Path, anyio_backend: object) -> AsyncIterator[Callable[..., Hub]]:
    """``sendgrid_hub(**section)``: a hub on SendGrid, closed after the test."""
    made: list[Hub] = []

    def factory(**section: Any) -> Hub:
        hub = Hub.from_settings(**sendgrid_settings(tmp_path, **section))
        made.append(hub)
        return hub

    yield factory
    for hub in made:
        await hub.aclose()
