"""PayPal webhooks: signatures computed as PayPal documents them, events normalized.

https://developer.paypal.com/api/rest/webhooks/rest/ (verify the signature yourself): PayPal
signs ``<PAYPAL-TRANSMISSION-ID>|<PAYPAL-TRANSMISSION-TIME>|<webhook id>|<crc32 of the raw body
as unsigned decimal>`` with SHA256withRSA, base64 in ``PAYPAL-TRANSMISSION-SIG``, and names the
certificate in ``PAYPAL-CERT-URL``. Here a test CA plays PayPal: its key signs, its certificate
is what the (injected) fetch returns. As the receiver does, ``prepare`` (which loads the
certificate) is awaited before the synchronous ``verify``.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from hub_paypal.webhooks import _EVENTS, PayPalWebhooks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import ConfigurationError, Hub, WebhookError
from hub.errors import Unavailable
from hub.http import override_transport
from hub.webhooks.events import HubEvent
from hub.webhooks.handler import InboundRequest, receive, webhook_handler

WEBHOOK_ID = "8PT597110X687430LKGECATA"
OLD_WEBHOOK_ID = "1JE4291016473214C"
CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77"
NEW_CERT_URL = (
    "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-0b6e9c43"
)
URL = "https://shop.example.com/webhooks/paypal"
ORDER = "5O190127TN364715T"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_certificate(key: rsa.RSAPrivateKey, *, days: int = 30, start: int = -1) -> bytes:
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.paypal.com")]
    )
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=start))
        .not_valid_after(now + timedelta(days=start + days))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CERTS = {CERT_URL: make_certificate(KEY), NEW_CERT_URL: make_certificate(OTHER_KEY)}


def now_text(shift: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=shift)).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed(
    body: bytes,
    *,
    key: rsa.RSAPrivateKey = KEY,
    webhook_id: str = WEBHOOK_ID,
    cert_url: str = CERT_URL,
    time_text: str | None = None,
    transmission_id: str = "69cd13f0-d67a-11e5-baa3-778b53f4ae55",
) -> InboundRequest:
    """The request PayPal would send: the documented string, signed SHA256withRSA."""
    when = time_text or now_text()
    crc = zlib.crc32(body) & 0xFFFFFFFF
    message = f"{transmission_id}|{when}|{webhook_id}|{crc}".encode()
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    headers = {
        "PAYPAL-TRANSMISSION-ID": transmission_id,
        "PAYPAL-TRANSMISSION-TIME": when,
        "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
        "PAYPAL-CERT-URL": cert_url,
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        "Content-Type": "application/json",
    }
    return InboundRequest(url=URL, body=body, headers=headers)


def serving(certificates: dict[str, bytes], log: list[str]) -> Callable[[str], Awaitable[bytes]]:
    """An async fetch that serves ``certificates`` and logs every URL asked for."""

    async def fetch(url: str) -> bytes:
        log.append(url)
        return certificates[url]

    return fetch


@pytest.fixture
def fetched() -> list[str]:
    return []


@pytest.fixture
def paypal_hub(make_hub: Callable[..., Hub]) -> Hub:
    return make_hub(
        payments={
            "providers": ["paypal"],
            "paypal": {
                "client_id": "id",
                "client_secret": "secret",
                "webhook_id": f"{WEBHOOK_ID},{OLD_WEBHOOK_ID}",
            },
        }
    )


@pytest.fixture
def handler(paypal_hub: Hub, fetched: list[str]) -> PayPalWebhooks:
    found = webhook_handler(paypal_hub, "paypal")
    assert isinstance(found, PayPalWebhooks)
    found.certificates.fetch = serving(CERTS, fetched)
    return found


async def verified(handler: PayPalWebhooks, request: InboundRequest) -> None:
    """What the receiver does: the async prepare (certificate), then the offline verify."""
    await handler.prepare(request)
    handler.verify(request)


def event(kind: str, resource: dict[str, Any], resource_type: str = "capture") -> bytes:
    return json.dumps(
        {
            "id": "WH-58D329510W468432D-8HN650336L201105X",
            "create_time": "2026-05-01T12:00:00.000Z",
            "resource_type": resource_type,
            "event_type": kind,
            "summary": "Payment completed for EUR 50.0 EUR",
            "resource": resource,
            "event_version": "1.0",
            "resource_version": "2.0",
        }
    ).encode()


CAPTURE = {
    "id": "3C679366HH908993F",
    "status": "COMPLETED",
    "amount": {"currency_code": "EUR", "value": "50.00"},
    "final_capture": True,
    "supplementary_data": {"related_ids": {"order_id": ORDER}},
}
BODY = event("PAYMENT.CAPTURE.COMPLETED", CAPTURE)


@pytest.mark.anyio
async def test_a_genuine_request_is_verified_and_its_certificate_cached(
    handler: PayPalWebhooks, fetched: list[str]
) -> None:
    await verified(handler, signed(BODY))
    await verified(handler, signed(BODY, transmission_id="7a2f0d30-d67a-11e5-baa3-778b53f4ae55"))
    assert fetched == [CERT_URL], "one fetch per certificate"


@pytest.mark.anyio
async def test_verify_does_no_io_and_asks_for_prepare(
    handler: PayPalWebhooks, fetched: list[str]
) -> None:
    with pytest.raises(WebhookError, match="prepare"):
        handler.verify(signed(BODY))
    assert fetched == []  # the synchronous verify never fetches


@pytest.mark.anyio
async def test_the_receiver_prepares_verifies_and_dispatches(
    paypal_hub: Hub, handler: PayPalWebhooks, fetched: list[str]
) -> None:
    seen: list[HubEvent] = []

    @paypal_hub.on("payment.succeeded")
    async def on_succeeded(event: HubEvent) -> None:
        seen.append(event)

    received = await receive(paypal_hub, "paypal", signed(BODY))
    assert received.received == 2
    assert [e.subject_id for e in seen] == [ORDER]
    assert fetched == [CERT_URL]


@pytest.mark.anyio
async def test_the_default_fetch_goes_through_the_hubs_http_client(paypal_hub: Hub) -> None:
    found = webhook_handler(paypal_hub, "paypal")
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, content=CERTS[str(request.url)])

    with override_transport(httpx.MockTransport(answer)):
        await receive(paypal_hub, "paypal", signed(BODY))
        await receive(paypal_hub, "paypal", signed(BODY, transmission_id="another-delivery"))
    assert asked == [CERT_URL]
    assert isinstance(found, PayPalWebhooks)
    assert CERT_URL in found.certificates


@pytest.mark.anyio
async def test_a_failed_certificate_fetch_is_unavailable_so_paypal_retries(
    paypal_hub: Hub,
) -> None:
    with (
        override_transport(httpx.MockTransport(lambda request: httpx.Response(503))),
        pytest.raises(Unavailable),
    ):
        await receive(paypal_hub, "paypal", signed(BODY))


@pytest.mark.anyio
async def test_a_tampered_body_is_refused(handler: PayPalWebhooks) -> None:
    genuine = signed(BODY)
    forged = InboundRequest(
        url=URL, body=BODY.replace(b"50.00", b"5000.00"), headers=genuine.headers
    )
    with pytest.raises(WebhookError, match="signature mismatch"):
        await verified(handler, forged)


@pytest.mark.anyio
async def test_a_signature_for_another_webhook_is_refused(handler: PayPalWebhooks) -> None:
    with pytest.raises(WebhookError, match="signature mismatch"):
        await verified(handler, signed(BODY, webhook_id="SOMEONEELSESWEBHOOK"))


@pytest.mark.anyio
async def test_a_signature_by_another_key_is_refused(handler: PayPalWebhooks) -> None:
    with pytest.raises(WebhookError, match="signature mismatch"):
        await verified(handler, signed(BODY, key=OTHER_KEY))


@pytest.mark.anyio
async def test_a_stale_transmission_is_refused(handler: PayPalWebhooks) -> None:
    with pytest.raises(WebhookError, match="stale"):
        await verified(handler, signed(BODY, time_text=now_text(-301)))


@pytest.mark.anyio
async def test_rotations_are_accepted(handler: PayPalWebhooks, fetched: list[str]) -> None:
    await verified(handler, signed(BODY, webhook_id=OLD_WEBHOOK_ID))  # the previous registration
    # PayPal's new certificate:
    await verified(handler, signed(BODY, key=OTHER_KEY, cert_url=NEW_CERT_URL))
    assert fetched == [CERT_URL, NEW_CERT_URL]


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://evil.example.com/v1/notifications/certs/CERT-1",
        "http://api.sandbox.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.sandbox.paypal.com.evil.example/v1/notifications/certs/CERT-1",
        "https://api.sandbox.paypal.com/v1/other/CERT-1",
        "https://user@api.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com:8443/v1/notifications/certs/CERT-1",
    ],
)
@pytest.mark.anyio
async def test_a_certificate_url_off_paypal_is_refused_without_fetching(
    handler: PayPalWebhooks, fetched: list[str], cert_url: str
) -> None:
    with pytest.raises(WebhookError, match="PAYPAL-CERT-URL"):
        await verified(handler, signed(BODY, cert_url=cert_url))
    with pytest.raises(WebhookError, match="PAYPAL-CERT-URL"):
        handler.verify(signed(BODY, cert_url=cert_url))
    assert fetched == []


@pytest.mark.anyio
async def test_an_expired_certificate_is_refused(handler: PayPalWebhooks) -> None:
    expired = {CERT_URL: make_certificate(KEY, days=1, start=-3)}
    handler.certificates.fetch = serving(expired, [])
    with pytest.raises(WebhookError, match="validity"):
        await verified(handler, signed(BODY))


@pytest.mark.anyio
async def test_malformed_headers_are_refused(handler: PayPalWebhooks) -> None:
    await handler.certificates.load(CERT_URL)
    genuine = dict(signed(BODY).headers)
    for name, value, message in [
        ("paypal-auth-algo", "SHA1withRSA", "AUTH-ALGO"),
        ("paypal-transmission-sig", "not base64!", "base64"),
        ("paypal-transmission-time", "yesterday", "TIME"),
    ]:
        with pytest.raises(WebhookError, match=message):
            handler.verify(InboundRequest(url=URL, body=BODY, headers={**genuine, name: value}))
    del genuine["paypal-transmission-id"]
    with pytest.raises(WebhookError, match="missing PAYPAL-TRANSMISSION-ID"):
        handler.verify(InboundRequest(url=URL, body=BODY, headers=genuine))


def test_no_webhook_id_configured_is_the_operators_mistake(make_hub: Callable[..., Hub]) -> None:
    hub = make_hub(
        payments={"providers": ["paypal"], "paypal": {"client_id": "id", "client_secret": "s"}}
    )
    with pytest.raises(ConfigurationError, match="PAYPAL_WEBHOOK_ID"):
        webhook_handler(hub, "paypal").verify(signed(BODY))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            event(
                "PAYMENT.AUTHORIZATION.CREATED",
                {**CAPTURE, "id": "0VF52814937998046", "status": "CREATED"},
                "authorization",
            ),
            [("payment.authorized", ORDER, {"amount": 5000, "currency": "EUR"})],
        ),
        (
            event(
                "PAYMENT.AUTHORIZATION.VOIDED",
                {**CAPTURE, "id": "0VF52814937998046", "status": "VOIDED"},
                "authorization",
            ),
            [("payment.canceled", ORDER, {})],
        ),
        (
            BODY,
            [
                ("payment.captured", ORDER, {"amount": 5000}),
                ("payment.succeeded", ORDER, {"amount": 5000}),
            ],
        ),
        (
            event(
                "PAYMENT.CAPTURE.DENIED",
                {**CAPTURE, "status": "DECLINED", "processor_response": {"response_code": "5120"}},
            ),
            [("payment.failed", ORDER, {"reason": "insufficient_funds"})],
        ),
        (
            event(
                "PAYMENT.CAPTURE.REFUNDED",
                {
                    "id": "1JU08902781691411",
                    "status": "COMPLETED",
                    "amount": {"currency_code": "EUR", "value": "10.00"},
                    "links": [
                        {
                            "href": "https://api.sandbox.paypal.com/v2/payments/captures/3C679366HH908993F",
                            "rel": "up",
                            "method": "GET",
                        }
                    ],
                },
                "refund",
            ),
            [("payment.refunded", "3C679366HH908993F", {"amount": 1000})],
        ),
        (
            event(
                "CUSTOMER.DISPUTE.CREATED",
                {
                    "dispute_id": "PP-D-27803",
                    "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
                    "status": "OPEN",
                    "dispute_amount": {"currency_code": "EUR", "value": "50.00"},
                    "disputed_transactions": [{"seller_transaction_id": "3C679366HH908993F"}],
                },
                "dispute",
            ),
            [
                (
                    "payment.disputed",
                    "3C679366HH908993F",
                    {"reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED", "amount": 5000},
                )
            ],
        ),
        (
            event(
                "CUSTOMER.DISPUTE.RESOLVED",
                {
                    "dispute_id": "PP-D-27803",
                    "status": "RESOLVED",
                    "dispute_outcome": {"outcome_code": "RESOLVED_SELLER_FAVOUR"},
                    "disputed_transactions": [{"seller_transaction_id": "3C679366HH908993F"}],
                },
                "dispute",
            ),
            [("payment.dispute_closed", "3C679366HH908993F", {"reason": "won"})],
        ),
    ],
)
@pytest.mark.anyio
async def test_events_are_normalized(
    handler: PayPalWebhooks, body: bytes, expected: list[tuple[str, str, dict[str, Any]]]
) -> None:
    request = signed(body)
    await verified(handler, request)
    events = handler.parse(request)
    assert [(e.type, e.subject_id) for e in events] == [(t, s) for t, s, _ in expected]
    for parsed, (_, _, fields) in zip(events, expected, strict=True):
        assert parsed.provider == "paypal"
        assert parsed.provider_event_id.startswith("WH-58D329510W468432D-8HN650336L201105X")
        assert parsed.occurred_at == datetime(2026, 5, 1, 12, tzinfo=UTC)
        for key, value in fields.items():
            assert getattr(parsed, key) == value, key
    assert len({e.provider_event_id for e in events}) == len(events), "ids must not collide"


def test_other_events_are_acknowledged_without_a_hub_event(handler: PayPalWebhooks) -> None:
    request = signed(event("CHECKOUT.ORDER.APPROVED", {"id": ORDER}, "checkout-order"))
    assert handler.parse(request) == []


# -- hostile input: only WebhookError may come out ---------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=25,
)
amounts = st.fixed_dictionaries(
    {},
    optional={
        "currency_code": st.sampled_from(["EUR", "XYZ", "jpy"]) | json_values,
        "value": st.sampled_from(["50.00", "1E+999", "NaN", "-Infinity", "0.001", "x"])
        | json_values,
    },
)
resources = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=20) | json_values,
        "status": st.sampled_from(["COMPLETED", "DECLINED"]) | json_values,
        "amount": amounts | json_values,
        "dispute_amount": amounts | json_values,
        "supplementary_data": json_values,
        "processor_response": json_values,
        "links": json_values,
        "disputed_transactions": json_values,
        "dispute_outcome": json_values,
        "reason": json_values,
    },
)
paypal_events = st.fixed_dictionaries(
    {
        "id": st.text(max_size=30) | json_values,
        "event_type": st.sampled_from(sorted(_EVENTS)) | json_values,
        "resource": resources | json_values,
    },
    optional={"create_time": st.sampled_from(["2026-05-01T12:00:00Z", "soon"]) | json_values},
)


@pytest.fixture(scope="module")
def fuzz_handler() -> Iterator[PayPalWebhooks]:
    """One configured handler for the property tests (hypothesis reruns a test many times)."""
    hub = Hub.from_settings(
        env="test",
        payments={"providers": ["paypal"], "paypal": {"webhook_id": WEBHOOK_ID}},
    )
    found = webhook_handler(hub, "paypal")
    assert isinstance(found, PayPalWebhooks)
    found.certificates.fetch = serving(CERTS, [])
    for url in CERTS:  # what prepare() would have loaded
        anyio.run(found.certificates.load, url)
    yield found
    anyio.run(hub.aclose)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=paypal_events.map(lambda e: json.dumps(e).encode()) | st.binary(max_size=200))
def test_genuinely_signed_garbage_raises_only_webhook_error(
    fuzz_handler: PayPalWebhooks, body: bytes
) -> None:
    request = signed(body)
    fuzz_handler.verify(request)
    try:
        events = fuzz_handler.parse(request)
    except WebhookError:
        return
    assert all(e.provider == "paypal" for e in events)


header_values = st.text(max_size=60) | st.sampled_from(
    [
        CERT_URL,
        "SHA256withRSA",
        now_text(),
        "AAAA",
        "2026-13-45T99:00:00Z",
        "0001-01-01T00:00:00+00:00",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    headers=st.dictionaries(
        st.sampled_from(
            [
                "PAYPAL-TRANSMISSION-ID",
                "PAYPAL-TRANSMISSION-TIME",
                "PAYPAL-TRANSMISSION-SIG",
                "PAYPAL-CERT-URL",
                "PAYPAL-AUTH-ALGO",
            ]
        ),
        header_values,
    ),
    body=st.binary(max_size=100),
)
def test_forged_requests_raise_only_webhook_error(
    fuzz_handler: PayPalWebhooks, headers: dict[str, str], body: bytes
) -> None:
    try:
        fuzz_handler.verify(InboundRequest(url=URL, body=body, headers=headers))
    except WebhookError:
        return
    raise AssertionError("a forged request was accepted")
