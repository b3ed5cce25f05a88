"""A Postmark stand-in answering as Postmark documents, and hubs wired to it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.core import Hub
from hub.http import override_transport

TOKEN = "pm-server-token-not-a-real-one"
API = "https://api.postmarkapp.com"
ONE_ATTEMPT = {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}}
SUBMITTED_AT = "2014-02-17T07:25:01.4178645-05:00"


def answer(code: int, message: str, status: int = 422, **headers: str) -> httpx.Response:
    """Postmark's error body: ``{"ErrorCode": n, "Message": "..."}``."""
    return httpx.Response(status, json={"ErrorCode": code, "Message": message}, headers=headers)


BAD_TOKEN = answer(
    10,
    "The Server Token you provided in the X-Postmark-Server-Token request header was invalid. "
    "Please verify that you are using a valid token.",
    status=401,
)
INVALID_REQUEST = answer(300, "Invalid 'To' address: 'ada'.")
TOO_MANY_REQUESTS = httpx.Response(429, json={"ErrorCode": 429, "Message": "Rate limit exceeded"})
SERVER_ERROR = httpx.Response(500, json={"ErrorCode": 500, "Message": "Internal server error"})
UNAVAILABLE = httpx.Response(503, text="Service Unavailable")


def inactive_message(addresses: list[str]) -> str:
    return (
        "You tried to send to recipient(s) that have been marked as inactive. Found inactive "
        f"addresses: {', '.join(addresses)}. Inactive recipients are ones that have generated "
        "a hard bounce, a spam complaint, or a manual suppression."
    )


class FakePostmark:
    """Answers the Email API as documented; records every request.

    ``inactive`` holds suppressed addresses (error 406); ``fail(response, times)`` makes the
    next ``times`` requests get ``response`` instead.
    """

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.inactive: set[str] = set()
        self._failures: list[httpx.Response] = []
        self._sent = 0

    def fail(self, response: httpx.Response, times: int = 1) -> None:
        self._failures.extend([response] * times)

    def clear(self) -> None:
        self._failures.clear()

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self._failures:
            failure = self._failures.pop(0)
            return httpx.Response(
                failure.status_code, headers=failure.headers, content=failure.content
            )
        body = json.loads(request.content)
        path = request.url.path
        if path in ("/email", "/email/withTemplate"):
            result = self._one(body)
            status = 200 if result["ErrorCode"] == 0 else 422
            return httpx.Response(status, json=result)
        if path == "/email/batch":
            return httpx.Response(200, json=[self._one(m) for m in body])
        if path == "/email/batchWithTemplates":
            return httpx.Response(200, json=[self._one(m) for m in body["Messages"]])
        return httpx.Response(404, json={"ErrorCode": 404, "Message": "Not found"})

    def _one(self, message: dict[str, Any]) -> dict[str, Any]:
        to = message.get("To", "")
        listed = [
            part.strip().rsplit("<", 1)[-1].rstrip(">")
            for key in ("To", "Cc", "Bcc")
            for part in str(message.get(key, "")).split(",")
            if part.strip()
        ]
        inactive = [a for a in listed if a in self.inactive]
        if inactive:
            return {"ErrorCode": 406, "Message": inactive_message(inactive), "To": to}
        self._sent += 1
        return {
            "To": to,
            "SubmittedAt": SUBMITTED_AT,
            "MessageID": f"pm-msg-{self._sent}",
            "ErrorCode": 0,
            "Message": "OK",
        }

    @property
    def bodies(self) -> list[Any]:
        return [json.loads(r.content) for r in self.requests]


@pytest.fixture
async def vendor(anyio_backend: object) -> AsyncIterator[FakePostmark]:
    """The stand-in, under every hub client of the test (task-local override)."""
    fake = FakePostmark()
    with override_transport(httpx.MockTransport(fake.handler)):
        yield fake


def postmark_settings(tmp_path: Path, **section: Any) -> dict[str, Any]:
    """Hub settings with Postmark as the only email provider, one attempt, no breaker."""
    resilience = section.pop("resilience", ONE_ATTEMPT)
    return {
        "env": "test",
        "data_dir": tmp_path,
        "state": {"url": "memory://"},
        "email": {
            "provider": "postmark",
            "providers": ["postmark"],
            "resilience": resilience,
            "postmark": {"server_token": TOKEN, **section},
        },
    }


@pytest.fixture
async def postmark_hub(tmp_path: Path, anyio_backend: object) -> AsyncIterator[Callable[..., Hub]]:
    """``postmark_hub(**section)``: a hub on Postmark, closed after the test."""
    made: list[Hub] = []

    def factory(**section: Any) -> Hub:
        hub = Hub.from_settings(**postmark_settings(tmp_path, **section))
        made.append(hub)
        return hub

    yield factory
    for hub in made:
        await hub.aclose()
