"""Mailgun webhooks: HMAC verification (keys, rotation, staleness) and normalized HubEvents.

Payloads follow Mailgun's documented webhook payloads (``signature`` + ``event-data``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hub_mailgun.webhooks import sign_payload
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.core import Hub
from hub.errors import ConfigurationError, WebhookError
from hub.testing.webhooks import post_event, webhook_url
from hub.webhooks.events import HubEvent
from hub.webhooks.handler import InboundRequest, receive, webhook_handler
from tests.plugins.mailgun.conftest import SIGNING_KEY, mailgun_settings

pytestmark = pytest.mark.anyio

MESSAGE_ID = "20240501120000.1.A1B2C3D4E5F6@mg.example.com"
TIMESTAMP = 1714564800.123456


def event_data(event: str, **fields: Any) -> dict[str, Any]:
    return {
        "event": event,
        "id": f"evt-{event}-{fields.pop('n', 1)}",
        "timestamp": TIMESTAMP,
        "recipient": "ada@example.com",
        "recipient-domain": "example.com",
        "tags": ["welcome"],
        "user-variables": {"user_id": "42"},
        "flags": {"is-authenticated": True, "is-test-mode": False},
        "message": {
            "headers": {
                "message-id": MESSAGE_ID,
                "from": "Shop <shop@mg.example.com>",
                "to": "ada@example.com",
                "subject": "Hello",
            },
            "attachments": [],
            "size": 111,
        },
        **fields,
    }


def request(hub: Hub, body: Any) -> InboundRequest:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return InboundRequest(
        url=webhook_url(hub, "mailgun"),
        body=content,
        headers={"content-type": "application/json"},
    )


def signed(hub: Hub, data: dict[str, Any], **options: Any) -> InboundRequest:
    return request(hub, sign_payload(data, key=options.pop("key", SIGNING_KEY), **options))


# -- verification -------------------------------------------------------------------------


async def test_a_genuine_request_verifies(mailgun_hub: Callable[..., Hub]) -> None:
    hub = mailgun_hub()
    webhook_handler(hub, "mailgun").verify(signed(hub, event_data("delivered")))


async def test_a_tampered_token_or_timestamp_fails(mailgun_hub: Callable[..., Hub]) -> None:
    hub = mailgun_hub()
    handler = webhook_handler(hub, "mailgun")
    body = sign_payload(event_data("delivered"), key=SIGNING_KEY)
    for name, value in (("token", "f" * 50), ("timestamp", str(int(time.time()) - 1))):
        tampered = {**body, "signature": {**body["signature"], name: value}}
        with pytest.raises(WebhookError, match="signature mismatch"):
            handler.verify(request(hub, tampered))


async def test_the_wrong_key_fails(mailgun_hub: Callable[..., Hub]) -> None:
    hub = mailgun_hub()
    with pytest.raises(WebhookError, match="signature mismatch"):
        webhook_handler(hub, "mailgun").verify(
            signed(hub, event_data("delivered"), key="someone-elses-key")
        )


async def test_a_stale_timestamp_fails(mailgun_hub: Callable[..., Hub]) -> None:
    hub = mailgun_hub()
    old = int(time.time()) - 3600
    with pytest.raises(WebhookError, match="stale"):
        webhook_handler(hub, "mailgun").verify(signed(hub, event_data("delivered"), timestamp=old))


async def test_the_previous_key_is_accepted_while_rotating(
    mailgun_hub: Callable[..., Hub],
) -> None:
    hub = mailgun_hub(
        webhook_signing_key="the-new-signing-key-1234",
        previous_webhook_signing_key=SIGNING_KEY,
    )
    handler = webhook_handler(hub, "mailgun")
    handler.verify(signed(hub, event_data("delivered"), key=SIGNING_KEY))
    handler.verify(signed(hub, event_data("delivered"), key="the-new-signing-key-1234"))
    with pytest.raises(WebhookError):
        handler.verify(signed(hub, event_data("delivered"), key="retired-key-0000"))


async def test_a_subaccount_parent_signature_is_accepted(
    mailgun_hub: Callable[..., Hub],
) -> None:
    hub = mailgun_hub()
    body = sign_payload(event_data("delivered"), key=SIGNING_KEY)
    block = body["signature"]
    body["signature"] = {**block, "signature": "0" * 64, "parent-signature": block["signature"]}
    webhook_handler(hub, "mailgun").verify(request(hub, body))


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"event-data": {}}', b'{"signature": "x", "event-data": {}}', b"[]"],
    ids=["not-json", "no-signature", "signature-not-object", "array"],
)
async def test_malformed_bodies_are_webhook_errors(
    mailgun_hub: Callable[..., Hub], body: bytes
) -> None:
    hub = mailgun_hub()
    with pytest.raises(WebhookError):
        webhook_handler(hub, "mailgun").verify(request(hub, body))


async def test_no_signing_key_is_a_configuration_error(
    mailgun_hub: Callable[..., Hub],
) -> None:
    hub = mailgun_hub(webhook_signing_key=None)
    with pytest.raises(ConfigurationError, match="MAILGUN_WEBHOOK_SIGNING_KEY"):
        webhook_handler(hub, "mailgun")


# -- normalization ------------------------------------------------------------------------


def parse(hub: Hub, data: dict[str, Any]) -> HubEvent:
    [event] = webhook_handler(hub, "mailgun").parse(signed(hub, data))
    return event


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (event_data("accepted"), {"type": "email.queued"}),
        (event_data("delivered"), {"type": "email.delivered"}),
        (
            event_data(
                "failed",
                severity="permanent",
                reason="bounce",
                **{"delivery-status": {"code": 550, "message": "5.1.1 The email account "
                   "does not exist", "description": "", "attempt-no": 1}},
            ),
            {"type": "email.bounced", "bounce_type": "hard",
             "reason": "5.1.1 The email account does not exist"},
        ),
        (
            event_data(
                "failed",
                severity="temporary",
                reason="generic",
                **{"delivery-status": {"code": 452, "description": "Mailbox full",
                   "retry-seconds": 600}},
            ),
            {"type": "email.bounced", "bounce_type": "soft", "reason": "Mailbox full"},
        ),
        (
            event_data(
                "failed",
                severity="permanent",
                reason="suppress-bounce",
                **{"delivery-status": {"code": 605, "description": "Not delivering to "
                   "previously bounced address"}},
            ),
            {"type": "email.rejected", "reason": "suppress-bounce"},
        ),
        (event_data("opened"), {"type": "email.opened"}),
        (
            event_data("clicked", url="https://shop.example.com/welcome?ref=mail"),
            {"type": "email.clicked", "url": "https://shop.example.com/welcome?ref=mail"},
        ),
        (event_data("unsubscribed"), {"type": "email.unsubscribed"}),
        (event_data("complained"), {"type": "email.complained"}),
        (
            event_data("rejected", reject={"reason": "Sandbox subdomains are for test "
                       "purposes only", "description": ""}),
            {"type": "email.rejected", "reason": "Sandbox subdomains are for test purposes only"},
        ),
        (event_data("stored"), {"type": "email.x-stored"}),
    ],
    ids=[
        "accepted", "delivered", "failed-permanent", "failed-temporary", "failed-suppressed",
        "opened", "clicked", "unsubscribed", "complained", "rejected", "stored",
    ],
)  # fmt: skip
async def test_events_are_normalized(
    mailgun_hub: Callable[..., Hub], data: dict[str, Any], expected: dict[str, Any]
) -> None:
    event = parse(mailgun_hub(), data)
    assert event.provider == "mailgun"
    assert event.capability == "email"
    assert event.provider_event_id == data["id"]
    assert event.subject_id == MESSAGE_ID
    assert event.recipient == "ada@example.com"
    assert event.occurred_at.timestamp() == pytest.approx(TIMESTAMP)
    assert event.data["tags"] == ["welcome"]
    assert event.data["metadata"] == {"user_id": "42"}
    assert event.raw == data
    for name, value in expected.items():
        assert getattr(event, name) == value, name


async def test_the_subject_id_is_the_receipts_provider_id(
    mailgun_hub: Callable[..., Hub],
) -> None:
    """A receipt's provider_id and its events' subject_id match (both without brackets)."""
    data = event_data("delivered")
    data["message"]["headers"]["message-id"] = f"<{MESSAGE_ID}>"
    assert parse(mailgun_hub(), data).subject_id == MESSAGE_ID


# -- end to end ---------------------------------------------------------------------------


async def test_a_replayed_event_is_handled_once(mailgun_hub: Callable[..., Hub]) -> None:
    hub = mailgun_hub()
    seen: list[HubEvent] = []

    @hub.on("email.bounced")
    async def on_bounce(event: HubEvent) -> None:
        seen.append(event)

    data = event_data("failed", severity="permanent", reason="bounce")
    genuine = signed(hub, data)
    first = await receive(hub, "mailgun", genuine)
    again = await receive(hub, "mailgun", genuine)
    assert (first.received, first.duplicates) == (1, 0)
    assert (again.received, again.duplicates) == (1, 1)
    assert [e.bounce_type for e in seen] == ["hard"]


async def test_posting_through_the_receiver_app(mailgun_hub: Callable[..., Hub]) -> None:
    hub = mailgun_hub()
    seen: list[HubEvent] = []

    @hub.on("email.*")
    async def on_any(event: HubEvent) -> None:
        seen.append(event)

    event = HubEvent(
        type="email.clicked",
        provider="mailgun",
        capability="email",
        provider_event_id="evt-click-1",
        subject_id=MESSAGE_ID,
        recipient="ada@example.com",
        url="https://shop.example.com/",
    )
    response = await post_event(hub, event)
    assert response.status_code == 200, response.text
    assert [(e.type, e.url, e.subject_id) for e in seen] == [
        ("email.clicked", "https://shop.example.com/", MESSAGE_ID)
    ]
    forged_body = b'{"signature": {"timestamp": "1", "token": "x", "signature": "00"}}'
    forged = await post_event(hub, forged_body, provider="mailgun")
    assert forged.status_code == 406  # Mailgun retries anything but 200 and 406


@pytest.mark.parametrize(
    "body",
    [
        sign_payload(event_data("delivered"), key="someone-elses-key"),
        sign_payload(event_data("delivered"), key=SIGNING_KEY, timestamp=int(time.time()) - 3600),
        b"not json",
    ],
    ids=["forged", "stale", "garbage"],
)
async def test_every_refusal_is_406_the_answer_mailgun_does_not_retry(
    mailgun_hub: Callable[..., Hub], body: Any
) -> None:
    """Mailgun retries anything but 200 and 406 for hours; a refusal must not come back."""
    response = await post_event(mailgun_hub(), body, provider="mailgun")
    assert (response.status_code, response.json()) == (406, {"error": "invalid webhook"})


# -- hostile input ------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
event_fields = st.fixed_dictionaries(
    {},
    optional={
        "event": json_values | st.sampled_from(["failed", "clicked", "rejected", "delivered"]),
        "id": json_values,
        "timestamp": json_values | st.sampled_from([1e300, -1e300, float("nan")]),
        "recipient": json_values,
        "severity": json_values,
        "reason": json_values,
        "delivery-status": json_values,
        "message": json_values,
        "reject": json_values,
        "url": json_values,
        "tags": json_values,
        "user-variables": json_values,
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=event_fields, block=st.dictionaries(st.text(max_size=10), json_values, max_size=4))
def test_hostile_payloads_raise_only_webhook_errors(
    data: dict[str, Any], block: dict[str, Any]
) -> None:
    hub = Hub.from_settings(**mailgun_settings(Path("/nonexistent")))
    handler = webhook_handler(hub, "mailgun")
    genuine = signed(hub, data)
    forged = request(hub, {"signature": block, "event-data": data})
    for inbound in (genuine, forged):
        try:
            handler.verify(inbound)
            events = handler.parse(inbound)
        except WebhookError:
            continue
        assert inbound is genuine
        assert len(events) == 1
