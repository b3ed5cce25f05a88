"""Helpers for the SES tests: settings pointing at moto, what moto received, stubbed answers.

moto speaks the real SES v2 protocol over HTTP; what it cannot do (templates, SendBulkEmail,
throttling) is answered by a botocore ``before-send`` hook with the documented HTTP response,
so botocore still parses every answer the way it parses AWS's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

REGION = "us-east-1"
ACCOUNT = "123456789012"
#: The domain verified in moto: any sender @example.com may send.
VERIFIED_DOMAIN = "example.com"
CREDENTIALS = {"access_key_id": "AKIDTESTTESTTEST", "secret_access_key": "moto-secret-not-real"}


def ses_section(moto_url: str, **extra: Any) -> dict[str, Any]:
    """The ``[email.ses]`` settings pointing at moto."""
    return {"region": REGION, "endpoint_url": moto_url, **CREDENTIALS, **extra}


def hub_settings(moto_url: str, **extra: Any) -> dict[str, Any]:
    """Hub settings sending email through SES on moto, one attempt, no breaker."""
    return {
        "env": "test",
        "state": {"url": "memory://"},
        "email": {
            "provider": "ses",
            "ses": ses_section(moto_url, **extra),
            "resilience": {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}},
        },
    }


def moto_sent(message_id: str) -> Any:
    """What moto received for ``message_id`` (moto.ses.models.Message or RawMessage)."""
    from moto.backends import get_backend

    backend = get_backend("ses")[ACCOUNT][REGION]
    for message in backend.sent_messages:
        if message.id == message_id:
            return message
    raise AssertionError(f"moto received no message {message_id!r}")


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    async def read(self) -> bytes:
        return self._data


def aws_response(status: int, body: dict[str, Any], *, error_type: str | None = None) -> Any:
    """An HTTP answer as SES v2 sends it (rest-json: x-amzn-ErrorType names the error)."""
    from aiobotocore.awsrequest import AioAWSResponse
    from botocore.awsrequest import HeadersDict

    headers = HeadersDict(
        {"content-type": "application/json", "x-amzn-requestid": "stub-request-id"}
    )
    if error_type is not None:
        headers["x-amzn-errortype"] = (
            f"{error_type}:http://internal.amazon.com/coral/com.amazon.sesv2/"
        )
    url = "https://email.us-east-1.amazonaws.com/"
    return AioAWSResponse(url, status, cast(Any, headers), _Body(json.dumps(body).encode()))


class Recorder:
    """A ``before-send`` hook: records each request's JSON body, answers with ``answer`` if set."""

    def __init__(self, answer: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.answer = answer
        self.requests: list[dict[str, Any]] = []
        self.urls: list[str] = []

    def __call__(self, request: Any, **_: Any) -> Any:
        body = request.body
        data = json.loads(body) if body else {}
        self.requests.append(data)
        self.urls.append(request.url)
        return None if self.answer is None else self.answer(data)


def hook(client: Any, operation: str, recorder: Recorder) -> Callable[[], None]:
    """Register ``recorder`` for one SES v2 operation; returns the undo."""
    event = f"before-send.sesv2.{operation}"
    client.meta.events.register_first(event, recorder)
    return lambda: client.meta.events.unregister(event, recorder)
