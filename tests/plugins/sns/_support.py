"""Helpers for the SNS tests: settings pointing at moto, what moto received, stubbed answers.

moto speaks SNS's real query protocol over HTTP and keeps every SMS it was asked to publish,
but not the message attributes, and it never throttles or refuses credentials. So a botocore
``before-send`` hook records the exact form each request carries (and lets it through to moto),
or answers with the documented XML error, which botocore then parses as it parses AWS's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from hub_sns.provider import SnsSmsProvider

from hub import Hub

REGION = "us-east-1"
ACCOUNT = "123456789012"
CREDENTIALS = {"access_key_id": "AKIDTESTTESTTEST", "secret_access_key": "moto-secret-not-real"}
_XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"


def sns_section(moto_url: str, **extra: Any) -> dict[str, Any]:
    """The ``[sms.sns]`` settings pointing at moto."""
    return {"region": REGION, "endpoint_url": moto_url, **CREDENTIALS, **extra}


def hub_settings(moto_url: str, **extra: Any) -> dict[str, Any]:
    """Hub settings sending SMS through SNS on moto, one attempt, no breaker."""
    return {
        "env": "test",
        "state": {"url": "memory://"},
        "sms": {
            "provider": "sns",
            "sns": sns_section(moto_url, **extra),
            "resilience": {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}},
        },
    }


def moto_sms() -> dict[str, tuple[str, str]]:
    """Every SMS moto's SNS has published: message id -> (phone number, text)."""
    from moto.backends import get_backend

    return dict(get_backend("sns")[ACCOUNT][REGION].sms_messages)


def attributes(form: dict[str, str]) -> dict[str, tuple[str, str]]:
    """``MessageAttributes.entry.N.*`` of a query-protocol form: name -> (DataType, value)."""
    found: dict[str, tuple[str, str]] = {}
    index = 1
    while (name := form.get(f"MessageAttributes.entry.{index}.Name")) is not None:
        prefix = f"MessageAttributes.entry.{index}.Value"
        found[name] = (form[f"{prefix}.DataType"], form[f"{prefix}.StringValue"])
        index += 1
    return found


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    async def read(self) -> bytes:
        return self._data


def aws_error(status: int, code: str, message: str, *, sender: bool = True) -> Any:
    """An HTTP error as SNS sends it (query protocol: an XML ErrorResponse)."""
    from aiobotocore.awsrequest import AioAWSResponse
    from botocore.awsrequest import HeadersDict

    body = (
        f'<ErrorResponse xmlns="{_XMLNS}"><Error><Type>{"Sender" if sender else "Receiver"}'
        f"</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        "<RequestId>stub-request-id</RequestId></ErrorResponse>"
    )
    headers = HeadersDict({"content-type": "text/xml", "x-amzn-requestid": "stub-request-id"})
    url = f"https://sns.{REGION}.amazonaws.com/"
    return AioAWSResponse(url, status, cast(Any, headers), _Body(body.encode()))


class Recorder:
    """A ``before-send`` hook: records each request's form, answers with ``answer`` if set."""

    def __init__(self, answer: Callable[[dict[str, str]], Any] | None = None) -> None:
        self.answer = answer
        self.forms: list[dict[str, str]] = []

    def __call__(self, request: Any, **_: Any) -> Any:
        body = request.body
        text = body.decode() if isinstance(body, bytes) else str(body or "")
        form = dict(parse_qsl(text, keep_blank_values=True))
        self.forms.append(form)
        return None if self.answer is None else self.answer(form)


def hook(client: Any, operation: str, recorder: Recorder) -> Callable[[], None]:
    """Register ``recorder`` for one SNS operation (``Publish``); returns the undo."""
    event = f"before-send.sns.{operation}"
    client.meta.events.register_first(event, recorder)
    return lambda: client.meta.events.unregister(event, recorder)


def sns_provider(hub: Hub) -> SnsSmsProvider:
    """The hub's live ``sns`` provider."""
    found = hub.sms.get_provider("sns")
    assert isinstance(found, SnsSmsProvider)
    return found


async def intercept(hub: Hub, recorder: Recorder, operation: str = "Publish") -> Recorder:
    """Pass every ``operation`` request of the hub's SNS client through ``recorder``."""
    hook(await sns_provider(hub).client(), operation, recorder)
    return recorder
