"""Twilio's status callbacks and inbound messages: X-Twilio-Signature, then HubEvents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from hub.core import Hub
from hub.errors import ConfigurationError, WebhookError
from hub.testing.webhooks import post_event
from hub.webhooks.app import create_app
from hub.webhooks.events import HubEvent
from hub.webhooks.handler import InboundRequest, webhook_handler
from hub.webhooks.signatures import sign_twilio
from tests.plugins.twilio.fake_twilio import ACCOUNT_SID, AUTH_TOKEN

pytestmark = pytest.mark.anyio

URL = "https://hooks.example.com/webhooks/twilio"
SID = "SM" + "f" * 32

# Twilio's published example (twilio-python tests/unit/test_request_validator.py; the
# "Validating signatures from Twilio" page): auth token 12345 and these exact values.
EXAMPLE_TOKEN = "12345"
EXAMPLE_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
EXAMPLE_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
EXAMPLE_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
EXAMPLE_BODY = b'{"property": "value", "boolean": true}'
EXAMPLE_BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
EXAMPLE_BODY_SIGNATURE = "a9nBmqA0ju/hNViExpshrM61xv4="


def status_callback(status: str, **extra: str) -> dict[str, str]:
    """A status callback as Twilio posts it (Messaging > status callback parameters)."""
    return {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "From": "+15005550006",
        "MessageSid": SID,
        "MessageStatus": status,
        "SmsSid": SID,
        "SmsStatus": status,
        "To": "+14155550100",
        **extra,
    }


def inbound(**extra: str) -> dict[str, str]:
    """An incoming message webhook (Twilio's request to your messaging URL)."""
    return {
        "ToCountry": "US",
        "SmsMessageSid": SID,
        "NumMedia": "0",
        "SmsSid": SID,
        "SmsStatus": "received",
        "Body": "STOP, no wait: yes please",
        "To": "+15005550006",
        "NumSegments": "1",
        "MessageSid": SID,
        "AccountSid": ACCOUNT_SID,
        "From": "+14155550100",
        "ApiVersion": "2010-04-01",
        **extra,
    }


def signed(params: dict[str, str], *, url: str = URL, token: str = AUTH_TOKEN) -> InboundRequest:
    body = urlencode(params).encode()
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        **sign_twilio(url, params, secret=token),
    }
    return InboundRequest(url=url, body=body, headers=headers)


@pytest.fixture
def hub_with(make_hub: Callable[..., Hub]) -> Callable[..., Hub]:
    def build(**section: Any) -> Hub:
        twilio = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, **section}
        return make_hub(sms={"provider": "twilio", "providers": ["twilio"], "twilio": twilio})

    return build


# -- verification -----------------------------------------------------------------------------


async def test_twilios_published_example_signature_verifies(hub_with: Callable[..., Hub]) -> None:
    handler = webhook_handler(hub_with(auth_token=EXAMPLE_TOKEN), "twilio")
    request = InboundRequest(
        url=EXAMPLE_URL,
        body=urlencode(EXAMPLE_PARAMS).encode(),
        headers={"X-Twilio-Signature": EXAMPLE_SIGNATURE},
    )
    handler.verify(request)


async def test_twilios_published_json_body_example_verifies(hub_with: Callable[..., Hub]) -> None:
    handler = webhook_handler(hub_with(auth_token=EXAMPLE_TOKEN), "twilio")
    request = InboundRequest(
        url=f"{EXAMPLE_URL}&bodySHA256={EXAMPLE_BODY_HASH}",
        body=EXAMPLE_BODY,
        headers={"X-Twilio-Signature": EXAMPLE_BODY_SIGNATURE, "content-type": "application/json"},
    )
    handler.verify(request)
    tampered = InboundRequest(url=request.url, body=EXAMPLE_BODY + b" ", headers=request.headers)
    with pytest.raises(WebhookError, match="bodySHA256"):
        handler.verify(tampered)


async def test_tampered_parameters_fail(hub_with: Callable[..., Hub]) -> None:
    handler = webhook_handler(hub_with(), "twilio")
    genuine = signed(status_callback("delivered"))
    forged = InboundRequest(
        url=URL,
        body=genuine.body.replace(b"delivered", b"failed"),
        headers=genuine.headers,
    )
    with pytest.raises(WebhookError, match="twilio webhook: signature mismatch"):
        handler.verify(forged)


