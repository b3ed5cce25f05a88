"""Postmark webhooks: Basic credentials checked in constant time, events normalized."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hub.core import Hub
from hub.errors import ConfigurationError, WebhookError
from hub.testing.webhooks import post_event
from hub.webhooks.events import HubEvent
from hub.webhooks.handler import InboundRequest, receive, webhook_handler
from hub.webhooks.signatures import sign_basic_auth

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("isolated_env")]

URL = "https://hooks.example.com/webhooks/postmark"
USER = "postmark-hooks"
PASSWORD = "correct-horse-battery"
OLD_PASSWORD = "old-staple-password"
MESSAGE_ID = "883953f4-6105-42a2-a16a-77a8eac79483"
AT = "2019-11-05T16:33:54.9070259Z"
METADATA = {"a_key": "a_value", "b_key": "b_value"}

# Payloads as Postmark's webhook reference documents them.
DELIVERY = {
    "MessageID": MESSAGE_ID,
    "Recipient": "john@example.com",
    "DeliveredAt": AT,
    "Details": "Test delivery webhook details",
    "Tag": "welcome-email",
    "ServerID": 23,
    "Metadata": METADATA,
    "RecordType": "Delivery",
    "MessageStream": "outbound",
}


def bounce(kind: str, code: int, id_: int = 4323372036854775807, **extra: Any) -> dict[str, Any]:
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": id_,
        "Type": kind,
        "TypeCode": code,
        "Name": kind,
        "Tag": "Test",
        "MessageID": MESSAGE_ID,
        "Metadata": METADATA,
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": "Test bounce details",
        "Email": "john@example.com",
        "From": "sender@example.com",
        "BouncedAt": AT,
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Test subject",
        **extra,
    }


SPAM = {**bounce("SpamComplaint", 512, id_=42), "RecordType": "SpamComplaint"}
OPEN = {
    "RecordType": "Open",
    "MessageStream": "outbound",
    "FirstOpen": True,
    "Platform": "WebMail",
    "UserAgent": "Mozilla/5.0",
    "ReadSeconds": 5,
    "MessageID": MESSAGE_ID,
    "Metadata": METADATA,
    "ReceivedAt": AT,
    "Tag": "welcome-email",
    "Recipient": "john@example.com",
}
CLICK = {
    **OPEN,
    "RecordType": "Click",
    "ClickLocation": "HTML",
    "OriginalLink": "https://example.com/order/42",
}
del CLICK["FirstOpen"]
SUBSCRIPTION = {
    "RecordType": "SubscriptionChange",
    "MessageID": MESSAGE_ID,
    "ServerID": 23,
    "MessageStream": "outbound",
    "ChangedAt": "2020-02-01T10:53:34.416071Z",
    "Recipient": "john@example.com",
    "Origin": "Recipient",
    "SuppressSending": True,
    "SuppressionReason": "ManualSuppression",
    "Tag": "my-tag",
    "Metadata": METADATA,
}


def basic_credentials(user: str, password: str) -> str:
    """The Authorization value Postmark sends for credentials in the webhook URL."""
    return sign_basic_auth(user, password)["Authorization"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def hub(tmp_path: Path, anyio_backend: object) -> AsyncIterator[Hub]:
    section = {
        "webhook_username": USER,
        "webhook_password": PASSWORD,
        "webhook_previous_passwords": [OLD_PASSWORD],
    }
    async with Hub.from_settings(
        env="test", data_dir=tmp_path, state={"url": "memory://"}, email={"postmark": section}
    ) as h:
        yield h


def request(payload: Any, *, user: str = USER, password: str = PASSWORD) -> InboundRequest:
    return InboundRequest(
        url=URL,
        body=json.dumps(payload).encode(),
        headers={
            "content-type": "application/json",
            "authorization": basic_credentials(user, password),
        },
    )


# -- authentication -------------------------------------------------------------------------------


async def test_the_configured_credentials_are_accepted(hub: Hub) -> None:
    webhook_handler(hub, "postmark").verify(request(DELIVERY))


async def test_the_previous_password_is_accepted_while_rotating(hub: Hub) -> None:
    webhook_handler(hub, "postmark").verify(request(DELIVERY, password=OLD_PASSWORD))


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        basic_credentials(USER, "wrong-password"),
        basic_credentials("someone-else", PASSWORD),
        basic_credentials(USER, PASSWORD + "x"),
        "Bearer " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
        "Basic not-base64!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
    ],
    ids=[
        "missing",
        "wrong-password",
        "wrong-user",
        "longer-password",
        "not-basic",
        "malformed",
        "no-colon",
    ],
)
async def test_anything_but_the_credentials_is_refused(hub: Hub, authorization: str | None) -> None:
    headers = {"content-type": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    inbound = InboundRequest(url=URL, body=json.dumps(DELIVERY).encode(), headers=headers)
    with pytest.raises(WebhookError) as caught:
        webhook_handler(hub, "postmark").verify(inbound)
    assert PASSWORD not in str(caught.value)


async def test_missing_credentials_in_settings_are_a_configuration_error(
    tmp_path: Path,
) -> None:
    async with Hub.from_settings(env="test", data_dir=tmp_path, state={"url": "memory://"}) as h:
        with pytest.raises(ConfigurationError, match="WEBHOOK_PASSWORD"):
            webhook_handler(h, "postmark")


async def test_the_receiver_app_accepts_a_signed_delivery_and_refuses_a_forged_one(
    hub: Hub,
) -> None:
    accepted = await post_event(hub, DELIVERY, provider="postmark")
    refused = await post_event(
        hub,
        DELIVERY,
        provider="postmark",
        headers={"Authorization": basic_credentials(USER, "guess")},
    )
    doubled = await post_event(
        hub,
        {**DELIVERY, "Details": "another"},
        provider="postmark",
        headers={"authorization": basic_credentials(USER, "guess")},
    )
    assert accepted.status_code == 200
    assert accepted.json() == {"received": 1, "duplicates": 0}
    assert refused.status_code == 400
    assert doubled.status_code == 400  # a second Authorization header is not ignored


# -- normalization --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "event_type", "bounce_type"),
    [
        (DELIVERY, "email.delivered", None),
        (bounce("HardBounce", 1), "email.bounced", "hard"),
        (bounce("BadEmailAddress", 100000), "email.bounced", "hard"),
        (bounce("SoftBounce", 4096), "email.bounced", "soft"),
        (bounce("Transient", 2), "email.bounced", "soft"),
        (bounce("DnsError", 256), "email.bounced", "soft"),
        (bounce("ManuallyDeactivated", 100002), "email.rejected", None),
        (bounce("TemplateRenderingFailed", 100010), "email.failed", None),
        (bounce("AutoResponder", 64), "email.x-autoresponder", None),
        (SPAM, "email.complained", None),
        (OPEN, "email.opened", None),
        (CLICK, "email.clicked", None),
        (SUBSCRIPTION, "email.unsubscribed", None),
        ({**SUBSCRIPTION, "SuppressSending": False}, "email.x-reactivated", None),
        ({**SUBSCRIPTION, "SuppressionReason": "HardBounce"}, "email.x-suppressed", None),
    ],
    ids=[
        "delivery",
        "hard-bounce",
        "bad-address",
        "soft-bounce",
        "transient",
        "dns-error",
        "deactivated",
        "template-failed",
        "autoresponder",
        "spam-complaint",
        "open",
        "click",
        "unsubscribe",
        "reactivated",
        "suppressed",
    ],
)
async def test_postmark_records_become_normalized_events(
    hub: Hub, payload: dict[str, Any], event_type: str, bounce_type: str | None
) -> None:
    [event] = webhook_handler(hub, "postmark").parse(request(payload))
    assert event.type == event_type
    assert event.bounce_type == bounce_type
    assert event.provider == "postmark"
    assert event.subject_id == MESSAGE_ID
    assert event.recipient == "john@example.com"
    assert event.raw == payload
    assert event.data["metadata"] == METADATA


async def test_fields_users_check_are_filled(hub: Hub) -> None:
    handler = webhook_handler(hub, "postmark")
    [delivered] = handler.parse(request(DELIVERY))
    assert delivered.occurred_at.isoformat() == "2019-11-05T16:33:54.907025+00:00"
    assert delivered.data["tag"] == "welcome-email"
    assert delivered.data["message_stream"] == "outbound"
    [bounced] = handler.parse(request(bounce("HardBounce", 1)))
    assert bounced.provider_event_id == "bounce:4323372036854775807"
    assert bounced.reason is not None
    assert "unable to deliver" in bounced.reason
    assert bounced.data["inactive"] is True
    [clicked] = handler.parse(request(CLICK))
    assert clicked.url == "https://example.com/order/42"


async def test_a_redelivered_event_runs_handlers_once(hub: Hub) -> None:
    seen: list[str] = []

    @hub.on("email.opened")
    async def count(e: HubEvent) -> None:
        seen.append(e.provider_event_id)

    first = await receive(hub, "postmark", request(OPEN))
    again = await receive(hub, "postmark", request(OPEN))
    other = await receive(hub, "postmark", request({**OPEN, "ReceivedAt": "2019-11-05T17:00:00Z"}))
    assert (first.duplicates, again.duplicates, other.duplicates) == (0, 1, 0)
    assert len(seen) == 2


@pytest.mark.parametrize(
    "payload", [[DELIVERY], {"MessageID": MESSAGE_ID}], ids=["array", "no-record-type"]
)
async def test_a_payload_that_makes_no_sense_is_refused(hub: Hub, payload: Any) -> None:
    with pytest.raises(WebhookError):
        await receive(hub, "postmark", request(payload))
