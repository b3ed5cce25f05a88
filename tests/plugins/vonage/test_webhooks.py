"""Vonage webhooks: signatures computed as Vonage documents them, and normalized HubEvents."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from hub_vonage.signing import sign_params, signature, verify_params

from hub.errors import WebhookError
from hub.testing.clock import FakeClock
from hub.testing.webhooks import post_event
from hub.webhooks.events import HubEvent
from hub.webhooks.handler import InboundRequest, webhook_handler
from tests.plugins.vonage.conftest import MakeHub

pytestmark = pytest.mark.anyio

SECRET = "dashboard-signature-secret"
OLD_SECRET = "previous-signature-secret"
URL = "https://hooks.example.com/webhooks/vonage"

#: A delivery receipt as the SMS API reference documents it.
DLR = {
    "msisdn": "447700900000",
    "to": "AcmeInc",
    "network-code": "23410",
    "messageId": "0A0000001234567B",
    "price": "0.03330000",
    "status": "delivered",
    "scts": "2001011400",
    "err-code": "0",
    "api-key": "abcd1234",
    "message-timestamp": "2020-01-01 12:00:00",
}
#: An inbound message as documented.
INBOUND = {
    "api-key": "abcd1234",
    "msisdn": "447700900001",
    "to": "447700900000",
    "messageId": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    "text": "Hello world",
    "type": "text",
    "keyword": "HELLO",
    "message-timestamp": "2020-01-01 12:00:00",
}


def signed(
    params: dict[str, str], clock: FakeClock, secret: str = SECRET, **kw: Any
) -> dict[str, str]:
    return sign_params(
        {**params, "nonce": "c6b8f9c2-52b4-4b3e-9e4f-6f2b1c3d4e5f"},
        secret=secret,
        method=kw.get("method", "md5hash"),
        timestamp=int(clock.now()),
    )


def post_json(params: dict[str, str]) -> InboundRequest:
    return InboundRequest(
        url=URL, body=json.dumps(params).encode(), headers={"content-type": "application/json"}
    )


def post_form(params: dict[str, str]) -> InboundRequest:
    return InboundRequest(
        url=URL,
        body=urlencode(params).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )


def get(params: dict[str, str]) -> InboundRequest:
    return InboundRequest(url=f"{URL}?{urlencode(params)}", method="GET")


def receive(hub: Any, request: InboundRequest) -> list[HubEvent]:
    handler = webhook_handler(hub, "vonage")
    handler.verify(request)
    return handler.parse(request)


# -- the signature scheme -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("md5hash", "6af838ef94998832dbfc29020b564830"),
        ("md5", "c15c21ced558c93a226c305f58f902f2"),
        ("sha1", "3e19a4e6880fdc2c1426bfd0587c98b9532f0210"),
        ("sha256", "a321e824b9b816be7c3f28859a31749a098713d39f613c80d455bbaffae1cd24"),
        (
            "sha512",
            "812a18f76680fa0fe1b8bd9ee1625466ceb1bd96242e4d050d2cfd9a7b40166c63ed26ec9702168781b6edcf"
            "1633db8ff95af9341701004eec3fcf9550572ee8",
        ),
    ],
)
def test_signatures_match_vonages_published_vectors(method: str, expected: str) -> None:
    # The vectors of Vonage's own Python SDK tests: secret "secret", params a=1, b=2.
    params = {"a": "1", "b": "2", "timestamp": "1461605396"}
    assert signature(params, secret="secret", method=method) == expected  # type: ignore[arg-type]
    verify_params(
        {**params, "sig": expected.upper()},
        secrets=["secret"],
        method=method,  # type: ignore[arg-type]
        tolerance=300,
        now=1461605396 + 299,
    )


def test_ampersands_and_equals_signs_in_values_are_signed_as_underscores() -> None:
    params = {"text": "a=b&c", "timestamp": "1"}
    assert signature(params, secret="s", method="md5hash") == signature(
        {"text": "a_b_c", "timestamp": "1"}, secret="s", method="md5hash"
    )


# -- verification ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["md5hash", "md5", "sha1", "sha256", "sha512"])
@pytest.mark.parametrize("transport", [post_json, post_form, get], ids=["json", "form", "get"])
async def test_a_signed_receipt_is_accepted_however_it_is_sent(
    make_vonage_hub: MakeHub, clock: FakeClock, method: str, transport: Any
) -> None:
    hub = make_vonage_hub(signature_secret=SECRET, signature_method=method)
    [event] = receive(hub, transport(signed(DLR, clock, method=method)))
    assert event.type == "sms.delivered"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"status": "failed"}, "signature mismatch"),
        ({"msisdn": "447700900999"}, "signature mismatch"),
        ({"extra": "added after signing"}, "signature mismatch"),
        ({"sig": ""}, "missing sig"),
        ({"timestamp": ""}, "missing timestamp"),
        ({"sig": "ünïcode"}, "not ASCII"),
    ],
    ids=["status", "msisdn", "added-field", "no-sig", "no-timestamp", "non-ascii-sig"],
)
async def test_a_tampered_receipt_is_refused(
    make_vonage_hub: MakeHub, clock: FakeClock, change: dict[str, str], why: str
) -> None:
    hub = make_vonage_hub(signature_secret=SECRET)
    params = {**signed(DLR, clock), **change}
    with pytest.raises(WebhookError, match=why):
        receive(hub, post_json({k: v for k, v in params.items() if v}))


async def test_a_receipt_signed_with_another_secret_is_refused(
    make_vonage_hub: MakeHub, clock: FakeClock
) -> None:
    hub = make_vonage_hub(signature_secret=SECRET)
    with pytest.raises(WebhookError, match="signature mismatch"):
        receive(hub, post_json(signed(DLR, clock, secret="someone-elses-secret")))


@pytest.mark.parametrize(("shift", "why"), [(-301, "stale"), (301, "future")])
async def test_a_receipt_outside_the_tolerance_is_refused(
    make_vonage_hub: MakeHub, clock: FakeClock, shift: int, why: str
) -> None:
    hub = make_vonage_hub(signature_secret=SECRET)
    params = sign_params(DLR, secret=SECRET, method="md5hash", timestamp=int(clock.now()) + shift)
    with pytest.raises(WebhookError, match=why):
        receive(hub, post_json(params))


async def test_the_previous_secret_is_accepted_while_rotating_and_not_after(
    make_vonage_hub: MakeHub, clock: FakeClock
) -> None:
    rotating = make_vonage_hub(signature_secret=SECRET, previous_signature_secret=OLD_SECRET)
    old = post_json(signed(DLR, clock, secret=OLD_SECRET))
    assert [e.type for e in receive(rotating, old)] == ["sms.delivered"]
    new = post_json(signed(DLR, clock, secret=SECRET))
    assert [e.type for e in receive(rotating, new)] == ["sms.delivered"]
    rotated = make_vonage_hub(signature_secret=SECRET)
    with pytest.raises(WebhookError, match="signature mismatch"):
        receive(rotated, old)


async def test_without_a_secret_webhooks_are_refused_unless_explicitly_allowed(
    make_vonage_hub: MakeHub,
) -> None:
    strict = make_vonage_hub()
    with pytest.raises(WebhookError, match="ALLOW_UNSIGNED_WEBHOOKS"):
        receive(strict, post_json(DLR))
    relaxed = make_vonage_hub(allow_unsigned_webhooks=True)
    assert [e.type for e in receive(relaxed, post_json(DLR))] == ["sms.delivered"]


async def test_an_unsigned_receipt_is_refused_when_a_secret_is_configured(
    make_vonage_hub: MakeHub,
) -> None:
    hub = make_vonage_hub(signature_secret=SECRET, allow_unsigned_webhooks=True)
    with pytest.raises(WebhookError, match="missing sig"):
        receive(hub, post_json(DLR))


# -- normalization -----------------------------------------------------------------------------


async def test_a_delivered_receipt_becomes_sms_delivered(make_vonage_hub: MakeHub) -> None:
    hub = make_vonage_hub(allow_unsigned_webhooks=True)
    [event] = receive(hub, post_json({**DLR, "client-ref": "order=42&shop=berlin"}))
    assert event.type == "sms.delivered"
    assert event.provider == "vonage"
    assert event.capability == "sms"
    assert event.provider_event_id == "0A0000001234567B:delivered"
    assert event.subject_id == "0A0000001234567B"
    assert event.recipient == "+447700900000"
    assert event.reason is None
    assert event.occurred_at == datetime(2020, 1, 1, 12, 0, tzinfo=UTC)
    assert event.data == {
        "status": "delivered",
        "sender": "AcmeInc",
        "network_code": "23410",
        "price": "0.03330000",
        "error_code": "0",
        "scts": "2001011400",
        "client_ref": "order=42&shop=berlin",
        "metadata": {"order": "42", "shop": "berlin"},
    }
    assert event.raw["api-key"] == "abcd1234"


@pytest.mark.parametrize(
    ("status", "err_code", "event_type", "reason"),
    [
        ("accepted", "0", "sms.sent", None),
        ("buffered", "0", "sms.sent", None),
        ("delivered", "0", "sms.delivered", None),
        ("expired", "0", "sms.undelivered", "expired"),
        ("rejected", "6", "sms.undelivered", "Anti-Spam Rejection"),
        ("failed", "2", "sms.failed", "Absent Subscriber - Temporary"),
        ("failed", "3", "sms.failed", "Absent Subscriber - Permanent"),
        ("failed", "77", "sms.failed", "error 77"),
        ("unknown", "1", "sms.x-unknown", "Unknown"),
    ],
)
async def test_each_receipt_status_is_normalized(
    make_vonage_hub: MakeHub, status: str, err_code: str, event_type: str, reason: str | None
) -> None:
    hub = make_vonage_hub(allow_unsigned_webhooks=True)
    [event] = receive(hub, post_json({**DLR, "status": status, "err-code": err_code}))
    assert (event.type, event.reason) == (event_type, reason)
    assert event.provider_event_id == f"0A0000001234567B:{status}"


async def test_an_inbound_message_becomes_sms_received(make_vonage_hub: MakeHub) -> None:
    hub = make_vonage_hub(allow_unsigned_webhooks=True)
    params = {
        **INBOUND,
        "concat": "true",
        "concat-ref": "1",
        "concat-total": "3",
        "concat-part": "2",
    }
    [event] = receive(hub, post_form(params))
    assert event.type == "sms.received"
    assert event.provider_event_id == "aaaaaaaa-bbbb-cccc-dddd-0123456789ab:received"
    assert event.recipient == "+447700900000"
    assert event.data == {
        "from": "+447700900001",
        "to": "+447700900000",
        "type": "text",
        "text": "Hello world",
        "keyword": "HELLO",
        "concat": {"ref": "1", "total": "3", "part": "2"},
    }


@pytest.mark.parametrize(
    ("request_", "why"),
    [
        (post_json({"hello": "world"}), "not a Vonage SMS webhook"),
        (InboundRequest(url=URL, body=b"[1, 2]"), "must be an object"),
        (InboundRequest(url=URL, body=b"{not json"), "not valid JSON"),
        (post_json({**DLR, "status": {"nested": True}}), "not a plain value"),  # type: ignore[dict-item]
        (InboundRequest(url=URL, body=b"a=1&a=2"), "repeated"),
    ],
    ids=["unknown-shape", "array", "bad-json", "nested", "repeated"],
)
async def test_payloads_that_make_no_sense_are_webhook_errors(
    make_vonage_hub: MakeHub, request_: InboundRequest, why: str
) -> None:
    hub = make_vonage_hub(allow_unsigned_webhooks=True)
    with pytest.raises(WebhookError, match=why):
        receive(hub, request_)


async def test_through_the_receiver_app_with_dedupe(
    make_vonage_hub: MakeHub, clock: FakeClock
) -> None:
    hub = make_vonage_hub(signature_secret=SECRET, signature_method="sha256")
    seen: list[HubEvent] = []

    @hub.on("sms.failed")
    async def remember(event: HubEvent) -> None:
        seen.append(event)

    event = HubEvent(
        type="sms.failed",
        provider="vonage",
        capability="sms",
        provider_event_id="0A0000001234567B:failed",
        subject_id="0A0000001234567B",
        recipient="+447700900000",
        reason="Absent Subscriber - Temporary",
        data={"error_code": "2"},
    )
    first = await post_event(hub, event)
    assert first.json() == {"received": 1, "duplicates": 0}
    again = await post_event(hub, event)
    assert again.json() == {"received": 1, "duplicates": 1}
    assert [(e.type, e.reason, e.recipient) for e in seen] == [
        ("sms.failed", "Absent Subscriber - Temporary", "+447700900000")
    ]
    forged = await post_event(hub, json.dumps({**DLR, "sig": "0" * 64}), provider="vonage")
    assert forged.status_code == 400