async def test_wrong_token_fails(hub_with: Callable[..., Hub]) -> None:
    handler = webhook_handler(hub_with(), "twilio")
    with pytest.raises(WebhookError, match="signature mismatch"):
        handler.verify(signed(status_callback("sent"), token="some-other-token-0000"))


async def test_a_different_url_fails(hub_with: Callable[..., Hub]) -> None:
    handler = webhook_handler(hub_with(), "twilio")
    request = signed(status_callback("sent"), url="https://evil.example.com/webhooks/twilio")
    moved = InboundRequest(url=URL, body=request.body, headers=request.headers)
    with pytest.raises(WebhookError):
        handler.verify(moved)


async def test_missing_signature_fails(hub_with: Callable[..., Hub]) -> None:
    handler = webhook_handler(hub_with(), "twilio")
    request = InboundRequest(url=URL, body=urlencode(status_callback("sent")).encode())
    with pytest.raises(WebhookError, match="X-Twilio-Signature"):
        handler.verify(request)


async def test_rotated_tokens_are_all_accepted(hub_with: Callable[..., Hub]) -> None:
    """While promoting the secondary auth token, both tokens sign genuine requests."""
    secondary = "secondary-auth-token-0000"
    handler = webhook_handler(hub_with(webhook_auth_tokens=secondary), "twilio")
    handler.verify(signed(status_callback("sent"), token=AUTH_TOKEN))
    handler.verify(signed(status_callback("sent"), token=secondary))
    with pytest.raises(WebhookError):
        handler.verify(signed(status_callback("sent"), token="retired-auth-token-00"))


async def test_a_receiver_without_the_auth_token_refuses_to_start(
    make_hub: Callable[..., Hub],
) -> None:
    hub = make_hub(
        sms={
            "provider": "twilio",
            "twilio": {"account_sid": ACCOUNT_SID, "api_key_sid": "SK" + "b" * 32},
        }
    )
    with pytest.raises(ConfigurationError, match="auth token"):
        webhook_handler(hub, "twilio")


# -- normalization ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "event_type"),
    [
        ("accepted", "sms.queued"),
        ("queued", "sms.queued"),
        ("sending", "sms.queued"),
        ("sent", "sms.sent"),
        ("delivered", "sms.delivered"),
        ("read", "sms.x-read"),
    ],
)
async def test_status_callbacks_become_sms_events(
    hub_with: Callable[..., Hub], status: str, event_type: str
) -> None:
    handler = webhook_handler(hub_with(), "twilio")
    request = signed(status_callback(status))
    handler.verify(request)
    (event,) = handler.parse(request)
    assert event.type == event_type
    assert event.provider == "twilio"
    assert event.capability == "sms"
    assert event.provider_event_id == f"{SID}:{status}"
    assert event.subject_id == SID
    assert event.recipient == "+14155550100"
    assert event.reason is None
    assert event.data["status"] == status
    assert event.data["from"] == "+15005550006"
    assert event.raw["MessageStatus"] == status


@pytest.mark.parametrize(
    ("status", "code", "event_type", "reason"),
    [
        ("undelivered", "30003", "sms.undelivered", "30003 unreachable destination handset"),
        ("failed", "30007", "sms.failed", "30007 message filtered by the carrier"),
        ("undelivered", "30999", "sms.undelivered", "30999"),
    ],
)
async def test_delivery_failures_carry_the_error_code_as_reason(
    hub_with: Callable[..., Hub], status: str, code: str, event_type: str, reason: str
) -> None:
    handler = webhook_handler(hub_with(), "twilio")
    (event,) = handler.parse(signed(status_callback(status, ErrorCode=code)))
    assert event.type == event_type
    assert event.reason == reason
    assert event.data["error_code"] == code


async def test_inbound_message_is_sms_received_with_its_body_and_media(
    hub_with: Callable[..., Hub],
) -> None:
    handler = webhook_handler(hub_with(), "twilio")
    request = signed(
        inbound(
            NumMedia="2",
            MediaUrl1="https://api.twilio.com/media/2",
            MediaUrl0="https://api.twilio.com/media/1",
            MediaContentType0="image/jpeg",
        )
    )
    handler.verify(request)
    (event,) = handler.parse(request)
    assert event.type == "sms.received"
    assert event.provider_event_id == f"{SID}:received"
    assert event.data["body"] == "STOP, no wait: yes please"
    assert event.data["from"] == "+14155550100"
    assert event.data["to"] == "+15005550006"
    assert event.data["media_urls"] == [
        "https://api.twilio.com/media/1",
        "https://api.twilio.com/media/2",
    ]


