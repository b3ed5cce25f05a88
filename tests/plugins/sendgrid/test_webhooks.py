"""SendGrid's signed Event Webhook: ECDSA verification and normalized events."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hub.core import Hub
from hub.errors import ConfigurationError, WebhookError
from hub.webhooks.app import create_app
from hub.webhooks.events import HubEvent
from hub.webhooks.handler import InboundRequest, receive, webhook_handler
from hub.webhooks.signatures import sign_sendgrid

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("isolated_env")]

URL = "https://hooks.example.com/webhooks/sendgrid"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_text(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


KEY = new_key()
OLD_KEY = new_key()


@pytest.fixture
async def hub(tmp_path: Path, anyio_backend: object) -> AsyncIterator[Hub]:
    keys = f"{public_text(KEY)},{public_text(OLD_KEY)}"  # rotating: both accepted
    async with Hub.from_settings(
        env="test",
        data_dir=tmp_path,
        state={"url": "memory://"},
        email={"sendgrid": {"webhook_public_key": keys}},
    ) as h:
        yield h


def signed(
    events: list[dict[str, Any]],
    *,
    key: ec.EllipticCurvePrivateKey = KEY,
    timestamp: int | None = None,
) -> InboundRequest:
    body = json.dumps(events).encode()
    headers = sign_sendgrid(body, private_key=key, timestamp=timestamp or int(time.time()))
    return InboundRequest(
        url=URL, body=body, headers={**headers, "content-type": "application/json"}
    )


def event(kind: str, n: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "email": "ada@example.com",
        "timestamp": 1_700_000_000 + n,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": kind,
        "category": ["orders"],
        "sg_event_id": f"evt-{kind}-{n}",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        **fields,
    }


# -- verification --------------------------------------------------------------------------------


async def test_a_genuine_request_verifies(hub: Hub) -> None:
    webhook_handler(hub, "sendgrid").verify(signed([event("delivered")]))


async def test_a_request_signed_with_the_previous_key_verifies_while_rotating(hub: Hub) -> None:
    webhook_handler(hub, "sendgrid").verify(signed([event("delivered")], key=OLD_KEY))


@pytest.mark.parametrize(
    "tamper",
    ["body", "timestamp", "foreign-key", "stale", "future", "no-signature"],
)
async def test_a_forged_or_replayed_request_is_refused(hub: Hub, tamper: str) -> None:
    request = signed([event("delivered")])
    headers = dict(request.headers)
    body = request.body
    if tamper == "body":
        body = body.replace(b"ada@", b"eve@")
    elif tamper == "timestamp":
        headers["x-twilio-email-event-webhook-timestamp"] = str(int(time.time()) + 1)
    elif tamper == "foreign-key":
        headers = dict(signed([event("delivered")], key=new_key()).headers)
    elif tamper == "stale":
        headers = dict(signed([event("delivered")], timestamp=int(time.time()) - 3600).headers)
    elif tamper == "future":
        headers = dict(signed([event("delivered")], timestamp=int(time.time()) + 3600).headers)
    else:
        del headers["x-twilio-email-event-webhook-signature"]
    with pytest.raises(WebhookError):
        webhook_handler(hub, "sendgrid").verify(InboundRequest(url=URL, body=body, headers=headers))


async def test_the_receiver_app_answers_400_to_a_bad_signature_and_200_to_a_good_one(
    hub: Hub,
) -> None:
    good = signed([event("delivered")])
    bad = signed([event("delivered")], key=new_key())
    transport = httpx.ASGITransport(app=create_app(hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        refused = await client.post(
            "/webhooks/sendgrid", content=bad.body, headers=list(bad.headers.items())
        )
        accepted = await client.post(
            "/webhooks/sendgrid", content=good.body, headers=list(good.headers.items())
        )
    assert refused.status_code == 400
    assert accepted.status_code == 200
    assert accepted.json() == {"received": 1, "duplicates": 0}


async def test_a_missing_public_key_is_a_configuration_error(tmp_path: Path) -> None:
    async with Hub.from_settings(env="test", data_dir=tmp_path, state={"url": "memory://"}) as h:
        with pytest.raises(ConfigurationError, match="SENDGRID_WEBHOOK_PUBLIC_KEY"):
            webhook_handler(h, "sendgrid")


# -- normalization ---------------------------------------------------------------------------------


async def test_every_sendgrid_event_becomes_a_normalized_hub_event(hub: Hub) -> None:
    seen: list[HubEvent] = []

    @hub.on("email.*")
    async def collect(e: HubEvent) -> None:
        seen.append(e)

    payload = [
        event("processed", 1),
        event("dropped", 2, reason="Bounced Address", status="5.0.0"),
        event("delivered", 3, response="250 OK"),
        event("deferred", 4, response="400 try again later", attempt="5"),
        event("bounce", 5, type="bounce", reason="550 5.1.1 no such user", status="5.1.1"),
        event("bounce", 6, type="blocked", reason="550 blocked by policy", status="5.7.1"),
        event("open", 7, useragent="Mozilla/5.0", ip="192.0.2.1"),
        event("click", 8, url="https://example.com/order/42"),
        event("spamreport", 9),
        event("unsubscribe", 10),
        event("group_unsubscribe", 11, asm_group_id=7),
        event("group_resubscribe", 12, asm_group_id=7),
    ]
    received = await receive(hub, "sendgrid", signed(payload))
    assert received.received == 12

    assert [(e.type, e.bounce_type) for e in seen] == [
        ("email.queued", None),
        ("email.rejected", None),
        ("email.delivered", None),
        ("email.deferred", None),
        ("email.bounced", "hard"),
        ("email.bounced", "soft"),
        ("email.opened", None),
        ("email.clicked", None),
        ("email.complained", None),
        ("email.unsubscribed", None),
        ("email.unsubscribed", None),
        ("email.x-group_resubscribed", None),
    ]
    first = seen[0]
    assert first.provider == "sendgrid"
    assert first.provider_event_id == "evt-processed-1"
    assert first.subject_id == "14c5d75ce93.dfd.64b469"  # the send's X-Message-Id
    assert first.recipient == "ada@example.com"
    assert first.occurred_at.timestamp() == 1_700_000_001
    assert first.data["tags"] == ["orders"]
    assert seen[1].reason == "Bounced Address"
    assert seen[3].reason == "400 try again later"
    assert seen[4].reason == "550 5.1.1 no such user"
    assert seen[7].url == "https://example.com/order/42"
    assert seen[10].data["asm_group_id"] == 7
    assert seen[4].raw == payload[4]


async def test_custom_args_come_back_as_metadata(hub: Hub) -> None:
    [parsed] = webhook_handler(hub, "sendgrid").parse(
        signed([event("delivered", order_id="42", customer="c_7")])
    )
    assert parsed.data["metadata"] == {"order_id": "42", "customer": "c_7"}


async def test_a_redelivered_event_runs_handlers_once(hub: Hub) -> None:
    calls: list[str] = []

    @hub.on("email.delivered")
    async def count(e: HubEvent) -> None:
        calls.append(e.provider_event_id)

    await receive(hub, "sendgrid", signed([event("delivered")]))
    again = await receive(hub, "sendgrid", signed([event("delivered")]))
    assert again.duplicates == 1
    assert calls == ["evt-delivered-1"]


@pytest.mark.parametrize(
    "payload",
    [{"event": "delivered"}, [{"event": "delivered"}], [{"sg_event_id": "x", "event": "open"}]],
    ids=["not-an-array", "no-event-id", "no-timestamp"],
)
async def test_a_payload_that_makes_no_sense_is_refused(hub: Hub, payload: Any) -> None:
    body = json.dumps(payload).encode()
    request = InboundRequest(
        url=URL, body=body, headers=sign_sendgrid(body, private_key=KEY, timestamp=int(time.time()))
    )
    with pytest.raises(WebhookError):
        await receive(hub, "sendgrid", request)
