"""Stripe webhooks: signatures computed as Stripe documents them, events normalized.

https://docs.stripe.com/webhooks#verify-manually: ``Stripe-Signature: t=<unix>,v1=<hex>``, the
HMAC-SHA256 of ``"<t>.<raw body>"`` keyed with the endpoint secret; while a secret is rolled
Stripe sends one ``v1`` per active secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
from hub_stripe.webhooks import _EVENTS, StripeWebhooks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import ConfigurationError, Hub, HubEvent, WebhookError
from hub.webhooks.app import create_app
from hub.webhooks.handler import InboundRequest, webhook_handler

SECRET = "whsec_test_current_0123456789abcdef"
OLD_SECRET = "whsec_test_previous_0123456789abcde"
URL = "https://shop.example.com/webhooks/stripe"
PI = "pi_3MtwBwLkdIwHu7ix28a3tqPa"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def hub(make_hub: Callable[..., Hub]) -> Hub:
    return make_hub(
        payments={
            "providers": ["stripe"],
            "stripe": {"secret_key": "sk_test_hub", "webhook_secrets": f"{SECRET},{OLD_SECRET}"},
        }
    )


def v1(secret: str, timestamp: int, body: bytes) -> str:
    payload = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def signed(body: bytes, *secrets: str, timestamp: int | None = None) -> InboundRequest:
    t = int(time.time()) if timestamp is None else timestamp
    header = ",".join([f"t={t}", *(f"v1={v1(s, t, body)}" for s in secrets)])
    return InboundRequest(
        url=URL,
        body=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


def event(kind: str, obj: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps(
        {
            "id": "evt_1NG8Du2eZvKYlo2CUI79vXWy",
            "object": "event",
            "api_version": "2026-09-30.endive",
            "created": 1_714_564_800,
            "data": {"object": obj, **extra},
            "livemode": False,
            "pending_webhooks": 1,
            "type": kind,
        }
    ).encode()


INTENT = {
    "id": PI,
    "object": "payment_intent",
    "amount": 5000,
    "currency": "eur",
    "status": "succeeded",
}
BODY = event("payment_intent.succeeded", {**INTENT, "amount_received": 5000})


def test_a_genuine_request_is_verified(hub: Hub) -> None:
    webhook_handler(hub, "stripe").verify(signed(BODY, SECRET))


def test_a_tampered_body_is_refused(hub: Hub) -> None:
    request = signed(BODY, SECRET)
    forged = InboundRequest(url=URL, body=BODY.replace(b"5000", b"9000"), headers=request.headers)
    with pytest.raises(WebhookError, match="signature mismatch"):
        webhook_handler(hub, "stripe").verify(forged)


def test_a_wrong_secret_is_refused(hub: Hub) -> None:
    with pytest.raises(WebhookError, match="signature mismatch"):
        webhook_handler(hub, "stripe").verify(signed(BODY, "whsec_someone_elses_secret"))


def test_a_stale_timestamp_is_refused(hub: Hub) -> None:
    old = int(time.time()) - 301
    with pytest.raises(WebhookError, match="stale"):
        webhook_handler(hub, "stripe").verify(signed(BODY, SECRET, timestamp=old))


def test_a_missing_or_malformed_header_is_refused(hub: Hub) -> None:
    handler = webhook_handler(hub, "stripe")
    with pytest.raises(WebhookError, match="missing Stripe-Signature"):
        handler.verify(InboundRequest(url=URL, body=BODY))
    t = int(time.time())
    no_v1 = InboundRequest(url=URL, body=BODY, headers={"Stripe-Signature": f"t={t},v0=abc"})
    with pytest.raises(WebhookError, match="no v1"):
        handler.verify(no_v1)


def test_rotated_secrets_and_several_signatures_are_accepted(hub: Hub) -> None:
    handler = webhook_handler(hub, "stripe")
    handler.verify(signed(BODY, OLD_SECRET))  # still signed with the previous secret
    handler.verify(signed(BODY, "whsec_rolled_away", SECRET))  # one v1 per active secret


def test_no_secret_configured_is_the_operators_mistake(make_hub: Callable[..., Hub]) -> None:
    hub = make_hub(payments={"providers": ["stripe"], "stripe": {"secret_key": "sk_test_x"}})
    with pytest.raises(ConfigurationError, match="STRIPE_WEBHOOK_SECRET"):
        webhook_handler(hub, "stripe").verify(signed(BODY, SECRET))


def test_secrets_come_from_stripe_webhook_secret(
    make_hub: Callable[..., Hub], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", f" {OLD_SECRET} , {SECRET} ")
    handler = webhook_handler(make_hub(payments={"providers": ["stripe"]}), "stripe")
    handler.verify(signed(BODY, SECRET))
    handler.verify(signed(BODY, OLD_SECRET))


CHARGE = {
    "id": "ch_3MtwBwLkdIwHu7ix28a3tqPa",
    "object": "charge",
    "amount": 5000,
    "amount_captured": 3000,
    "amount_refunded": 1500,
    "currency": "eur",
    "payment_intent": PI,
    "refunds": {
        "object": "list",
        "data": [{"id": "re_2", "amount": 1000}, {"id": "re_1", "amount": 500}],
    },
}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            event(
                "payment_intent.amount_capturable_updated",
                {**INTENT, "status": "requires_capture", "amount_capturable": 5000},
            ),
            {"type": "payment.authorized", "amount": 5000, "currency": "EUR"},
        ),
        (BODY, {"type": "payment.succeeded", "amount": 5000, "currency": "EUR"}),
        (
            event(
                "payment_intent.payment_failed",
                {
                    **INTENT,
                    "status": "requires_payment_method",
                    "last_payment_error": {
                        "code": "card_declined",
                        "decline_code": "insufficient_funds",
                    },
                },
            ),
            {"type": "payment.failed", "reason": "insufficient_funds"},
        ),
        (
            event("payment_intent.canceled", {**INTENT, "status": "canceled"}),
            {"type": "payment.canceled"},
        ),
        (event("charge.captured", CHARGE), {"type": "payment.captured", "amount": 3000}),
        (
            event("charge.refunded", CHARGE, previous_attributes={"amount_refunded": 500}),
            {"type": "payment.refunded", "amount": 1000, "data.refund_id": "re_2"},
        ),
        (
            event(
                "refund.created",
                {
                    "id": "re_2",
                    "object": "refund",
                    "amount": 1000,
                    "currency": "eur",
                    "payment_intent": PI,
                    "charge": CHARGE["id"],
                },
            ),
            {"type": "payment.refunded", "amount": 1000, "data.refund_id": "re_2"},
        ),
        (
            event(
                "charge.dispute.created",
                {
                    "id": "dp_1",
                    "object": "dispute",
                    "amount": 3000,
                    "currency": "eur",
                    "charge": CHARGE["id"],
                    "payment_intent": PI,
                    "reason": "fraudulent",
                    "status": "needs_response",
                },
            ),
            {"type": "payment.disputed", "reason": "fraudulent", "amount": 3000},
        ),
        (
            event(
                "charge.dispute.closed",
                {
                    "id": "dp_1",
                    "object": "dispute",
                    "amount": 3000,
                    "currency": "eur",
                    "charge": CHARGE["id"],
                    "payment_intent": PI,
                    "reason": "fraudulent",
                    "status": "won",
                },
            ),
            {"type": "payment.dispute_closed", "reason": "won"},
        ),
    ],
)
def test_events_are_normalized(hub: Hub, body: bytes, expected: dict[str, Any]) -> None:
    request = signed(body, SECRET)
    handler = webhook_handler(hub, "stripe")
    handler.verify(request)
    [parsed] = handler.parse(request)
    assert parsed.provider == "stripe"
    assert parsed.capability == "payments"
    assert parsed.provider_event_id == "evt_1NG8Du2eZvKYlo2CUI79vXWy"
    assert parsed.subject_id == PI, "events are about the PaymentIntent, the hub's payment id"
    assert parsed.occurred_at.timestamp() == 1_714_564_800
    for key, value in expected.items():
        if key.startswith("data."):
            assert parsed.data[key[5:]] == value
        else:
            assert getattr(parsed, key) == value, key
    assert parsed.raw == json.loads(body)


def test_other_events_are_acknowledged_without_a_hub_event(hub: Hub) -> None:
    request = signed(event("customer.created", {"id": "cus_1", "object": "customer"}), SECRET)
    assert webhook_handler(hub, "stripe").parse(request) == []


def test_a_payload_that_is_no_event_is_refused(hub: Hub) -> None:
    with pytest.raises(WebhookError):
        webhook_handler(hub, "stripe").parse(signed(b'{"hello": "world"}', SECRET))


@pytest.mark.anyio
async def test_the_receiver_dispatches_once_per_event_id(hub: Hub) -> None:
    seen: list[HubEvent] = []

    @hub.on("payment.*")
    async def record(event: HubEvent) -> None:
        seen.append(event)

    app = create_app(hub)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://shop.example.com"
    ) as client:
        for _ in range(2):
            request = signed(BODY, SECRET)
            response = await client.post(
                "/webhooks/stripe", content=BODY, headers=dict(request.headers)
            )
            assert response.status_code == 200
        forged = await client.post(
            "/webhooks/stripe",
            content=BODY,
            headers={"Stripe-Signature": f"t={int(time.time())},v1={'0' * 64}"},
        )
    assert response.json() == {"received": 1, "duplicates": 1}
    assert forged.status_code == 400
    assert [e.type for e in seen] == ["payment.succeeded"]


# -- hostile input: only WebhookError may come out ---------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=25,
)
stripe_objects = st.fixed_dictionaries(
    {},
    optional={
        key: json_values | st.sampled_from([PI, "eur", "xyz", 5000, -1, 2**70])
        for key in (
            "id", "currency", "amount", "amount_received", "amount_capturable",
            "amount_captured", "amount_refunded", "payment_intent", "last_payment_error",
            "refunds", "status", "reason", "charge",
        )
    },
)  # fmt: skip
stripe_events = st.fixed_dictionaries(
    {
        "id": st.text(max_size=30) | json_values,
        "type": st.sampled_from(sorted(_EVENTS)) | json_values,
        "data": st.fixed_dictionaries(
            {"object": stripe_objects | json_values},
            optional={"previous_attributes": json_values},
        )
        | json_values,
    },
    optional={"created": json_values | st.integers()},
)


@pytest.fixture(scope="module")
def fuzz_handler() -> Iterator[StripeWebhooks]:
    """One configured handler for the property tests (hypothesis reruns a test many times)."""
    hub = Hub.from_settings(
        env="test", payments={"providers": ["stripe"], "stripe": {"webhook_secrets": SECRET}}
    )
    found = webhook_handler(hub, "stripe")
    assert isinstance(found, StripeWebhooks)
    yield found
    anyio.run(hub.aclose)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=stripe_events.map(lambda e: json.dumps(e).encode()) | st.binary(max_size=200))
def test_genuinely_signed_garbage_raises_only_webhook_error(
    fuzz_handler: StripeWebhooks, body: bytes
) -> None:
    handler = fuzz_handler
    request = signed(body, SECRET)
    handler.verify(request)
    try:
        events = handler.parse(request)
    except WebhookError:
        return
    assert all(e.provider == "stripe" for e in events)


@settings(max_examples=200, deadline=None)
@given(
    header=st.text(max_size=120) | st.just(f"t={int(time.time())},v1=" + "0" * 64),
    body=st.binary(max_size=100),
)
def test_forged_requests_raise_only_webhook_error(
    fuzz_handler: StripeWebhooks, header: str, body: bytes
) -> None:
    try:
        request = InboundRequest(url=URL, body=body, headers={"Stripe-Signature": header})
        fuzz_handler.verify(request)
    except WebhookError:
        return
    raise AssertionError("a forged request was accepted")