async def test_inbound_without_status_is_still_received(hub_with: Callable[..., Hub]) -> None:
    handler = webhook_handler(hub_with(), "twilio")
    params = {k: v for k, v in inbound().items() if k != "SmsStatus"}
    (event,) = handler.parse(signed(params))
    assert event.type == "sms.received"


async def test_json_bodied_callback_is_parsed(hub_with: Callable[..., Hub]) -> None:
    import hashlib
    import json

    handler = webhook_handler(hub_with(), "twilio")
    body = json.dumps(status_callback("delivered")).encode()
    url = f"{URL}?bodySHA256={hashlib.sha256(body).hexdigest()}"
    request = InboundRequest(url=url, body=body, headers=sign_twilio(url, secret=AUTH_TOKEN))
    handler.verify(request)
    (event,) = handler.parse(request)
    assert event.type == "sms.delivered"
    assert event.subject_id == SID


@pytest.mark.parametrize(
    "params",
    [{"AccountSid": ACCOUNT_SID}, {"MessageSid": SID}, {"MessageStatus": "sent"}],
    ids=["nothing", "no-status", "no-sid"],
)
async def test_a_payload_that_is_no_message_event_is_refused(
    hub_with: Callable[..., Hub], params: dict[str, str]
) -> None:
    handler = webhook_handler(hub_with(), "twilio")
    with pytest.raises(WebhookError, match="MessageSid"):
        handler.parse(signed(params))


# -- through the receiver -----------------------------------------------------------------------


async def test_the_receiver_verifies_against_public_url_and_dedupes_retries(
    make_hub: Callable[..., Hub],
) -> None:
    """Behind a proxy the app sees http://testserver; Twilio signed the public URL."""
    hub = make_hub(
        sms={
            "provider": "twilio",
            "twilio": {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN},
        },
        webhooks={"public_url": "https://hooks.example.com"},
    )
    seen: list[HubEvent] = []

    @hub.on("sms.undelivered")
    async def on_undelivered(event: HubEvent) -> None:
        seen.append(event)

    request = signed(status_callback("undelivered", ErrorCode="30005"), url=URL)
    transport = httpx.ASGITransport(app=create_app(hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        first = await client.post(
            "/webhooks/twilio", content=request.body, headers=dict(request.headers)
        )
        again = await client.post(
            "/webhooks/twilio", content=request.body, headers=dict(request.headers)
        )
    assert first.status_code == 200, first.text
    assert first.json() == {"received": 1, "duplicates": 0}
    assert again.json() == {"received": 1, "duplicates": 1}, "Twilio's retry runs no handler"
    assert [e.reason for e in seen] == ["30005 unknown destination handset"]


async def test_the_receiver_refuses_a_url_twilio_did_not_sign(
    make_hub: Callable[..., Hub],
) -> None:
    hub = make_hub(
        sms={"provider": "twilio", "twilio": {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}}
    )  # no public_url: the app reconstructs http://testserver/webhooks/twilio
    request = signed(status_callback("sent"), url=URL)
    transport = httpx.ASGITransport(app=create_app(hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post(
            "/webhooks/twilio", content=request.body, headers=dict(request.headers)
        )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid webhook"}


async def test_post_event_round_trips_through_the_test_hooks(
    hub_with: Callable[..., Hub],
) -> None:
    hub = hub_with()
    got: list[HubEvent] = []

    @hub.on("sms.*")
    async def record(event: HubEvent) -> None:
        got.append(event)

    event = HubEvent(
        type="sms.failed",
        provider="twilio",
        capability="sms",
        provider_event_id=f"{SID}:failed",
        subject_id=SID,
        recipient="+14155550100",
        data={"status": "failed", "error_code": "30008"},
    )
    response = await post_event(hub, event)
    assert response.json() == {"received": 1, "duplicates": 0}
    assert [(e.type, e.provider_event_id, e.reason) for e in got] == [
        ("sms.failed", f"{SID}:failed", "30008 unknown error")
    ]


async def test_verify_provider_receives_its_own_callbacks(make_hub: Callable[..., Hub]) -> None:
    hub = make_hub(
        sms={
            "provider": "twilio_verify",
            "twilio_verify": {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN},
        }
    )
    handler = webhook_handler(hub, "twilio_verify")
    request = signed(status_callback("delivered"), url=URL.replace("twilio", "twilio_verify"))
    handler.verify(request)
    (event,) = handler.parse(request)
    assert event.provider == "twilio_verify"
    assert event.type == "sms.delivered"
